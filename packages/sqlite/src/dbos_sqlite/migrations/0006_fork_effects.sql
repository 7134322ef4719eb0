-- Which operation wrote each stream entry and each event value, so that a fork can copy the
-- effects of the operations it copies. Rows written before this migration keep a NULL
-- function_id (events: no history); fork_workflow copies those only when the fork copies
-- every recorded operation of the original.
ALTER TABLE streams ADD COLUMN function_id INTEGER;

-- Every value each operation set for each event key (the latest of one operation
-- wins), while workflow_events keeps the current value, as before.
CREATE TABLE workflow_events_history (
    workflow_id TEXT NOT NULL REFERENCES workflow_status (workflow_id) ON DELETE CASCADE,
    function_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, function_id, key)
);
