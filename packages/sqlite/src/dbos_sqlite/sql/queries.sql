-- Statements of the SQLite backend, by name. Parameters are named (:name).
-- Blocks headed "-- fragment: NAME" are text that statements share, spliced in wherever a
-- statement says {@NAME} (dbos.storage.load_queries).

-- fragment: owner_lease_expired
-- Row w's owner holds no lease unexpired at :now_ms (a missing lease counts as expired).
NOT EXISTS (SELECT 1 FROM process_leases AS l
            WHERE l.instance_id = w.owner_instance AND l.expires_at > :now_ms)

-- fragment: stranded
-- WorkflowQuery.stranded on a row of workflow_status (unaliased): PENDING or ENQUEUED, and no
-- lease live at :stranded_now_ms serves its version, or for a version-less row the latest
-- registered version (the only one that claims it).
workflow_status.status IN ('PENDING', 'ENQUEUED') AND NOT EXISTS (
    SELECT 1 FROM process_leases AS l
    WHERE l.expires_at > :stranded_now_ms
      AND l.application_version = coalesce(workflow_status.application_version, (
          SELECT v.version_name FROM application_versions AS v
          ORDER BY v.version_timestamp DESC, v.created_at DESC, v.version_name LIMIT 1)))

-- name: count_stranded_workflows
-- One row per version (None first): stranded PENDING and ENQUEUED counts, the oldest.
SELECT application_version, sum(status = 'PENDING'), sum(status = 'ENQUEUED'),
       min(created_at)
FROM workflow_status
WHERE {@stranded}
GROUP BY application_version
ORDER BY application_version

-- name: insert_workflow
INSERT INTO workflow_status (
    workflow_id, status, name, inputs, executor_id, application_version,
    recovery_attempts, max_recovery_attempts, created_at, updated_at,
    parent_workflow_id, queue_name, priority, deduplication_id, queue_partition_key,
    delay_until, deadline_at, owner_instance, class_name, config_name, schedule_name,
    attributes, serialization, authenticated_user, authenticated_roles, assumed_role,
    first_function_id, workflow_timeout_ms, application_name, started_at
) VALUES (
    :workflow_id, :status, :name, :inputs, :executor_id, :application_version,
    1, :max_recovery_attempts, :created_at_ms, :created_at_ms,
    :parent_workflow_id, :queue_name, :priority, :deduplication_id, :queue_partition_key,
    :delay_until_ms, :deadline_ms, :owner_instance, :class_name, :config_name, :schedule_name,
    :attributes, :serialization, :authenticated_user, :authenticated_roles,
    :assumed_role, :first_function_id, :timeout_ms, :application_name,
    -- A task stored already claimed (enqueued where a slot was free) starts now.
    CASE WHEN :queue_name IS NOT NULL AND :status = 'PENDING' THEN :created_at_ms END
)
ON CONFLICT (workflow_id) DO NOTHING

-- name: select_attributes
SELECT attributes FROM workflow_status WHERE workflow_id = :workflow_id

-- name: update_workflow_attributes
UPDATE workflow_status SET attributes = :attributes, updated_at = :now_ms
WHERE workflow_id = :workflow_id

-- name: select_workflow
SELECT {workflow_row}
FROM workflow_status
WHERE workflow_id = :workflow_id

-- name: insert_step
INSERT INTO operation_outputs (
    workflow_id, function_id, function_name, output, error, child_workflow_id,
    started_at, completed_at
) VALUES (
    :workflow_id, :function_id, :function_name, :output, :error, :child_workflow_id,
    :started_at_ms, :completed_at_ms
)
ON CONFLICT (workflow_id, function_id) DO NOTHING

-- name: select_status
SELECT status, owner_instance FROM workflow_status WHERE workflow_id = :workflow_id

-- name: select_steps
SELECT workflow_id, function_id, function_name, output, error, started_at, completed_at,
       child_workflow_id
FROM operation_outputs
WHERE workflow_id = :workflow_id
ORDER BY function_id

-- name: finish_workflow
UPDATE workflow_status
SET status = :status, output = :output, error = :error, updated_at = :completed_at_ms
WHERE workflow_id = :workflow_id AND status = 'PENDING'
  AND (:owner_instance IS NULL OR owner_instance IS NULL OR owner_instance = :owner_instance)

-- name: select_recoverable
-- With an instance: never a row whose owner holds an unexpired lease, unless its own.
SELECT workflow_id FROM workflow_status AS w
WHERE status = 'PENDING' AND executor_id = :executor_id
  AND application_version = :application_version
  AND (:instance_id IS NULL OR owner_instance IS NULL OR owner_instance = :instance_id
       OR {@owner_lease_expired})
