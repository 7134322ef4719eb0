-- Workflow timeouts: an absolute deadline; overdue queued or running workflows are cancelled.
ALTER TABLE {schema}.workflow_status ADD COLUMN deadline_at BIGINT;

CREATE INDEX workflow_status_deadline ON {schema}.workflow_status (deadline_at)
    WHERE deadline_at IS NOT NULL AND status IN ('ENQUEUED', 'PENDING');
