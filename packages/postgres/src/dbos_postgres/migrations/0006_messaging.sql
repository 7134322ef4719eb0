-- Messages, events and streams: how workflows talk to each other and to the outside world.
-- Payload columns hold serialized text verbatim, like the other tables.

-- Messages wait here until their destination consumes them (the row is then deleted in the
-- same transaction that records the receive). seq orders messages of one topic.
CREATE TABLE {schema}.notifications (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    destination_id TEXT NOT NULL
        REFERENCES {schema}.workflow_status (workflow_id) ON UPDATE CASCADE ON DELETE CASCADE,
    topic TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX notifications_destination ON {schema}.notifications (destination_id, topic, seq);

-- The latest value of each event key a workflow has set.
CREATE TABLE {schema}.workflow_events (
    workflow_id TEXT NOT NULL
        REFERENCES {schema}.workflow_status (workflow_id) ON UPDATE CASCADE ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workflow_id, key)
);

-- Append-only streams; a NULL value is the close marker.
CREATE TABLE {schema}.streams (
    workflow_id TEXT NOT NULL
        REFERENCES {schema}.workflow_status (workflow_id) ON UPDATE CASCADE ON DELETE CASCADE,
    key TEXT NOT NULL,
    stream_offset INTEGER NOT NULL,
    value TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workflow_id, key, stream_offset)
);

-- Wake-ups for waiters in every process: the payload says what was written and for which
-- workflow ("message:<destination>", "event:<writer>", "stream:<writer>"). Its own channel,
-- so queue listeners are not woken by messages.
CREATE FUNCTION {schema}.notify_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dbos_' || TG_TABLE_SCHEMA || '_wake', 'message:' || NEW.destination_id);
    RETURN NULL;
END;
$$;

CREATE FUNCTION {schema}.notify_workflow_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dbos_' || TG_TABLE_SCHEMA || '_wake', TG_ARGV[0] || ':' || NEW.workflow_id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER notifications_notify
    AFTER INSERT ON {schema}.notifications
    FOR EACH ROW EXECUTE FUNCTION {schema}.notify_message();

CREATE TRIGGER workflow_events_notify
    AFTER INSERT OR UPDATE ON {schema}.workflow_events
    FOR EACH ROW EXECUTE FUNCTION {schema}.notify_workflow_write('event');

CREATE TRIGGER streams_notify
    AFTER INSERT ON {schema}.streams
    FOR EACH ROW EXECUTE FUNCTION {schema}.notify_workflow_write('stream');