ORDER BY created_at, workflow_id

-- name: select_abandoned
-- take_over_workflows's candidates: a missing lease, or no owner, counts as expired.
SELECT workflow_id FROM workflow_status AS w
WHERE status = 'PENDING' AND application_version = :application_version
  AND owner_instance IS NOT :instance_id
  AND {@owner_lease_expired}
ORDER BY created_at, workflow_id
LIMIT :limit

-- name: take_over_one
UPDATE workflow_status SET owner_instance = :instance_id, executor_id = :executor_id
WHERE workflow_id = :workflow_id AND status <> 'ENQUEUED'

-- name: renew_lease
INSERT INTO process_leases (
    instance_id, executor_id, application_version, host, pid, renewed_at, expires_at,
    listened_queues
) VALUES (
    :instance_id, :executor_id, :application_version, :host, :pid, :now_ms,
    :now_ms + :duration_ms, :listened_queues
)
ON CONFLICT (instance_id) DO UPDATE
SET renewed_at = excluded.renewed_at, expires_at = excluded.expires_at,
    listened_queues = excluded.listened_queues

-- name: forget_old_leases
-- A missing lease counts as expired, so leases that expired a day ago can go.
DELETE FROM process_leases WHERE expires_at < :now_ms - 86400000

-- name: release_lease
DELETE FROM process_leases WHERE instance_id = :instance_id

-- name: list_leases
SELECT instance_id, executor_id, application_version, host, pid, expires_at,
       expires_at > :now_ms, listened_queues
FROM process_leases
WHERE :host IS NULL OR host = :host
ORDER BY instance_id

-- name: count_recovery_attempt
-- One more recovery attempt; past the workflow's limit, it is marked instead of run. A task of
-- a queue that this process (:instance_id) does not run itself goes back to its queue,
-- unclaimed and not started, as DBOS Transact 3.4's recovery re-enqueues it: the claim that
-- starts it again counts it against the queue's limits. (A takeover counts before
-- take_over_one makes :instance_id the owner of the rows it runs.)
UPDATE workflow_status
SET recovery_attempts = recovery_attempts + 1,
    status = CASE
        WHEN {@past_recovery_limit} THEN 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'
        WHEN {@recovered_to_queue} THEN 'ENQUEUED'
        ELSE status
    END,
    executor_id = CASE WHEN {@recovered_to_queue} THEN NULL ELSE executor_id END,
    started_at = CASE WHEN {@recovered_to_queue} THEN NULL ELSE started_at END,
    owner_instance = CASE WHEN {@recovered_to_queue} THEN NULL
                          ELSE coalesce(:instance_id, owner_instance) END,
    updated_at = :now_ms
WHERE workflow_id = :workflow_id AND status = 'PENDING'

-- fragment: past_recovery_limit
(max_recovery_attempts IS NOT NULL AND recovery_attempts + 1 > max_recovery_attempts + 1)

-- fragment: recovered_to_queue
(queue_name IS NOT NULL AND NOT {@past_recovery_limit}
 AND (:instance_id IS NULL OR owner_instance IS NOT :instance_id))

-- name: create_ledger
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)

-- name: select_ledger
SELECT version, name, checksum FROM schema_migrations ORDER BY version

-- name: record_migration
INSERT INTO schema_migrations (version, name, checksum, applied_at)
VALUES (:version, :name, :checksum, :applied_at)

-- name: ledger_exists
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'

-- name: configure_connection
-- WAL lets readers work during a write; foreign keys tie steps to their workflow.
PRAGMA journal_mode = WAL

-- name: enable_foreign_keys
PRAGMA foreign_keys = ON

-- name: synchronous_full
PRAGMA synchronous = FULL

-- name: synchronous_normal
PRAGMA synchronous = NORMAL

-- name: queue_running
SELECT count(*) FROM workflow_status WHERE queue_name = :queue_name AND status = 'PENDING'

-- name: queue_started_since
SELECT count(*) FROM workflow_status WHERE queue_name = :queue_name AND started_at >= :since_ms

-- name: queue_candidates
SELECT workflow_id FROM workflow_status
WHERE queue_name = :queue_name AND status = 'ENQUEUED'
  AND (delay_until IS NULL OR delay_until <= :now_ms)
  AND (application_version = :application_version
       OR (application_version IS NULL AND :takes_unversioned))
  AND name IN (SELECT value FROM json_each(:workflow_names))
