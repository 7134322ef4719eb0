-- Wake-ups: every writer (this library, a client, another version) notifies listeners when a
-- task is enqueued, when a queued task stops running (a slot frees), and when a workflow
-- finishes. Channels carry the schema name so apps sharing a database do not wake each other.
CREATE FUNCTION {schema}.notify_workflow_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status = 'ENQUEUED' THEN
            PERFORM pg_notify('dbos_queue_' || TG_TABLE_SCHEMA, NEW.queue_name);
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED') THEN
            PERFORM pg_notify('dbos_finished_' || TG_TABLE_SCHEMA, NEW.workflow_id);
        END IF;
        IF NEW.queue_name IS NOT NULL AND NEW.status <> 'PENDING' THEN
            PERFORM pg_notify('dbos_queue_' || TG_TABLE_SCHEMA, NEW.queue_name);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER workflow_status_notify
    AFTER INSERT OR UPDATE OF status ON {schema}.workflow_status
    FOR EACH ROW EXECUTE FUNCTION {schema}.notify_workflow_change();
