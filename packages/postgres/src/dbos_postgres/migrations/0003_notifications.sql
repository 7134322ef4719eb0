-- Wake-ups for queues: every writer (this library, a client, another version) notifies
-- listeners when a task is enqueued and when a queued task stops running (a slot frees, and
-- its waiters can read the outcome). The trigger's WHEN clause skips plain workflows before
-- any PL/pgSQL runs (a NOTIFY costs about half a millisecond at commit; their cross-process
-- waiters poll), and claims (rows becoming PENDING), which no one needs to hear about. The
-- channel carries the schema name so apps sharing a database do not wake each other.
CREATE FUNCTION {schema}.notify_queue_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status = 'ENQUEUED' THEN
            PERFORM pg_notify('dbos_' || TG_TABLE_SCHEMA, NEW.queue_name);
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM pg_notify('dbos_' || TG_TABLE_SCHEMA, NEW.queue_name);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER workflow_status_queue_notify
    AFTER INSERT OR UPDATE OF status ON {schema}.workflow_status
    FOR EACH ROW WHEN (NEW.queue_name IS NOT NULL AND NEW.status <> 'PENDING')
    EXECUTE FUNCTION {schema}.notify_queue_change();
