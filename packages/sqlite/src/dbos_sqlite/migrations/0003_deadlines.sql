-- Workflow timeouts: an absolute deadline; overdue queued or running workflows are cancelled.
ALTER TABLE workflow_status ADD COLUMN deadline_at INTEGER;

CREATE INDEX workflow_status_deadline ON workflow_status (deadline_at)
    WHERE deadline_at IS NOT NULL AND status IN ('ENQUEUED', 'PENDING');
