-- Which operation wrote each stream entry and each event value, so that a fork can copy the
-- effects of the operations it copies (DBOS Transact records the same: its event history and
-- stream rows carry the writer's function_id).
--
-- Safe on a database with rows: the new column is nullable without a default (no table
-- rewrite), and the new table starts empty. Entries written before this migration keep a
-- NULL function_id and events set before it have no history; fork_workflow copies those only
-- when the fork copies every recorded operation of the original (see fork_workflow in
-- sql/queries.sql).
ALTER TABLE {schema}.streams ADD COLUMN function_id INTEGER;

-- Every value each operation set for each event key (the latest of one operation
-- wins), while workflow_events keeps the current value, as before.
CREATE TABLE {schema}.workflow_events_history (
    workflow_id TEXT NOT NULL
        REFERENCES {schema}.workflow_status (workflow_id) ON UPDATE CASCADE ON DELETE CASCADE,
    function_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workflow_id, function_id, key)
);
