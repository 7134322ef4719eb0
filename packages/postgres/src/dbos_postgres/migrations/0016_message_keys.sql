-- Idempotent sends (issue 13, item 2): the idempotency keys used for each destination, so
-- that a send repeated with one key delivers once even after the first copy was received
-- (recv deletes the message itself). Dropped with the destination workflow.
--
-- Safe on a database with rows: a new, empty table.
CREATE TABLE {schema}.message_keys (
    destination_id TEXT NOT NULL
        REFERENCES {schema}.workflow_status (workflow_id) ON UPDATE CASCADE ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (destination_id, idempotency_key)
);