ORDER BY priority, created_at, rowid
LIMIT :limit

-- name: claim_one
UPDATE workflow_status
SET status = 'PENDING', executor_id = :executor_id, application_version = :application_version,
    owner_instance = :instance_id, started_at = :now_ms, updated_at = :now_ms
WHERE workflow_id = :workflow_id AND status = 'ENQUEUED'

-- name: select_claimed
-- A claimed task's row and whether it ran before (see WorkflowRow.has_operations).
SELECT {workflow_row},
       EXISTS (SELECT 1 FROM operation_outputs AS o
               WHERE o.workflow_id = w.workflow_id) AS has_operations
FROM workflow_status AS w
WHERE w.workflow_id = :workflow_id

-- name: cancel_workflow
UPDATE workflow_status SET status = 'CANCELLED', updated_at = :now_ms
WHERE workflow_id = :workflow_id AND status IN ('ENQUEUED', 'PENDING')

-- name: resume_workflow
UPDATE workflow_status
SET status = 'PENDING', executor_id = :executor_id, owner_instance = :instance_id,
    application_version = :application_version, recovery_attempts = 1,
    output = NULL, error = NULL, updated_at = :now_ms,
    started_at = coalesce(started_at, :now_ms)
WHERE workflow_id = :workflow_id
  AND status IN ('CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', 'ENQUEUED')

-- name: select_expired
SELECT workflow_id FROM workflow_status
WHERE deadline_at IS NOT NULL AND deadline_at <= :now_ms AND status IN ('ENQUEUED', 'PENDING')

-- name: cancel_expired
UPDATE workflow_status
SET status = 'CANCELLED', updated_at = :now_ms
WHERE deadline_at IS NOT NULL AND deadline_at <= :now_ms AND status IN ('ENQUEUED', 'PENDING')

-- name: partition_loads
SELECT q.queue_partition_key, q.queued,
       (SELECT count(*) FROM workflow_status r
        WHERE r.queue_name = :queue_name AND r.queue_partition_key = q.queue_partition_key
          AND r.status = 'PENDING'),
       (SELECT count(*) FROM workflow_status r
        WHERE r.queue_name = :queue_name AND r.queue_partition_key = q.queue_partition_key
          AND r.started_at >= :partition_since_ms),
       (SELECT max(r.started_at) FROM workflow_status r
        WHERE r.queue_name = :queue_name AND r.queue_partition_key = q.queue_partition_key
          AND r.started_at IS NOT NULL),
       (SELECT count(*) FROM workflow_status r
        WHERE r.queue_name = :queue_name AND r.queue_partition_key = q.queue_partition_key
          AND r.status = 'PENDING'
          AND (r.owner_instance = :instance_id
               OR (:instance_id IS NULL AND r.executor_id = :executor_id)))
FROM (
    SELECT queue_partition_key, count(*) AS queued FROM workflow_status
    WHERE queue_name = :queue_name AND status = 'ENQUEUED' AND queue_partition_key IS NOT NULL
      AND (delay_until IS NULL OR delay_until <= :now_ms)
      AND (application_version = :application_version
       OR (application_version IS NULL AND :takes_unversioned))
      AND name IN (SELECT value FROM json_each(:workflow_names))
    GROUP BY queue_partition_key
) q

-- name: partition_candidates
SELECT workflow_id FROM workflow_status
WHERE queue_name = :queue_name AND queue_partition_key = :partition_key AND status = 'ENQUEUED'
  AND (delay_until IS NULL OR delay_until <= :now_ms)
  AND (application_version = :application_version
       OR (application_version IS NULL AND :takes_unversioned))
  AND name IN (SELECT value FROM json_each(:workflow_names))
ORDER BY priority, created_at, rowid
LIMIT :limit

-- name: insert_message
INSERT INTO notifications (message_id, destination_id, topic, message, created_at, trace_carrier)
VALUES (:message_id, :destination_id, :topic, :message, :created_at_ms, :trace_carrier)
ON CONFLICT (message_id) DO NOTHING

-- name: take_message_key
-- A keyed message is stored only if this takes its key (see message_keys).
INSERT INTO message_keys (destination_id, idempotency_key, message_id, created_at)
VALUES (:destination_id, :idempotency_key, :message_id, :created_at_ms)
ON CONFLICT (destination_id, idempotency_key) DO NOTHING

-- name: step_recorded
SELECT 1 FROM operation_outputs WHERE workflow_id = :workflow_id AND function_id = :function_id

