-- Status details of DBOS Transact 3.4 (issue 12, item 7): when a workflow reached a terminal
-- status, the workflow a fork was forked from, and the schedule a scheduled workflow ran for.
-- Nullable columns without defaults: rows written before have none of the three.
ALTER TABLE workflow_status ADD COLUMN completed_at INTEGER;
ALTER TABLE workflow_status ADD COLUMN forked_from TEXT;
ALTER TABLE workflow_status ADD COLUMN schedule_name TEXT;

-- completed_at follows the status in every statement that changes it, so triggers keep it
-- rather than each statement: the row's updated_at as the statement wrote it when the status
-- becomes terminal, NULL when it leaves a terminal status (a resume). SQLite's BEFORE
-- triggers cannot change the new row, so these update it after (the same transaction); the
-- update does not touch status, so it does not fire them again.
CREATE TRIGGER workflow_status_completed_at_update
    AFTER UPDATE OF status ON workflow_status
    FOR EACH ROW WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE workflow_status
    SET completed_at = CASE
        WHEN NEW.status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
        THEN NEW.updated_at
    END
    WHERE workflow_id = NEW.workflow_id;
END;

CREATE TRIGGER workflow_status_completed_at_insert
    AFTER INSERT ON workflow_status
    FOR EACH ROW
    WHEN NEW.status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
BEGIN
    UPDATE workflow_status SET completed_at = NEW.updated_at
    WHERE workflow_id = NEW.workflow_id;
END;

CREATE INDEX workflow_status_parent ON workflow_status (parent_workflow_id)
    WHERE parent_workflow_id IS NOT NULL;
CREATE INDEX workflow_status_forked_from ON workflow_status (forked_from)
    WHERE forked_from IS NOT NULL;
