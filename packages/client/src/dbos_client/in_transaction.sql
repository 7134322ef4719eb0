-- Enqueue and send inside the caller's own transaction (DBOSClient.enqueue_in_transaction,
-- send_in_transaction): calls of the system schema's SQL functions (Postgres migration 0015),
-- run on the caller's SQLAlchemy connection, so they commit or roll back with its writes.
-- {schema} is replaced by the quoted system schema; every value is a bound parameter.

-- name: enqueue
SELECT {schema}.enqueue_workflow(
    workflow_name => :workflow_name,
    queue_name => :queue_name,
    positional_args => CAST(:positional_args AS JSON[]),
    named_args => CAST(:named_args AS JSON),
    class_name => :class_name,
    config_name => :config_name,
    workflow_id => :workflow_id,
    app_version => :app_version,
    timeout_ms => :timeout_ms,
    deduplication_id => :deduplication_id,
    priority => :priority,
    queue_partition_key => :queue_partition_key,
    delay_until_epoch_ms => :delay_until_epoch_ms,
    application_name => :application_name
)

-- name: enqueued_as
-- What a workflow ID the caller chose belongs to, read after the enqueue in the same
-- transaction: enqueue_workflow returns an ID already taken without a word, even by another
-- workflow, which the caller must hear about.
SELECT name, class_name, config_name FROM {schema}.workflow_status WHERE workflow_id = :workflow_id

-- name: send
-- A message, as send_message stores it, under a new message ID; with an idempotency key, only
-- if this statement takes the key for its destination in message_keys (as DBOS.send does:
-- one delivery per destination and key, remembered until the destination is deleted; a
-- concurrent send of the same key waits for this one's commit, then takes nothing).
WITH key_taken AS (
    INSERT INTO {schema}.message_keys (destination_id, idempotency_key, message_id, created_at)
    SELECT :destination_id, CAST(:idempotency_key AS TEXT), :message_id, :created_at
    WHERE CAST(:idempotency_key AS TEXT) IS NOT NULL
    ON CONFLICT (destination_id, idempotency_key) DO NOTHING
    RETURNING 1
)
SELECT {schema}.send_message(
    destination_id => :destination_id,
    message => CAST(:message AS JSON),
    topic => :topic,
    message_id => :message_id
)
WHERE CAST(:idempotency_key AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM key_taken)

-- name: trace_message
-- The sender's trace context (ours; see Message.trace_carrier), set on the message the send
-- statement just stored, in the same transaction, so no receiver sees it without. Run only
-- for a send made while a span was active; a keyed send that stored nothing updates nothing.
UPDATE {schema}.notifications SET trace_carrier = :trace_carrier WHERE message_id = :message_id

-- name: forks_of
-- Every workflow forked from :root, recursively (forks of forks), read in the caller's
-- transaction, so the messages a send_to_forks=True send stores match the forks it saw.
WITH RECURSIVE forks(workflow_id) AS (
    SELECT workflow_id FROM {schema}.workflow_status WHERE forked_from = :root
    UNION
    SELECT w.workflow_id FROM {schema}.workflow_status w
    JOIN forks f ON w.forked_from = f.workflow_id
)
SELECT workflow_id FROM forks WHERE workflow_id <> :root ORDER BY workflow_id