-- name: oldest_message
SELECT seq, message, trace_carrier FROM notifications
WHERE destination_id = :workflow_id AND topic = :topic
ORDER BY seq
LIMIT 1

-- name: delete_message
DELETE FROM notifications WHERE seq = :seq

-- name: upsert_event
INSERT INTO workflow_events (workflow_id, key, value, updated_at)
VALUES (:workflow_id, :key, :value, :updated_at_ms)
ON CONFLICT (workflow_id, key) DO UPDATE
SET value = excluded.value, updated_at = excluded.updated_at

-- name: upsert_event_history
-- The value the operation :function_id set (fork_workflow reads the history).
INSERT INTO workflow_events_history (workflow_id, function_id, key, value, updated_at)
VALUES (:workflow_id, :function_id, :key, :value, :updated_at_ms)
ON CONFLICT (workflow_id, function_id, key) DO UPDATE
SET value = excluded.value, updated_at = excluded.updated_at

-- name: get_event
SELECT value FROM workflow_events WHERE workflow_id = :workflow_id AND key = :key

-- name: get_all_events
SELECT key, value FROM workflow_events WHERE workflow_id = :workflow_id ORDER BY key

-- name: append_stream
-- Appends are serialized by the write transaction (BEGIN IMMEDIATE), so max + 1 is free.
INSERT INTO streams (workflow_id, key, stream_offset, value, created_at, function_id)
SELECT :workflow_id, :key, coalesce(max(stream_offset) + 1, 0), :value, :created_at_ms,
       :function_id
FROM streams
WHERE workflow_id = :workflow_id AND key = :key

-- name: read_stream
SELECT stream_offset, value FROM streams
WHERE workflow_id = :workflow_id AND key = :key AND stream_offset >= :from_offset
ORDER BY stream_offset

-- name: workflow_exists
SELECT 1 FROM workflow_status WHERE workflow_id = :workflow_id

-- Management: bulk cancel and requeue, fork, delete, retention, reset. Lists of IDs arrive
-- as one JSON array parameter (:workflow_ids), read with json_each.

-- name: select_statuses
SELECT workflow_id, status FROM workflow_status
WHERE workflow_id IN (SELECT value FROM json_each(:workflow_ids))

-- name: cancel_workflows
UPDATE workflow_status SET status = 'CANCELLED', updated_at = :now_ms
WHERE workflow_id IN (SELECT value FROM json_each(:workflow_ids))
  AND status IN ('ENQUEUED', 'PENDING')

-- name: select_requeueable
SELECT workflow_id FROM workflow_status
WHERE workflow_id IN (SELECT value FROM json_each(:workflow_ids))
  AND status IN ('CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')

-- name: requeue_workflow
-- An ENQUEUED row has no owner until a claim gives it one (a rewind relies on it: see
-- select_status_for_rewind).
UPDATE workflow_status
SET status = 'ENQUEUED', queue_name = :queue_name, executor_id = NULL, output = NULL,
    owner_instance = NULL,
    error = NULL, deduplication_id = NULL, recovery_attempts = 1, delay_until = NULL,
    deadline_at = NULL, updated_at = :now_ms
WHERE workflow_id = :workflow_id
  AND status IN ('CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')

-- name: select_movable
-- move_workflows's rows: ENQUEUED ones, and PENDING ones whose owner holds no unexpired lease.
SELECT workflow_id FROM workflow_status AS w
WHERE workflow_id IN (SELECT value FROM json_each(:workflow_ids))
  AND (status = 'ENQUEUED'
       OR (status = 'PENDING' AND {@owner_lease_expired}))
ORDER BY created_at, workflow_id

-- name: move_workflow
-- ENQUEUED rows keep their queue; PENDING ones go back to their own queue, unstarted, as a
-- recovery puts them back (its limits count them again when they are claimed, and their
-- deduplication ID still holds), or, not being a queue's, wait on the given queue.
UPDATE workflow_status
SET application_version = :application_version,
    queue_name = coalesce(queue_name, :queue_name),
    started_at = CASE WHEN status = 'PENDING' AND queue_name IS NOT NULL THEN NULL
                      ELSE started_at END,
    status = 'ENQUEUED', executor_id = NULL, owner_instance = NULL, updated_at = :now_ms
WHERE workflow_id = :workflow_id

-- name: last_function_id
SELECT max(function_id) FROM operation_outputs WHERE workflow_id = :workflow_id

