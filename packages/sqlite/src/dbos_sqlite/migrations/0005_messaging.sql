-- Messages, events and streams: how workflows talk to each other and to the outside world.
-- Messages wait here until their destination consumes them; seq orders them.
CREATE TABLE notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    destination_id TEXT NOT NULL REFERENCES workflow_status (workflow_id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX notifications_destination ON notifications (destination_id, topic, seq);

-- The latest value of each event key a workflow has set.
CREATE TABLE workflow_events (
    workflow_id TEXT NOT NULL REFERENCES workflow_status (workflow_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, key)
);

-- Append-only streams; a NULL value is the close marker.
CREATE TABLE streams (
    workflow_id TEXT NOT NULL REFERENCES workflow_status (workflow_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    stream_offset INTEGER NOT NULL,
    value TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, key, stream_offset)
);
