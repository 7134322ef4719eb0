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
    delay_until_epoch_ms => :delay_until_epoch_ms
)

-- name: send
SELECT {schema}.send_message(
    destination_id => :destination_id,
    message => CAST(:message AS JSON),
    topic => :topic,
    message_id => :message_id
)