-- name: insert_fork
-- The partition key, timeout and deadline are the fork's own (DBOS 3.4): none unless given.
INSERT INTO workflow_status (
    workflow_id, status, name, inputs, executor_id, application_version,
    recovery_attempts, max_recovery_attempts, created_at, updated_at, queue_name, priority,
    queue_partition_key, class_name, config_name, forked_from,
    attributes, serialization, authenticated_user, authenticated_roles, assumed_role,
    first_function_id, application_name, workflow_timeout_ms, deadline_at
)
SELECT :forked_workflow_id, 'ENQUEUED', name, inputs, NULL,
       coalesce(:application_version, application_version), 1, max_recovery_attempts,
       :now_ms, :now_ms, :queue_name, 0, :queue_partition_key, class_name, config_name,
       workflow_id, attributes, serialization, authenticated_user, authenticated_roles,
       assumed_role, first_function_id, application_name, :timeout_ms, :deadline_ms
FROM workflow_status
WHERE workflow_id = :workflow_id

-- name: mark_forked_from
-- The original of a fork (DBOS 3.4's was_forked_from), in the fork's transaction.
UPDATE workflow_status SET was_forked_from = 1
WHERE workflow_id = :workflow_id AND was_forked_from = 0

-- name: copy_steps
-- :replacement_children: a JSON object of old child ID -> new child ID (DBOS 3.4's
-- replacement_children); a copied operation naming an old child names the new one.
INSERT INTO operation_outputs (
    workflow_id, function_id, function_name, output, error, child_workflow_id,
    started_at, completed_at
)
SELECT :forked_workflow_id, o.function_id, o.function_name, o.output, o.error,
       coalesce(r.value, o.child_workflow_id), o.started_at, o.completed_at
FROM operation_outputs AS o
LEFT JOIN json_each(:replacement_children) AS r ON r.key = o.child_workflow_id
WHERE o.workflow_id = :workflow_id AND o.function_id < :start_step

-- name: copy_streams
-- The original's stream entries as they stood after the copied operations: those written by
-- an operation below start_step. Entries without a function_id (written before migration
-- 0006, or without an operation) are copied only when every recorded operation is
-- (:copy_all): then all of them precede the fork point, otherwise which operation wrote them
-- is unknown. Offsets are renumbered from 0, so the fork's streams have no gaps.
INSERT INTO streams (workflow_id, key, stream_offset, value, created_at, function_id)
SELECT :forked_workflow_id, key,
       row_number() OVER (PARTITION BY key ORDER BY stream_offset) - 1,
       value, created_at, function_id
FROM streams
WHERE workflow_id = :workflow_id
  AND (function_id < :start_step OR (function_id IS NULL AND :copy_all))

-- name: copy_event_history
INSERT INTO workflow_events_history (workflow_id, function_id, key, value, updated_at)
SELECT :forked_workflow_id, function_id, key, value, updated_at
FROM workflow_events_history
WHERE workflow_id = :workflow_id AND function_id < :start_step

-- name: copy_events
-- Each event's value as it stood after the copied operations: the one set by the latest of
-- them. When every operation is copied, the current values (which include events set before
-- migration 0006, which have no history).
INSERT INTO workflow_events (workflow_id, key, value, updated_at)
SELECT :forked_workflow_id, key, value, updated_at
FROM workflow_events
WHERE workflow_id = :workflow_id AND :copy_all
UNION ALL
SELECT :forked_workflow_id, h.key, h.value, h.updated_at
FROM workflow_events_history AS h
WHERE h.workflow_id = :workflow_id AND h.function_id < :start_step AND NOT :copy_all
  AND h.function_id = (
      SELECT max(l.function_id) FROM workflow_events_history AS l
      WHERE l.workflow_id = h.workflow_id AND l.key = h.key AND l.function_id < :start_step
  )

-- name: delete_workflows
-- Steps (and rows of later tables that reference a workflow) go with it: ON DELETE CASCADE.
DELETE FROM workflow_status WHERE workflow_id IN (SELECT value FROM json_each(:workflow_ids))

-- name: select_older_than
-- One batch of retention (see SQLiteStorage.delete_older_than): the oldest `batch` finished
-- workflows created in [after_ms, cutoff_ms), by the created_at index; the caller deletes
-- them by ID in the same transaction and moves after_ms to the batch's newest created_at.
SELECT workflow_id, created_at FROM workflow_status
WHERE created_at >= :after_ms AND created_at < :cutoff_ms
  AND status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
ORDER BY created_at
LIMIT :batch

-- name: select_tables
SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'

-- name: disable_foreign_keys
PRAGMA foreign_keys = OFF

-- name: register_application_version
INSERT INTO application_versions (
    version_id, version_name, version_timestamp, created_at, application_name
) VALUES (
    :version_id, :version_name, :version_timestamp_ms, :created_at_ms, :application_name
)
ON CONFLICT (version_name) DO NOTHING

-- name: list_application_versions
SELECT version_id, version_name, version_timestamp AS version_timestamp_ms,
    created_at AS created_at_ms, application_name
FROM application_versions
ORDER BY version_timestamp DESC, created_at DESC, version_name

-- name: set_latest_application_version
UPDATE application_versions
SET version_timestamp = max(
    :now_ms, (SELECT max(version_timestamp) + 1 FROM application_versions)
)
WHERE version_name = :version_name

-- name: select_application_version
SELECT version_id, version_name, version_timestamp AS version_timestamp_ms,
    created_at AS created_at_ms, application_name
FROM application_versions
WHERE version_name = :version_name

-- Moving workflows in time: rewind and set_workflow_delay (see _timeops.py).

-- name: select_status_for_rewind
-- The second column: whether an execution may still be running it. A cancelled execution
-- stops at its next step boundary and then gives up its ownership (release_cancelled); until
-- then a CANCELLED row keeps an owner, and while that owner's lease holds, its execution may
-- be inside a step.
SELECT w.status,
       w.status = 'CANCELLED' AND w.owner_instance IS NOT NULL AND EXISTS (
           SELECT 1 FROM process_leases AS l
           WHERE l.instance_id = w.owner_instance AND l.expires_at > :now_ms)
FROM workflow_status AS w
WHERE w.workflow_id = :workflow_id

-- name: release_cancelled
UPDATE workflow_status
SET owner_instance = NULL
WHERE workflow_id = :workflow_id AND status = 'CANCELLED' AND owner_instance = :instance_id

-- name: rewind_drop_events
-- Event keys set from start_step on lose their current value (restored next, from the history
-- that is still whole).
DELETE FROM workflow_events
WHERE workflow_id = :workflow_id AND key IN (
    SELECT key FROM workflow_events_history
    WHERE workflow_id = :workflow_id AND function_id >= :start_step
)

-- name: rewind_restore_events
-- ...and get back the value the latest earlier operation set, if any.
INSERT INTO workflow_events (workflow_id, key, value, updated_at)
SELECT h.workflow_id, h.key, h.value, h.updated_at
FROM workflow_events_history AS h
WHERE h.workflow_id = :workflow_id AND h.function_id < :start_step
  AND h.key IN (
    SELECT key FROM workflow_events_history
    WHERE workflow_id = :workflow_id AND function_id >= :start_step
  )
  AND h.function_id = (
      SELECT max(l.function_id) FROM workflow_events_history AS l
      WHERE l.workflow_id = h.workflow_id AND l.key = h.key AND l.function_id < :start_step
  )

-- name: rewind_event_history
DELETE FROM workflow_events_history
WHERE workflow_id = :workflow_id AND function_id >= :start_step

-- name: rewind_stream_closes
-- Close markers (NULL values) from the cut on, or written by no known operation: left, they
-- would end every reader before the new run's entries.
DELETE FROM streams
WHERE workflow_id = :workflow_id AND value IS NULL
  AND (function_id >= :start_step OR function_id IS NULL)

-- name: rewind_steps
DELETE FROM operation_outputs
WHERE workflow_id = :workflow_id AND function_id >= :start_step

-- name: rewind_messages
DELETE FROM notifications WHERE destination_id = :workflow_id

-- name: rewind_status
UPDATE workflow_status
SET status = 'ENQUEUED', queue_name = :queue_name,
    queue_partition_key = :queue_partition_key,
    application_version = coalesce(:application_version, application_version),
    executor_id = NULL, owner_instance = NULL, output = NULL, error = NULL,
    deduplication_id = NULL, recovery_attempts = 1, delay_until = NULL, deadline_at = NULL,
    started_at = NULL, completed_at = NULL, updated_at = :now_ms
WHERE workflow_id = :workflow_id

-- name: set_workflow_delay
UPDATE workflow_status
SET delay_until = :delay_until_ms, updated_at = :now_ms
WHERE workflow_id = :workflow_id AND status = 'ENQUEUED'
  AND delay_until IS NOT NULL AND delay_until > :now_ms

-- name: select_queue_name
SELECT 1 FROM queues WHERE name = :name

-- name: store_queue
-- Insert, or overwrite the settings of the queue of that name when asked to (its creation
-- time and ID stay); the caller's transaction tells whether the row was there.
INSERT INTO queues (
    name, concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec,
    priority_enabled, partition_queue, polling_interval_sec, created_at, updated_at,
    application_name, partition_concurrency, partition_worker_concurrency,
    partition_rate_limit_max, partition_rate_limit_period_sec
) VALUES (
    :name, :concurrency, :worker_concurrency, :rate_limit_max, :rate_limit_period_sec,
    :priority_enabled, :partition_queue, :polling_interval_sec, :now_ms, :now_ms,
    :application_name, :partition_concurrency, :partition_worker_concurrency,
    :partition_rate_limit_max, :partition_rate_limit_period_sec
)
ON CONFLICT (name) DO UPDATE SET
    concurrency = excluded.concurrency,
    worker_concurrency = excluded.worker_concurrency,
    rate_limit_max = excluded.rate_limit_max,
    rate_limit_period_sec = excluded.rate_limit_period_sec,
    priority_enabled = excluded.priority_enabled,
    partition_queue = excluded.partition_queue,
    polling_interval_sec = excluded.polling_interval_sec,
    updated_at = excluded.updated_at,
    application_name = excluded.application_name,
    partition_concurrency = excluded.partition_concurrency,
    partition_worker_concurrency = excluded.partition_worker_concurrency,
    partition_rate_limit_max = excluded.partition_rate_limit_max,
    partition_rate_limit_period_sec = excluded.partition_rate_limit_period_sec
WHERE :replace

-- name: get_queue
SELECT name, concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec,
    priority_enabled, partition_queue, polling_interval_sec, partition_concurrency,
    partition_worker_concurrency, partition_rate_limit_max, partition_rate_limit_period_sec,
    application_name, created_at AS created_at_ms, updated_at AS updated_at_ms FROM queues WHERE name = :name

-- name: list_queues
SELECT name, concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec,
    priority_enabled, partition_queue, polling_interval_sec, partition_concurrency,
    partition_worker_concurrency, partition_rate_limit_max, partition_rate_limit_period_sec,
    application_name, created_at AS created_at_ms, updated_at AS updated_at_ms FROM queues ORDER BY name

-- name: update_queue
-- Each setting changes only when its flag is set, so concurrent changes of different
-- settings are all kept (unless `conditional`: see the WHERE clause).
UPDATE queues SET
    concurrency = CASE WHEN :set_concurrency THEN :concurrency ELSE concurrency END,
    worker_concurrency = CASE WHEN :set_worker_concurrency
        THEN :worker_concurrency ELSE worker_concurrency END,
    rate_limit_max = CASE WHEN :set_rate_limit_max THEN :rate_limit_max ELSE rate_limit_max END,
    rate_limit_period_sec = CASE WHEN :set_rate_limit_period_sec
        THEN :rate_limit_period_sec ELSE rate_limit_period_sec END,
    polling_interval_sec = CASE WHEN :set_polling_interval_sec
        THEN :polling_interval_sec ELSE polling_interval_sec END,
    partition_concurrency = CASE WHEN :set_partition_concurrency
        THEN :partition_concurrency ELSE partition_concurrency END,
    partition_worker_concurrency = CASE WHEN :set_partition_worker_concurrency
        THEN :partition_worker_concurrency ELSE partition_worker_concurrency END,
    partition_rate_limit_max = CASE WHEN :set_partition_rate_limit_max
        THEN :partition_rate_limit_max ELSE partition_rate_limit_max END,
    partition_rate_limit_period_sec = CASE WHEN :set_partition_rate_limit_period_sec
        THEN :partition_rate_limit_period_sec ELSE partition_rate_limit_period_sec END,
    partition_queue = partition_queue OR (
        CASE WHEN :set_partition_concurrency
            THEN :partition_concurrency ELSE partition_concurrency END IS NOT NULL
        OR CASE WHEN :set_partition_worker_concurrency
            THEN :partition_worker_concurrency ELSE partition_worker_concurrency END IS NOT NULL
        OR CASE WHEN :set_partition_rate_limit_max
            THEN :partition_rate_limit_max ELSE partition_rate_limit_max END IS NOT NULL),
    updated_at = :now_ms
WHERE name = :name
    -- A compare-and-set: only if the settings are still those the caller checked against.
    AND (NOT :conditional OR (
        concurrency IS :expected_concurrency
        AND worker_concurrency IS :expected_worker_concurrency
        AND rate_limit_max IS :expected_rate_limit_max
        AND rate_limit_period_sec IS :expected_rate_limit_period_sec
        AND polling_interval_sec IS :expected_polling_interval_sec
        AND partition_concurrency IS :expected_partition_concurrency
        AND partition_worker_concurrency IS :expected_partition_worker_concurrency
        AND partition_rate_limit_max IS :expected_partition_rate_limit_max
        AND partition_rate_limit_period_sec IS :expected_partition_rate_limit_period_sec))

-- name: delete_queue
DELETE FROM queues WHERE name = :name

-- name: queue_depths
SELECT queue_name,
       sum(status = 'ENQUEUED'),
       sum(status = 'PENDING')
FROM workflow_status
WHERE queue_name IS NOT NULL AND status IN ('ENQUEUED', 'PENDING')
GROUP BY queue_name
ORDER BY queue_name
-- Stored schedules (see _schedules.py).

-- name: insert_schedule
INSERT INTO workflow_schedules (
    schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status, context,
    last_fired_at, automatic_backfill, cron_timezone, queue_name, application_name, missed_ticks
) VALUES (
    :schedule_id, :schedule_name, :workflow_name, :workflow_class_name, :schedule, :status,
    :context, :last_fired_at, :automatic_backfill, :cron_timezone, :queue_name,
    :application_name, :missed_ticks
)
ON CONFLICT (schedule_name) DO NOTHING

-- name: upsert_schedule
-- A replaced schedule keeps its ID, status and last tick: an apply at every launch must not
-- resume a paused schedule or forget when it last fired.
INSERT INTO workflow_schedules (
    schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status, context,
    last_fired_at, automatic_backfill, cron_timezone, queue_name, application_name, missed_ticks
) VALUES (
    :schedule_id, :schedule_name, :workflow_name, :workflow_class_name, :schedule, :status,
    :context, :last_fired_at, :automatic_backfill, :cron_timezone, :queue_name,
    :application_name, :missed_ticks
)
ON CONFLICT (schedule_name) DO UPDATE SET
    workflow_name = excluded.workflow_name,
    workflow_class_name = excluded.workflow_class_name,
    schedule = excluded.schedule,
    context = excluded.context,
    automatic_backfill = excluded.automatic_backfill,
    cron_timezone = excluded.cron_timezone,
    queue_name = excluded.queue_name,
    application_name = excluded.application_name,
    missed_ticks = excluded.missed_ticks

-- name: list_schedules
-- A NULL JSON array means "any"; unclaimed schedules (no application) belong to every
-- application.
SELECT schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status,
       context, last_fired_at, automatic_backfill, cron_timezone, queue_name,
       application_name, missed_ticks
FROM workflow_schedules
WHERE (:statuses IS NULL OR status IN (SELECT value FROM json_each(:statuses)))
  AND (:workflow_names IS NULL
       OR workflow_name IN (SELECT value FROM json_each(:workflow_names)))
  AND (:prefixes IS NULL OR EXISTS (
      SELECT 1 FROM json_each(:prefixes) AS p
      WHERE substr(schedule_name, 1, length(p.value)) = p.value))
  AND (:applications IS NULL OR application_name IS NULL
       OR application_name IN (SELECT value FROM json_each(:applications)))
ORDER BY schedule_name

-- name: get_schedule
SELECT schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status,
       context, last_fired_at, automatic_backfill, cron_timezone, queue_name,
       application_name, missed_ticks
FROM workflow_schedules
WHERE schedule_name = :schedule_name

-- name: set_schedule_status
UPDATE workflow_schedules SET status = :status WHERE schedule_name = :schedule_name

-- name: delete_schedule
DELETE FROM workflow_schedules WHERE schedule_name = :schedule_name

-- name: select_active_schedule
-- A scheduler's tick (in the BEGIN IMMEDIATE transaction of its insert, which a pause or
-- delete cannot interleave): the schedule it was planned from, still stored and ACTIVE.
SELECT 1 FROM workflow_schedules
WHERE schedule_name = :schedule_name AND schedule_id = :schedule_id AND status = 'ACTIVE'

-- name: record_schedule_fired
-- ISO 8601 times of different offsets compare as instants: julianday reads the offset.
UPDATE workflow_schedules SET last_fired_at = :fired_at
WHERE schedule_name = :schedule_name
  AND (last_fired_at IS NULL OR julianday(last_fired_at) < julianday(:fired_at))
