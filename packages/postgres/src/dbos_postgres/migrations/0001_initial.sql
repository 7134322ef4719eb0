-- Workflows and their recorded operations. Payload columns are TEXT on purpose: values are
-- stored verbatim; JSON payloads are readable with ::jsonb.
CREATE TABLE {schema}.workflow_status (
    workflow_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    name TEXT NOT NULL,
    inputs TEXT,
    output TEXT,
    error TEXT,
    executor_id TEXT,
    application_version TEXT,
    recovery_attempts INTEGER NOT NULL DEFAULT 1,
    max_recovery_attempts INTEGER,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    parent_workflow_id TEXT,
    queue_name TEXT
);

CREATE INDEX workflow_status_created_at ON {schema}.workflow_status (created_at);
CREATE INDEX workflow_status_status_executor ON {schema}.workflow_status (status, executor_id);
-- Recovery scans only unfinished rows; keep that scan small as finished rows pile up.
CREATE INDEX workflow_status_pending ON {schema}.workflow_status (executor_id, application_version)
    WHERE status = 'PENDING';

CREATE TABLE {schema}.operation_outputs (
    workflow_id TEXT NOT NULL
        REFERENCES {schema}.workflow_status (workflow_id) ON UPDATE CASCADE ON DELETE CASCADE,
    function_id INTEGER NOT NULL,
    function_name TEXT NOT NULL,
    output TEXT,
    error TEXT,
    child_workflow_id TEXT,
    started_at BIGINT,
    completed_at BIGINT,
    PRIMARY KEY (workflow_id, function_id)
);
