-- Status details of DBOS Transact 3.4 (issue 12, item 7): when a workflow reached a terminal
-- status, the workflow a fork was forked from, and the schedule a scheduled workflow ran for.
--
-- Safe on a database with rows: the new columns are nullable without defaults (no table
-- rewrite). Rows written before this migration have none of the three; a finished row gets no
-- completed_at after the fact (its updated_at is the best guess, but a guess).
ALTER TABLE {schema}.workflow_status
    ADD COLUMN completed_at BIGINT,
    ADD COLUMN forked_from TEXT,
    ADD COLUMN schedule_name TEXT;

-- completed_at follows the status in every statement that changes it (finishes, cancels,
-- recovery limits, resumes; this library's, a client's or another version's), so a trigger
-- keeps it rather than each statement: the time is the row's updated_at as the statement
-- writes it, and a row leaving a terminal status (a resume) loses it. The WHEN clauses keep
-- the trigger off every update that leaves the status alone (checkpoints, claims of the same
-- status), so PL/pgSQL runs once per status change.
CREATE FUNCTION {schema}.set_completed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED') THEN
        NEW.completed_at := NEW.updated_at;
    ELSE
        NEW.completed_at := NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER workflow_status_completed_at_update
    BEFORE UPDATE OF status ON {schema}.workflow_status
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION {schema}.set_completed_at();

CREATE TRIGGER workflow_status_completed_at_insert
    BEFORE INSERT ON {schema}.workflow_status
    FOR EACH ROW
    WHEN (NEW.status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'))
    EXECUTE FUNCTION {schema}.set_completed_at();

-- list_workflows(parent_workflow_id=...) and forked_from=... look rows up by these.
CREATE INDEX workflow_status_parent ON {schema}.workflow_status (parent_workflow_id)
    WHERE parent_workflow_id IS NOT NULL;
CREATE INDEX workflow_status_forked_from ON {schema}.workflow_status (forked_from)
    WHERE forked_from IS NOT NULL;
