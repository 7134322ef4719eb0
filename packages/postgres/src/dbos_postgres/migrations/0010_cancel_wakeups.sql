-- A cancel reaches a workflow that waits (recv, get_event, sleep, a child's result) in
-- another process at once: the cancelling commit sends "settled:<workflow ID>" on the wake
-- channel, which wakes that workflow's own waits (they then read its status and stop).
-- Only cancels notify: a workflow that finishes by itself has no waits left to wake, and a
-- NOTIFY costs its commit about half a millisecond.
--
-- Safe on a database with rows: a new trigger, no table change.
CREATE FUNCTION {schema}.notify_cancelled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dbos_' || TG_TABLE_SCHEMA || '_wake', 'settled:' || NEW.workflow_id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER workflow_status_cancelled_notify
    AFTER UPDATE OF status ON {schema}.workflow_status
    FOR EACH ROW
    WHEN (NEW.status = 'CANCELLED' AND OLD.status IS DISTINCT FROM 'CANCELLED')
    EXECUTE FUNCTION {schema}.notify_cancelled();
