-- WorkflowStatus fields of DBOS Transact 3.4 that need storing (the delay until which an
-- enqueue waits is delay_until, stored since 0002): the timeout a workflow was started or
-- enqueued with (deadline_at enforces it; a child that only inherits its parent's deadline
-- has no timeout of its own), whether a fork was made from it (0/1), and the application
-- that created it. Rows written before have no timeout or application name (NULL);
-- was_forked_from is filled from the forks stored now.
ALTER TABLE workflow_status ADD COLUMN workflow_timeout_ms INTEGER;
ALTER TABLE workflow_status ADD COLUMN was_forked_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workflow_status ADD COLUMN application_name TEXT;

UPDATE workflow_status SET was_forked_from = 1
WHERE workflow_id IN (SELECT forked_from FROM workflow_status WHERE forked_from IS NOT NULL);
