-- A stored queue's settings reach every process at once (issue 17): each insert, update or
-- delete of a row of `queues` sends 'settings:<queue name>' on the schema's queue channel, the
-- one that carries 'enqueued:' and 'stopped:' (0005). A listening process reads the stored
-- queues again when it hears it, so its periodic read is only a safety net.
--
-- A listener of an older version treats a payload kind it does not know as activity on any
-- queue (it looks at every queue) and keeps reading the settings once per polling interval,
-- so processes of both versions stay correct through a rolling deploy.
--
-- Safe on a database with rows: a new trigger, no table change.
CREATE FUNCTION {schema}.notify_queue_settings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('dbos_' || TG_TABLE_SCHEMA, 'settings:' || OLD.name);
    ELSE
        PERFORM pg_notify('dbos_' || TG_TABLE_SCHEMA, 'settings:' || NEW.name);
        IF TG_OP = 'UPDATE' AND OLD.name IS DISTINCT FROM NEW.name THEN
            PERFORM pg_notify('dbos_' || TG_TABLE_SCHEMA, 'settings:' || OLD.name);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER queues_settings_notify
    AFTER INSERT OR UPDATE OR DELETE ON {schema}.queues
    FOR EACH ROW EXECUTE FUNCTION {schema}.notify_queue_settings();
