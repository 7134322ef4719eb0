-- Workflows and their recorded operations. Payload columns hold serialized text verbatim.
CREATE TABLE workflow_status (
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
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    parent_workflow_id TEXT,
    queue_name TEXT
);

CREATE INDEX workflow_status_created_at ON workflow_status (created_at);
CREATE INDEX workflow_status_status_executor ON workflow_status (status, executor_id);

CREATE TABLE operation_outputs (
    workflow_id TEXT NOT NULL REFERENCES workflow_status (workflow_id) ON DELETE CASCADE,
    function_id INTEGER NOT NULL,
    function_name TEXT NOT NULL,
    output TEXT,
    error TEXT,
    child_workflow_id TEXT,
    started_at INTEGER,
    completed_at INTEGER,
    PRIMARY KEY (workflow_id, function_id)
);
