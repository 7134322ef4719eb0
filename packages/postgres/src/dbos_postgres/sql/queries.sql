-- Statements of the Postgres backend, by name. {schema} is replaced by the quoted schema
-- identifier (psycopg.sql.Identifier); values are bound parameters %(name)s. {workflow_row} is
-- the workflow row's select list (_columns.py), each column named after its WorkflowRow field:
-- the backend builds rows by those names. {inserted_row} is the same list for a row that
-- create_workflow inserted: NULL but for the columns its insert returns.

-- Blocks headed "-- fragment: NAME" are text that statements share, spliced in wherever a
-- statement says {@NAME} (dbos.storage.load_queries).

-- fragment: checkpoint_row
-- A step's checkpoint row.
INSERT INTO {schema}.operation_outputs (
    workflow_id, function_id, function_name, output, error, child_workflow_id,
    started_at, completed_at
) VALUES (
    %(workflow_id)s, %(function_id)s, %(function_name)s, %(output)s, %(error)s,
    %(child_workflow_id)s, %(started_at_ms)s, %(completed_at_ms)s
)

-- fragment: step_ack
-- What a checkpoint returns: its workflow's status and owner, which the engine checks before
-- moving on (scalar subqueries here cost the server less than a CTE joined to the row).
RETURNING (SELECT status FROM {schema}.workflow_status WHERE workflow_id = %(workflow_id)s),
    (SELECT owner_instance FROM {schema}.workflow_status WHERE workflow_id = %(workflow_id)s)

-- fragment: checkpoint_with_ack
-- The checkpoint a write commits with (the statement after a "_step" write's WITH clauses). A
-- duplicate checkpoint fails the whole statement, so the write is not made twice.
{@checkpoint_row}
{@step_ack}

-- fragment: store_message
-- WITH clauses that store one message. A message with an idempotency key is stored only if
-- this statement takes the key (a concurrent send of the same key waits for this one's
-- commit, then takes nothing).
key_taken AS (
    INSERT INTO {schema}.message_keys (destination_id, idempotency_key, message_id, created_at)
    SELECT %(destination_id)s, %(idempotency_key)s::text, %(message_id)s, %(created_at_ms)s
    WHERE %(idempotency_key)s::text IS NOT NULL
    ON CONFLICT (destination_id, idempotency_key) DO NOTHING
    RETURNING 1
), sent AS (
    INSERT INTO {schema}.notifications (
        message_id, destination_id, topic, message, created_at, trace_carrier
    )
    SELECT %(message_id)s, %(destination_id)s, %(topic)s, %(message)s, %(created_at_ms)s,
           %(trace_carrier)s::text
    WHERE %(idempotency_key)s::text IS NULL OR EXISTS (SELECT 1 FROM key_taken)
    ON CONFLICT (message_id) DO NOTHING
)

-- fragment: store_messages
-- WITH clauses that store many messages (arrays, in order), each as store_message does.
input AS (
    SELECT * FROM unnest(
        %(message_ids)s::text[], %(destination_ids)s::text[], %(topics)s::text[],
        %(messages)s::text[], %(created_ats)s::bigint[], %(idempotency_keys)s::text[],
        %(trace_carriers)s::text[]
    ) WITH ORDINALITY
        AS m(message_id, destination_id, topic, message, created_at, idempotency_key,
             trace_carrier, position)
), keys_taken AS (
    INSERT INTO {schema}.message_keys (destination_id, idempotency_key, message_id, created_at)
    SELECT destination_id, idempotency_key, message_id, created_at
    FROM input WHERE idempotency_key IS NOT NULL
    ON CONFLICT (destination_id, idempotency_key) DO NOTHING
    RETURNING message_id
), sent AS (
    INSERT INTO {schema}.notifications (
        message_id, destination_id, topic, message, created_at, trace_carrier
    )
    SELECT message_id, destination_id, topic, message, created_at, trace_carrier FROM input
    WHERE idempotency_key IS NULL OR message_id IN (SELECT message_id FROM keys_taken)
    ORDER BY position
    ON CONFLICT (message_id) DO NOTHING
)

-- fragment: store_event
-- WITH clauses that set an event. %(function_id)s is the operation that set it (NULL without
-- one): its value goes to the history too, which fork_workflow reads.
event AS (
    INSERT INTO {schema}.workflow_events (workflow_id, key, value, updated_at)
    VALUES (%(workflow_id)s, %(key)s, %(value)s, %(updated_at_ms)s)
    ON CONFLICT (workflow_id, key) DO UPDATE
    SET value = excluded.value, updated_at = excluded.updated_at
), history AS (
    INSERT INTO {schema}.workflow_events_history (workflow_id, function_id, key, value, updated_at)
    SELECT %(workflow_id)s, %(function_id)s, %(key)s, %(value)s, %(updated_at_ms)s
    WHERE %(function_id)s::integer IS NOT NULL
    ON CONFLICT (workflow_id, function_id, key) DO UPDATE
    SET value = excluded.value, updated_at = excluded.updated_at
)

-- fragment: append_stream
-- The next entry of a stream (run under the stream's lock_stream).
INSERT INTO {schema}.streams (workflow_id, key, stream_offset, value, created_at, function_id)
SELECT %(workflow_id)s, %(key)s, coalesce(max(stream_offset) + 1, 0), %(value)s,
       %(created_at_ms)s, %(function_id)s
FROM {schema}.streams
WHERE workflow_id = %(workflow_id)s AND key = %(key)s

-- fragment: count_recovery_attempt
-- One more recovery attempt; past the workflow's limit, it is marked instead of run. A task
-- of a queue goes back to its queue (see recovered_to_queue), unclaimed and not started.
recovery_attempts = recovery_attempts + 1,
    status = CASE
        WHEN {@past_recovery_limit} THEN 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'
        WHEN {@recovered_to_queue} THEN 'ENQUEUED'
        ELSE status
    END,
    started_at = CASE WHEN {@recovered_to_queue} THEN NULL ELSE started_at END

-- fragment: past_recovery_limit
(max_recovery_attempts IS NOT NULL AND recovery_attempts + 1 > max_recovery_attempts + 1)

-- fragment: recovered_to_queue
-- Whether a recovered (or taken over) row goes back to its queue rather than running at once
-- where it is recovered: a task of a queue, within its recovery limit, that the recovering
-- process (the instance_id parameter) does not run itself. DBOS Transact 3.4's recovery
-- re-enqueues such a task too, so that the claim that starts it again counts it against the
-- queue's limits (a survivor would otherwise run a dead process's tasks on top of its own).
(queue_name IS NOT NULL AND NOT {@past_recovery_limit}
 AND (%(instance_id)s::text IS NULL OR owner_instance IS DISTINCT FROM %(instance_id)s))

-- fragment: claimed_has_operations
-- The claiming statements' has_operations column: whether the task ran before (a rewind
-- put it back on its queue; see WorkflowRow.has_operations). A scalar subquery, not EXISTS:
-- a generic plan may hash an EXISTS, reading all of operation_outputs on every claim.
(SELECT true FROM {schema}.operation_outputs AS o
 WHERE o.workflow_id = claimed.workflow_id LIMIT 1) IS NOT NULL AS has_operations

-- fragment: owner_lease_expired
-- Row w's owner holds no unexpired lease by this server's clock (a missing lease counts as
-- expired).
NOT EXISTS (
    SELECT 1 FROM {schema}.process_leases AS l
    WHERE l.instance_id = w.owner_instance
      AND l.expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint)

-- fragment: stranded
-- WorkflowQuery.stranded on a row of workflow_status (unaliased): PENDING or ENQUEUED, and no
-- live lease serves its version, or for a version-less row the latest registered version (the
-- only one that claims it). Leases are judged by the server's clock, as takeovers judge them,
-- at the statement's start: statement_timestamp() is stable, where clock_timestamp() is
-- volatile and would make the planner re-run the lease lookup for each row instead of one
-- hash anti-join (measured: 370 ms against 47 ms for 133,000 unfinished rows).
workflow_status.status IN ('PENDING', 'ENQUEUED') AND NOT EXISTS (
    SELECT 1 FROM {schema}.process_leases AS l
    WHERE l.expires_at > (extract(epoch FROM statement_timestamp()) * 1000)::bigint
      AND l.application_version = coalesce(workflow_status.application_version, (
          SELECT v.version_name FROM {schema}.application_versions AS v
          ORDER BY v.version_timestamp DESC, v.created_at DESC, v.version_name LIMIT 1)))

-- name: count_stranded_workflows
-- One row per version (None first): stranded PENDING and ENQUEUED counts, the oldest.
SELECT application_version, count(*) FILTER (WHERE status = 'PENDING'),
       count(*) FILTER (WHERE status = 'ENQUEUED'), min(created_at)
FROM {schema}.workflow_status
WHERE {@stranded}
GROUP BY application_version
ORDER BY application_version NULLS FIRST

-- name: create_workflow
-- One statement, one round trip: insert, or return the row that was already there. A row it
-- inserted comes back as the two columns the server decides ({inserted_row}: completed_at,
-- set by a trigger, and the attributes' jsonb text); the caller has every other field (it
-- built them), and the full row cost the server 27 us more per create (measured).
WITH inserted AS (
    INSERT INTO {schema}.workflow_status (
        workflow_id, status, name, inputs, executor_id, application_version,
        recovery_attempts, max_recovery_attempts, created_at, updated_at,
        parent_workflow_id, queue_name, priority, deduplication_id, queue_partition_key,
        delay_until, deadline_at, owner_instance, class_name, config_name, schedule_name,
        attributes, serialization, authenticated_user, authenticated_roles, assumed_role,
        first_function_id, workflow_timeout_ms, application_name, started_at
    ) VALUES (
        %(workflow_id)s, %(status)s, %(name)s, %(inputs)s, %(executor_id)s,
        %(application_version)s, 1, %(max_recovery_attempts)s, %(created_at_ms)s,
        %(created_at_ms)s, %(parent_workflow_id)s, %(queue_name)s, %(priority)s,
        %(deduplication_id)s, %(queue_partition_key)s, %(delay_until_ms)s,
        %(deadline_ms)s, %(owner_instance)s, %(class_name)s, %(config_name)s, %(schedule_name)s,
        %(attributes)s::jsonb, %(serialization)s, %(authenticated_user)s,
        %(authenticated_roles)s, %(assumed_role)s, %(first_function_id)s, %(timeout_ms)s,
        %(application_name)s,
        -- A task stored already claimed (enqueued where a slot was free) starts now.
        CASE WHEN %(queue_name)s::text IS NOT NULL AND %(status)s = 'PENDING'
             THEN %(created_at_ms)s::bigint END
    )
    ON CONFLICT (workflow_id) DO NOTHING
    RETURNING completed_at AS completed_at_ms, attributes::text AS attributes
)
-- The stored row's branch comes first: it gives the union its column types and names.
SELECT false AS created, {workflow_row}
FROM {schema}.workflow_status
WHERE workflow_id = %(workflow_id)s AND NOT EXISTS (SELECT 1 FROM inserted)
UNION ALL
SELECT true, {inserted_row} FROM inserted

-- name: create_workflows
-- A batch enqueue in one statement (`BatchWorkflows.create_workflows`): the workflows come as
-- one JSON array (one parameter, whatever the batch's size), each inserted as create_workflow
-- inserts one, in the array's order (so enqueue_seq follows it). None is inserted when an ID
-- is stored under another name (the clash is found in Python, from the rows returned). A
-- deduplication conflict fails the whole statement.
WITH batch AS (
    SELECT * FROM jsonb_to_recordset(%(batch)s::jsonb) AS b(
        ord int, workflow_id text, status text, name text, inputs text, executor_id text,
        application_version text, max_recovery_attempts int, created_at_ms bigint,
        parent_workflow_id text, queue_name text, priority int, deduplication_id text,
        queue_partition_key text, delay_until_ms bigint, deadline_ms bigint,
        owner_instance text, class_name text, config_name text, schedule_name text,
        attributes text, serialization text, authenticated_user text,
        authenticated_roles text, assumed_role text, first_function_id int,
        timeout_ms bigint, application_name text)
),
clash AS (
    SELECT 1 FROM batch AS b
    JOIN {schema}.workflow_status AS w ON w.workflow_id = b.workflow_id AND w.name <> b.name
    LIMIT 1
),
inserted AS (
    INSERT INTO {schema}.workflow_status (
        workflow_id, status, name, inputs, executor_id, application_version,
        recovery_attempts, max_recovery_attempts, created_at, updated_at,
        parent_workflow_id, queue_name, priority, deduplication_id, queue_partition_key,
        delay_until, deadline_at, owner_instance, class_name, config_name, schedule_name,
        attributes, serialization, authenticated_user, authenticated_roles, assumed_role,
        first_function_id, workflow_timeout_ms, application_name, started_at
    )
    SELECT b.workflow_id, b.status, b.name, b.inputs, b.executor_id, b.application_version,
           1, b.max_recovery_attempts, b.created_at_ms, b.created_at_ms,
           b.parent_workflow_id, b.queue_name, b.priority, b.deduplication_id,
           b.queue_partition_key, b.delay_until_ms, b.deadline_ms, b.owner_instance,
           b.class_name, b.config_name, b.schedule_name, b.attributes::jsonb,
           b.serialization, b.authenticated_user, b.authenticated_roles, b.assumed_role,
           b.first_function_id, b.timeout_ms, b.application_name,
           -- As create_workflow: a task stored already claimed starts now.
           CASE WHEN b.queue_name IS NOT NULL AND b.status = 'PENDING' THEN b.created_at_ms END
    FROM batch AS b
    WHERE NOT EXISTS (SELECT 1 FROM clash)
    ORDER BY b.ord
    ON CONFLICT (workflow_id) DO NOTHING
    RETURNING {workflow_row}
)
SELECT true AS created, * FROM inserted
UNION ALL
SELECT false, {workflow_row}
FROM {schema}.workflow_status
WHERE workflow_id IN (SELECT workflow_id FROM batch)
  AND workflow_id NOT IN (SELECT workflow_id FROM inserted)

-- name: select_deduplication_holders
-- Which of these (queue, deduplication ID) pairs an unfinished task holds (after a batch
-- enqueue failed on one).
SELECT w.queue_name, w.deduplication_id
FROM {schema}.workflow_status AS w
JOIN unnest(%(queue_names)s::text[], %(deduplication_ids)s::text[]) AS p(queue_name, dedup)
  ON w.queue_name = p.queue_name AND w.deduplication_id = p.dedup
WHERE w.status IN ('ENQUEUED', 'PENDING')

-- name: update_workflow_attributes
-- A merge writes the given top-level keys over the stored object (a stored value that is
-- not an object counts as empty) in the UPDATE itself, so concurrent merges all land.
UPDATE {schema}.workflow_status
SET attributes = CASE
        WHEN %(merge)s THEN
            CASE WHEN jsonb_typeof(attributes) = 'object' THEN attributes ELSE '{{}}'::jsonb END
            || %(attributes)s::jsonb
        ELSE %(attributes)s::jsonb
    END,
    updated_at = %(now_ms)s
WHERE workflow_id = %(workflow_id)s

-- name: select_workflow
SELECT {workflow_row}
FROM {schema}.workflow_status
WHERE workflow_id = %(workflow_id)s

-- name: record_step
-- Insert the checkpoint and read the workflow's status and owner in the same round trip; no
-- row when the operation is recorded already (ON CONFLICT skips RETURNING).
{@checkpoint_row}
ON CONFLICT (workflow_id, function_id) DO NOTHING
{@step_ack}

-- name: record_steps
-- record_step for several workflows' checkpoints in one statement and one commit (group
-- commit, _checkpoints.py); one row per input, in input order. The caller never puts one
-- operation in a batch twice.
WITH batch AS (
    SELECT * FROM unnest(%(workflow_ids)s::text[], %(function_ids)s::int[],
                         %(function_names)s::text[], %(outputs)s::text[], %(errors)s::text[],
                         %(child_workflow_ids)s::text[], %(started_ats)s::bigint[],
                         %(completed_ats)s::bigint[])
        WITH ORDINALITY
        AS batch(workflow_id, function_id, function_name, output, error, child_workflow_id,
                 started_at, completed_at, position)
), inserted AS (
    INSERT INTO {schema}.operation_outputs (
        workflow_id, function_id, function_name, output, error, child_workflow_id,
        started_at, completed_at
    )
    SELECT workflow_id, function_id, function_name, output, error, child_workflow_id,
           started_at, completed_at
    FROM batch ORDER BY position
    ON CONFLICT (workflow_id, function_id) DO NOTHING
    RETURNING workflow_id, function_id
)
SELECT inserted.workflow_id IS NOT NULL, w.status, w.owner_instance
FROM batch
LEFT JOIN inserted
    ON inserted.workflow_id = batch.workflow_id AND inserted.function_id = batch.function_id
LEFT JOIN {schema}.workflow_status AS w ON w.workflow_id = batch.workflow_id
ORDER BY batch.position

-- name: select_steps
SELECT workflow_id, function_id, function_name, output, error, started_at, completed_at,
       child_workflow_id
FROM {schema}.operation_outputs
WHERE workflow_id = %(workflow_id)s
ORDER BY function_id

-- name: finish_workflow
-- Applies only from PENDING, and with an owner only to that owner's row (or a row without
-- one); either way returns the status stored afterwards.
WITH updated AS (
    UPDATE {schema}.workflow_status
    SET status = %(status)s, output = %(output)s, error = %(error)s,
        updated_at = %(completed_at_ms)s
    WHERE workflow_id = %(workflow_id)s AND status = 'PENDING'
      AND (%(owner_instance)s::text IS NULL OR owner_instance IS NULL
           OR owner_instance = %(owner_instance)s)
    RETURNING status
)
SELECT status FROM updated
UNION ALL
SELECT status FROM {schema}.workflow_status
WHERE workflow_id = %(workflow_id)s AND NOT EXISTS (SELECT 1 FROM updated)

-- name: recover_pending
-- With an instance: never a row whose owner holds an unexpired lease (by this server's
-- clock), unless it is that instance's own. FOR NO KEY UPDATE SKIP LOCKED: a concurrent
-- recovery or takeover holds the rows it takes, and this one passes over them; it does not
-- conflict with the key-share locks of checkpoints being inserted.
WITH claimed AS (
    UPDATE {schema}.workflow_status
    SET {@count_recovery_attempt},
        executor_id = CASE WHEN {@recovered_to_queue} THEN NULL ELSE executor_id END,
        owner_instance = CASE WHEN {@recovered_to_queue} THEN NULL
                              ELSE coalesce(%(instance_id)s, owner_instance) END,
        updated_at = %(now_ms)s
    WHERE workflow_id IN (
        SELECT w.workflow_id FROM {schema}.workflow_status AS w
        WHERE w.status = 'PENDING' AND w.executor_id = %(executor_id)s
          AND w.application_version = %(application_version)s
          AND (%(instance_id)s::text IS NULL OR w.owner_instance IS NULL
               OR w.owner_instance = %(instance_id)s
               OR {@owner_lease_expired})
        FOR NO KEY UPDATE SKIP LOCKED
    )
    RETURNING *
)
SELECT {workflow_row}, {@claimed_has_operations}
FROM claimed

-- name: take_over_workflows
-- Rows whose owner holds no unexpired lease (a missing lease, or no owner, counts as
-- expired), oldest first; locked as recover_pending locks them, so two processes taking over
-- at once never take one row.
WITH claimed AS (
    UPDATE {schema}.workflow_status
    SET {@count_recovery_attempt},
        owner_instance = CASE WHEN {@recovered_to_queue} THEN NULL ELSE %(instance_id)s END,
        executor_id = CASE WHEN {@recovered_to_queue} THEN NULL ELSE %(executor_id)s END,
        updated_at = %(now_ms)s
    WHERE workflow_id IN (
        SELECT w.workflow_id FROM {schema}.workflow_status AS w
        WHERE w.status = 'PENDING' AND w.application_version = %(application_version)s
          AND w.owner_instance IS DISTINCT FROM %(instance_id)s
          AND {@owner_lease_expired}
        ORDER BY w.created_at
        LIMIT %(limit)s
        FOR NO KEY UPDATE SKIP LOCKED
    )
    RETURNING *
)
SELECT {workflow_row}, {@claimed_has_operations}
FROM claimed

-- name: renew_lease
-- The heartbeat: one small upsert, by this server's clock. Leases that expired a day ago go
-- (a missing lease counts as expired), so the table holds about one row per live process.
WITH now AS (
    SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms
), gone AS (
    DELETE FROM {schema}.process_leases
    WHERE expires_at < (SELECT ms FROM now) - 86400000 AND instance_id <> %(instance_id)s
)
INSERT INTO {schema}.process_leases (
    instance_id, executor_id, application_version, host, pid, renewed_at, expires_at,
    listened_queues
)
SELECT %(instance_id)s, %(executor_id)s, %(application_version)s, %(host)s, %(pid)s, ms,
       ms + %(duration_ms)s, %(listened_queues)s
FROM now
ON CONFLICT (instance_id) DO UPDATE
SET renewed_at = excluded.renewed_at, expires_at = excluded.expires_at,
    listened_queues = excluded.listened_queues

-- name: release_lease
DELETE FROM {schema}.process_leases WHERE instance_id = %(instance_id)s

-- name: list_leases
SELECT instance_id, executor_id, application_version, host, pid, expires_at,
       expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint, listened_queues
FROM {schema}.process_leases
WHERE %(host)s::text IS NULL OR host = %(host)s
ORDER BY instance_id

-- name: create_schema
CREATE SCHEMA IF NOT EXISTS {schema}

-- name: create_ledger
CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)

-- name: select_ledger
SELECT version, name, checksum FROM {schema}.schema_migrations ORDER BY version

-- name: ledger_exists
SELECT to_regclass(%(ledger)s) IS NOT NULL

-- name: record_migration
INSERT INTO {schema}.schema_migrations (version, name, checksum)
VALUES (%(version)s, %(name)s, %(checksum)s)

-- name: lock_migrations
SELECT pg_advisory_lock(%(key)s)

-- name: set_lock_timeout
-- How long a lock wait may last (milliseconds) before it fails with lock_not_available.
SELECT set_config('lock_timeout', %(milliseconds)s, false)

-- name: reset_lock_timeout
RESET lock_timeout

-- name: migration_lock_holders
-- Who holds the migration lock: a bigint advisory key shows in pg_locks as two oids, the high
-- half in classid and the low half in objid, with objsubid 1.
SELECT l.pid, a.application_name, host(a.client_addr), a.state,
       extract(epoch FROM now() - a.backend_start)::float8,
       extract(epoch FROM now() - a.state_change)::float8
FROM pg_locks AS l
LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %(high)s::bigint::oid AND l.objid = %(low)s::bigint::oid AND l.objsubid = 1
ORDER BY l.pid

-- name: unlock_migrations
SELECT pg_advisory_unlock(%(key)s)

-- name: database_exists
SELECT 1 FROM pg_database WHERE datname = %(name)s

-- name: lock_queue
-- Serializes claimers of one queue with global limits; a claimer that finds the lock taken
-- skips this round. It must be its own statement: under READ COMMITTED a statement's snapshot
-- is taken when it starts, so counts read in the statement that waited for the lock could
-- miss the claims the previous holder committed in the meantime.
SELECT pg_try_advisory_xact_lock(%(lock_key)s)

-- name: queue_counts
SELECT (SELECT count(*) FROM {schema}.workflow_status
        WHERE queue_name = %(queue_name)s AND status = 'PENDING'),
       (SELECT count(*) FROM {schema}.workflow_status
        WHERE queue_name = %(queue_name)s AND started_at >= %(since_ms)s)

-- name: claim_queued
-- Returned in claim order (UPDATE ... RETURNING alone does not keep it): priority, then age,
-- then enqueue order for tasks created in the same millisecond.
WITH claimed AS (
    UPDATE {schema}.workflow_status
    SET status = 'PENDING', executor_id = %(executor_id)s,
        application_version = %(application_version)s, owner_instance = %(instance_id)s,
        started_at = %(now_ms)s, updated_at = %(now_ms)s
    WHERE workflow_id IN (
        SELECT workflow_id FROM {schema}.workflow_status
        WHERE queue_name = %(queue_name)s AND status = 'ENQUEUED'
          AND (delay_until IS NULL OR delay_until <= %(now_ms)s)
          AND (application_version = %(application_version)s
               OR (application_version IS NULL AND %(takes_unversioned)s))
          AND name = ANY(%(workflow_names)s)
        ORDER BY priority, created_at, enqueue_seq
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    RETURNING *
)
SELECT {workflow_row}, {@claimed_has_operations}
FROM claimed ORDER BY priority, created_at, enqueue_seq

-- name: cancel_workflow
WITH cancelled AS (
    UPDATE {schema}.workflow_status
    SET status = 'CANCELLED', updated_at = %(now_ms)s
    WHERE workflow_id = %(workflow_id)s AND status IN ('ENQUEUED', 'PENDING')
    RETURNING status
)
SELECT status FROM cancelled
UNION ALL
SELECT status FROM {schema}.workflow_status
WHERE workflow_id = %(workflow_id)s AND NOT EXISTS (SELECT 1 FROM cancelled)

-- name: resume_workflow
UPDATE {schema}.workflow_status
SET status = 'PENDING', executor_id = %(executor_id)s, owner_instance = %(instance_id)s,
    application_version = %(application_version)s, recovery_attempts = 1,
    output = NULL, error = NULL, updated_at = %(now_ms)s,
    started_at = coalesce(started_at, %(now_ms)s)
WHERE workflow_id = %(workflow_id)s
  AND status IN ('CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED', 'ENQUEUED')
RETURNING {workflow_row}

-- name: cancel_expired
UPDATE {schema}.workflow_status
SET status = 'CANCELLED', updated_at = %(now_ms)s
WHERE deadline_at IS NOT NULL AND deadline_at <= %(now_ms)s
  AND status IN ('ENQUEUED', 'PENDING')
RETURNING workflow_id

-- name: partition_loads
-- Each partition of a partitioned queue with a task that could start now: how many, how many
-- run (all processes), how many started within the partition rate-limit period, its latest
-- start, and how many of its tasks the claiming process runs (partition_worker_concurrency).
SELECT q.queue_partition_key, q.queued,
       (SELECT count(*) FROM {schema}.workflow_status r
        WHERE r.queue_name = %(queue_name)s AND r.queue_partition_key = q.queue_partition_key
          AND r.status = 'PENDING'),
       (SELECT count(*) FROM {schema}.workflow_status r
        WHERE r.queue_name = %(queue_name)s AND r.queue_partition_key = q.queue_partition_key
          AND r.started_at >= %(partition_since_ms)s),
       (SELECT max(r.started_at) FROM {schema}.workflow_status r
        WHERE r.queue_name = %(queue_name)s AND r.queue_partition_key = q.queue_partition_key
          AND r.started_at IS NOT NULL),
       (SELECT count(*) FROM {schema}.workflow_status r
        WHERE r.queue_name = %(queue_name)s AND r.queue_partition_key = q.queue_partition_key
          AND r.status = 'PENDING'
          AND (r.owner_instance = %(instance_id)s
               OR (%(instance_id)s::text IS NULL AND r.executor_id = %(executor_id)s)))
FROM (
    SELECT queue_partition_key, count(*) AS queued FROM {schema}.workflow_status
    WHERE queue_name = %(queue_name)s AND status = 'ENQUEUED'
      AND queue_partition_key IS NOT NULL
      AND (delay_until IS NULL OR delay_until <= %(now_ms)s)
      AND (application_version = %(application_version)s
               OR (application_version IS NULL AND %(takes_unversioned)s))
      AND name = ANY(%(workflow_names)s)
    GROUP BY queue_partition_key
) q

-- name: claim_partitions
-- Claims up to n tasks of each listed partition; returned in claim order.
WITH quota AS (
    SELECT * FROM unnest(%(partition_keys)s::text[], %(partition_counts)s::int[])
        AS quota(partition_key, n)
), picked AS (
    SELECT candidate.workflow_id FROM quota CROSS JOIN LATERAL (
        SELECT workflow_id FROM {schema}.workflow_status
        WHERE queue_name = %(queue_name)s AND queue_partition_key = quota.partition_key
          AND status = 'ENQUEUED'
          AND (delay_until IS NULL OR delay_until <= %(now_ms)s)
          AND (application_version = %(application_version)s
               OR (application_version IS NULL AND %(takes_unversioned)s))
          AND name = ANY(%(workflow_names)s)
        ORDER BY priority, created_at, enqueue_seq
        LIMIT quota.n
        FOR UPDATE SKIP LOCKED
    ) candidate
), claimed AS (
    UPDATE {schema}.workflow_status
    SET status = 'PENDING', executor_id = %(executor_id)s,
        application_version = %(application_version)s, owner_instance = %(instance_id)s,
        started_at = %(now_ms)s, updated_at = %(now_ms)s
    WHERE workflow_id IN (SELECT workflow_id FROM picked)
    RETURNING *
)
SELECT {workflow_row}, {@claimed_has_operations}
FROM claimed ORDER BY priority, created_at, enqueue_seq

-- name: finish_workflows
-- finish_workflow for several workflows in one statement (group commit); one row per input,
-- in input order, with the status stored afterwards (NULL: no such workflow).
WITH batch AS (
    SELECT * FROM unnest(%(workflow_ids)s::text[], %(statuses)s::text[], %(outputs)s::text[],
                         %(errors)s::text[], %(completed_at)s::bigint[], %(owners)s::text[])
        WITH ORDINALITY
        AS batch(workflow_id, status, output, error, completed_at, owner, position)
), updated AS (
    UPDATE {schema}.workflow_status AS w
    SET status = batch.status, output = batch.output, error = batch.error,
        updated_at = batch.completed_at
    FROM batch
    WHERE w.workflow_id = batch.workflow_id AND w.status = 'PENDING'
      AND (batch.owner IS NULL OR w.owner_instance IS NULL OR w.owner_instance = batch.owner)
    RETURNING w.workflow_id, w.status
)
SELECT coalesce(updated.status, before.status)
FROM batch
LEFT JOIN updated ON updated.workflow_id = batch.workflow_id
LEFT JOIN {schema}.workflow_status AS before ON before.workflow_id = batch.workflow_id
ORDER BY batch.position

-- name: finish_and_claim
-- finish_workflows plus a claim on one queue without global limits, in one statement and
-- one commit. One row per claimed task, in claim order, as claim_queued returns them, or one
-- row with NULL workflow columns when nothing was claimed; every row carries
-- finished_statuses, the finished workflows' statuses in input order (NULL: no such
-- workflow). If a workflow of the batch does not exist, nothing is claimed (its caller fails;
-- the others' slots go back to the worker).
WITH batch AS (
    SELECT * FROM unnest(%(workflow_ids)s::text[], %(statuses)s::text[], %(outputs)s::text[],
                         %(errors)s::text[], %(completed_at)s::bigint[], %(owners)s::text[])
        WITH ORDINALITY
        AS batch(workflow_id, status, output, error, completed_at, owner, position)
), updated AS (
    UPDATE {schema}.workflow_status AS w
    SET status = batch.status, output = batch.output, error = batch.error,
        updated_at = batch.completed_at
    FROM batch
    WHERE w.workflow_id = batch.workflow_id AND w.status = 'PENDING'
      AND (batch.owner IS NULL OR w.owner_instance IS NULL OR w.owner_instance = batch.owner)
    RETURNING w.workflow_id, w.status
), claimed AS (
    UPDATE {schema}.workflow_status
    SET status = 'PENDING', executor_id = %(executor_id)s,
        application_version = %(application_version)s, owner_instance = %(instance_id)s,
        started_at = %(now_ms)s, updated_at = %(now_ms)s
    WHERE workflow_id IN (
        SELECT workflow_id FROM {schema}.workflow_status
        WHERE queue_name = %(queue_name)s AND status = 'ENQUEUED'
          AND (delay_until IS NULL OR delay_until <= %(now_ms)s)
          AND (application_version = %(application_version)s
               OR (application_version IS NULL AND %(takes_unversioned)s))
          AND name = ANY(%(workflow_names)s)
          AND (SELECT count(*) FROM batch JOIN {schema}.workflow_status AS known
               ON known.workflow_id = batch.workflow_id) = cardinality(%(workflow_ids)s::text[])
        ORDER BY priority, created_at, enqueue_seq
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    RETURNING *
), finished AS (
    SELECT array_agg(coalesce(updated.status, before.status) ORDER BY batch.position)
        AS finished_statuses
    FROM batch
    LEFT JOIN updated ON updated.workflow_id = batch.workflow_id
    LEFT JOIN {schema}.workflow_status AS before ON before.workflow_id = batch.workflow_id
)
SELECT finished.finished_statuses, {workflow_row}, {@claimed_has_operations}
FROM finished
LEFT JOIN claimed ON true
ORDER BY claimed.priority, claimed.created_at, claimed.enqueue_seq

-- name: send_message
WITH {@store_message}
SELECT NULL

-- name: send_message_step
-- The message and the sender's checkpoint commit together (data-modifying WITH clauses always
-- run). A duplicate checkpoint fails the whole statement, so nothing is sent twice.
WITH {@store_message}
{@checkpoint_with_ack}

-- name: send_messages
-- Many messages in one statement (arrays, in order): each as send_message stores one.
WITH {@store_messages}
SELECT NULL

-- name: send_messages_step
-- send_messages with the sender's checkpoint, as send_message_step.
WITH {@store_messages}
{@checkpoint_with_ack}

-- name: recv_message
-- Consume the oldest message of the topic and record it as the receiver's operation, in one
-- statement: a duplicate checkpoint fails it and the message stays. FOR UPDATE (not SKIP
-- LOCKED): a concurrent receiver of the same workflow waits, then finds the row gone. The
-- message's trace_carrier comes back last (StepRecord.trace_carrier), never recorded. If the
-- operation is recorded already (another execution of the workflow, one whose lease had run
-- out, received first), nothing is consumed and one row of NULLs says so: a receiver waiting
-- for a message that execution took would otherwise wait out its whole timeout.
WITH recorded_before AS (
    SELECT 1 FROM {schema}.operation_outputs
    WHERE workflow_id = %(workflow_id)s AND function_id = %(function_id)s
), consumed AS (
    DELETE FROM {schema}.notifications
    WHERE seq = (
        SELECT seq FROM {schema}.notifications
        WHERE destination_id = %(workflow_id)s AND topic = %(topic)s
          AND NOT EXISTS (SELECT 1 FROM recorded_before)
        ORDER BY seq
        LIMIT 1
        FOR UPDATE
    )
    RETURNING message, trace_carrier
), recorded AS (
    INSERT INTO {schema}.operation_outputs (
        workflow_id, function_id, function_name, output, error, child_workflow_id,
        started_at, completed_at
    )
    SELECT %(workflow_id)s, %(function_id)s, %(function_name)s, message, NULL, NULL,
           COALESCE(%(started_at_ms)s::bigint, %(now_ms)s), %(now_ms)s
    FROM consumed
    RETURNING workflow_id, function_id, function_name, output, error, started_at, completed_at,
              child_workflow_id
)
SELECT recorded.*, consumed.trace_carrier FROM recorded, consumed
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM recorded_before

-- name: set_event
WITH {@store_event}
SELECT NULL

-- name: set_event_step
-- The event (current value and history, under the step's function_id) and the checkpoint.
WITH {@store_event}
{@checkpoint_with_ack}

-- name: get_event
SELECT value FROM {schema}.workflow_events WHERE workflow_id = %(workflow_id)s AND key = %(key)s

-- name: get_all_events
SELECT key, value FROM {schema}.workflow_events WHERE workflow_id = %(workflow_id)s ORDER BY key

-- name: lock_stream
-- Serializes appends to one stream (the key hashes its workflow ID and key) until the end of
-- the transaction. Its own statement: under READ COMMITTED a statement's snapshot is taken
-- when it starts, so a max(stream_offset) read by the statement that waited for the lock
-- could miss the entry the previous holder committed in the meantime.
SELECT pg_advisory_xact_lock(%(lock_key)s)

-- name: write_stream
-- Run after lock_stream, in its transaction. %(function_id)s: the operation that wrote it.
{@append_stream}

-- name: write_stream_step
-- Run after lock_stream, in its transaction; the entry carries the step's function_id.
WITH written AS (
{@append_stream}
)
{@checkpoint_with_ack}

-- name: read_stream
-- The writer's status and the entries in one snapshot; one row (entry columns NULL) when
-- there are no entries.
SELECT w.status, s.stream_offset, s.value
FROM (SELECT %(workflow_id)s::text AS workflow_id) AS q
LEFT JOIN {schema}.workflow_status AS w ON w.workflow_id = q.workflow_id
LEFT JOIN {schema}.streams AS s
    ON s.workflow_id = q.workflow_id AND s.key = %(key)s AND s.stream_offset >= %(from_offset)s
ORDER BY s.stream_offset

-- Management: bulk cancel and requeue, fork, delete, retention, reset. Lists of IDs arrive
-- as one array parameter (workflow_ids).

-- name: cancel_workflows
WITH cancelled AS (
    UPDATE {schema}.workflow_status
    SET status = 'CANCELLED', updated_at = %(now_ms)s
    WHERE workflow_id = ANY(%(workflow_ids)s) AND status IN ('ENQUEUED', 'PENDING')
    RETURNING workflow_id, status
)
SELECT workflow_id, status FROM cancelled
UNION ALL
SELECT workflow_id, status FROM {schema}.workflow_status
WHERE workflow_id = ANY(%(workflow_ids)s)
  AND workflow_id NOT IN (SELECT workflow_id FROM cancelled)

-- name: requeue_workflows
-- An ENQUEUED row has no owner until a claim gives it one (a rewind relies on it: see
-- lock_workflow_for_rewind).
UPDATE {schema}.workflow_status
SET status = 'ENQUEUED', queue_name = %(queue_name)s, executor_id = NULL, output = NULL,
    owner_instance = NULL,
    error = NULL, deduplication_id = NULL, recovery_attempts = 1, delay_until = NULL,
    deadline_at = NULL, updated_at = %(now_ms)s
WHERE workflow_id = ANY(%(workflow_ids)s)
  AND status IN ('CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
RETURNING workflow_id

-- name: move_workflows
-- ENQUEUED rows keep their queue; PENDING ones (only those whose owner holds no unexpired
-- lease) go back to their own queue, unstarted, as a recovery puts them back (its limits
-- count them again when they are claimed, and their deduplication ID still holds), or, not
-- being a queue's, wait on the given queue, as a requeue does. Locked as takeovers lock them,
-- so a row a claim or takeover is taking is passed over rather than moved under it.
UPDATE {schema}.workflow_status
SET application_version = %(application_version)s,
    queue_name = coalesce(queue_name, %(queue_name)s),
    started_at = CASE WHEN status = 'PENDING' AND queue_name IS NOT NULL THEN NULL
                      ELSE started_at END,
    status = 'ENQUEUED', executor_id = NULL, owner_instance = NULL, updated_at = %(now_ms)s
WHERE workflow_id IN (
    SELECT w.workflow_id FROM {schema}.workflow_status AS w
    WHERE w.workflow_id = ANY(%(workflow_ids)s)
      AND (w.status = 'ENQUEUED'
           OR (w.status = 'PENDING' AND {@owner_lease_expired}))
    FOR NO KEY UPDATE SKIP LOCKED
)
RETURNING workflow_id

-- name: lock_workflow_for_fork
-- FOR SHARE: the original cannot be deleted while it is being copied.
SELECT name, (SELECT max(function_id) FROM {schema}.operation_outputs
              WHERE workflow_id = %(workflow_id)s)
FROM {schema}.workflow_status
WHERE workflow_id = %(workflow_id)s
FOR SHARE

-- name: insert_fork
-- The partition key, timeout and deadline are the fork's own (DBOS 3.4): none unless given.
INSERT INTO {schema}.workflow_status (
    workflow_id, status, name, inputs, executor_id, application_version,
    recovery_attempts, max_recovery_attempts, created_at, updated_at, queue_name, priority,
    queue_partition_key, class_name, config_name, forked_from,
    attributes, serialization, authenticated_user, authenticated_roles, assumed_role,
    first_function_id, application_name, workflow_timeout_ms, deadline_at
)
SELECT %(forked_workflow_id)s, 'ENQUEUED', name, inputs, NULL,
       coalesce(%(application_version)s, application_version), 1, max_recovery_attempts,
       %(now_ms)s, %(now_ms)s, %(queue_name)s, 0, %(queue_partition_key)s, class_name, config_name,
       workflow_id, attributes, serialization, authenticated_user, authenticated_roles,
       assumed_role, first_function_id, application_name, %(timeout_ms)s, %(deadline_ms)s
FROM {schema}.workflow_status
WHERE workflow_id = %(workflow_id)s
ON CONFLICT (workflow_id) DO NOTHING
RETURNING {workflow_row}

-- name: mark_forked_from
-- The original of a fork (DBOS 3.4's was_forked_from), in the fork's transaction.
UPDATE {schema}.workflow_status SET was_forked_from = true
WHERE workflow_id = %(workflow_id)s AND NOT was_forked_from

-- name: copy_steps
-- %(replacement_children)s: a JSON object of old child ID -> new child ID (DBOS 3.4's
-- replacement_children); a copied operation naming an old child names the new one.
INSERT INTO {schema}.operation_outputs (
    workflow_id, function_id, function_name, output, error, child_workflow_id,
    started_at, completed_at
)
SELECT %(forked_workflow_id)s, o.function_id, o.function_name, o.output, o.error,
       coalesce(r.value, o.child_workflow_id), o.started_at, o.completed_at
FROM {schema}.operation_outputs AS o
LEFT JOIN jsonb_each_text(%(replacement_children)s::jsonb) AS r ON r.key = o.child_workflow_id
WHERE o.workflow_id = %(workflow_id)s AND o.function_id < %(start_step)s

-- name: copy_streams
-- The original's stream entries as they stood after the copied operations: those written by
-- an operation below start_step. Entries without a function_id (written before migration
-- 0007, or without an operation) are copied only when every recorded operation is
-- (%(copy_all)s): then all of them precede the fork point, otherwise which operation wrote
-- them is unknown. Offsets are renumbered from 0, so the fork's streams have no gaps.
INSERT INTO {schema}.streams (workflow_id, key, stream_offset, value, created_at, function_id)
SELECT %(forked_workflow_id)s, key,
       (row_number() OVER (PARTITION BY key ORDER BY stream_offset) - 1)::integer,
       value, created_at, function_id
FROM {schema}.streams
WHERE workflow_id = %(workflow_id)s
  AND (function_id < %(start_step)s OR (function_id IS NULL AND %(copy_all)s))

-- name: copy_event_history
INSERT INTO {schema}.workflow_events_history (workflow_id, function_id, key, value, updated_at)
SELECT %(forked_workflow_id)s, function_id, key, value, updated_at
FROM {schema}.workflow_events_history
WHERE workflow_id = %(workflow_id)s AND function_id < %(start_step)s

-- name: copy_events
-- Each event's value as it stood after the copied operations: the one set by the latest of
-- them. When every operation is copied, the current values (which include events set before
-- migration 0007, which have no history).
INSERT INTO {schema}.workflow_events (workflow_id, key, value, updated_at)
SELECT %(forked_workflow_id)s::text, key, value, updated_at
FROM {schema}.workflow_events
WHERE workflow_id = %(workflow_id)s AND %(copy_all)s
UNION ALL
SELECT * FROM (
    SELECT DISTINCT ON (key) %(forked_workflow_id)s::text, key, value, updated_at
    FROM {schema}.workflow_events_history
    WHERE workflow_id = %(workflow_id)s AND function_id < %(start_step)s
      AND NOT %(copy_all)s
    ORDER BY key, function_id DESC
) AS latest

-- name: delete_workflows
-- Steps (and rows of later tables that reference a workflow) go with it: ON DELETE CASCADE.
DELETE FROM {schema}.workflow_status
WHERE workflow_id = ANY(%(workflow_ids)s)
RETURNING workflow_id

-- name: delete_older_than
-- One batch of retention, in its own transaction (see PostgresStorage.delete_older_than):
-- the oldest `batch` finished workflows created in [after_ms, cutoff_ms), found through the
-- created_at index. The caller moves after_ms to the batch's newest created_at, so no batch
-- walks again over the index entries of rows an earlier batch deleted (they stay in the
-- index until vacuum, for as long as any snapshot could still see them). The rows are
-- deleted by primary key; the status test is repeated on the delete so that a workflow
-- resumed between the select and the delete is kept. Answers: rows selected, the newest
-- selected created_at, rows deleted.
WITH doomed AS (
    SELECT workflow_id, created_at FROM {schema}.workflow_status
    WHERE created_at >= %(after_ms)s AND created_at < %(cutoff_ms)s
      AND status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
    ORDER BY created_at
    LIMIT %(batch)s
), gone AS (
    DELETE FROM {schema}.workflow_status
    WHERE workflow_id = ANY(ARRAY(SELECT workflow_id FROM doomed))
      AND status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
    RETURNING 1
)
SELECT (SELECT count(*) FROM doomed), (SELECT max(created_at) FROM doomed),
       (SELECT count(*) FROM gone)

-- name: drop_schema
DROP SCHEMA IF EXISTS {schema} CASCADE

-- name: register_application_version
INSERT INTO {schema}.application_versions (
    version_id, version_name, version_timestamp, created_at, application_name
) VALUES (
    %(version_id)s, %(version_name)s, %(version_timestamp_ms)s, %(created_at_ms)s,
    %(application_name)s
)
ON CONFLICT (version_name) DO NOTHING

-- name: list_application_versions
SELECT version_id, version_name, version_timestamp AS version_timestamp_ms,
    created_at AS created_at_ms, application_name
FROM {schema}.application_versions
ORDER BY version_timestamp DESC, created_at DESC, version_name

-- name: set_latest_application_version
-- One statement: the subquery reads the greatest timestamp in the statement's snapshot.
UPDATE {schema}.application_versions
SET version_timestamp = GREATEST(
    %(now_ms)s::bigint,
    (SELECT max(version_timestamp) + 1 FROM {schema}.application_versions)
)
WHERE version_name = %(version_name)s
RETURNING version_id, version_name, version_timestamp AS version_timestamp_ms,
    created_at AS created_at_ms, application_name

-- name: set_local_statement_timeout
-- Bounds the listing that follows in the same transaction (observability_query_timeout_sec).
SELECT set_config('statement_timeout', %(timeout)s, true)

-- Moving workflows in time: rewind and set_workflow_delay (see _timeops.py).

-- name: lock_workflow_for_rewind
-- FOR UPDATE: claims, recoveries, resumes and cancels of the row wait for the rewind, which
-- then sees (and they see) one consistent status. The second column: whether an execution
-- may still be running it. A cancelled execution stops at its next step boundary and then
-- gives up its ownership (release_cancelled); until then a CANCELLED row keeps an owner, and
-- while that owner's lease holds, its execution may be inside a step.
SELECT w.status,
       w.status = 'CANCELLED' AND w.owner_instance IS NOT NULL AND EXISTS (
           SELECT 1 FROM {schema}.process_leases AS l
           WHERE l.instance_id = w.owner_instance
             AND l.expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
FROM {schema}.workflow_status AS w
WHERE w.workflow_id = %(workflow_id)s
FOR UPDATE OF w

-- name: release_cancelled
UPDATE {schema}.workflow_status
SET owner_instance = NULL
WHERE workflow_id = %(workflow_id)s AND status = 'CANCELLED'
  AND owner_instance = %(instance_id)s

-- name: rewind_drop_events
-- Event keys set from start_step on lose their current value (restored next, from the history
-- that is still whole).
DELETE FROM {schema}.workflow_events
WHERE workflow_id = %(workflow_id)s AND key IN (
    SELECT key FROM {schema}.workflow_events_history
    WHERE workflow_id = %(workflow_id)s AND function_id >= %(start_step)s
)

-- name: rewind_restore_events
-- ...and get back the value the latest earlier operation set, if any.
INSERT INTO {schema}.workflow_events (workflow_id, key, value, updated_at)
SELECT DISTINCT ON (key) %(workflow_id)s::text, key, value, updated_at
FROM {schema}.workflow_events_history
WHERE workflow_id = %(workflow_id)s AND function_id < %(start_step)s
  AND key IN (
    SELECT key FROM {schema}.workflow_events_history
    WHERE workflow_id = %(workflow_id)s AND function_id >= %(start_step)s
  )
ORDER BY key, function_id DESC

-- name: rewind_event_history
DELETE FROM {schema}.workflow_events_history
WHERE workflow_id = %(workflow_id)s AND function_id >= %(start_step)s

-- name: rewind_stream_closes
-- Close markers (NULL values) from the cut on, or written by no known operation: left, they
-- would end every reader before the new run's entries.
DELETE FROM {schema}.streams
WHERE workflow_id = %(workflow_id)s AND value IS NULL
  AND (function_id >= %(start_step)s OR function_id IS NULL)

-- name: rewind_steps
DELETE FROM {schema}.operation_outputs
WHERE workflow_id = %(workflow_id)s AND function_id >= %(start_step)s

-- name: rewind_messages
DELETE FROM {schema}.notifications WHERE destination_id = %(workflow_id)s

-- name: rewind_status
UPDATE {schema}.workflow_status
SET status = 'ENQUEUED', queue_name = %(queue_name)s,
    queue_partition_key = %(queue_partition_key)s,
    application_version = coalesce(%(application_version)s, application_version),
    executor_id = NULL, owner_instance = NULL, output = NULL, error = NULL,
    deduplication_id = NULL, recovery_attempts = 1, delay_until = NULL, deadline_at = NULL,
    started_at = NULL, completed_at = NULL, updated_at = %(now_ms)s
WHERE workflow_id = %(workflow_id)s

-- name: set_workflow_delay
UPDATE {schema}.workflow_status
SET delay_until = %(delay_until_ms)s, updated_at = %(now_ms)s
WHERE workflow_id = %(workflow_id)s AND status = 'ENQUEUED'
  AND delay_until IS NOT NULL AND delay_until > %(now_ms)s

-- name: store_queue
-- Insert, or overwrite the settings of the queue of that name when asked to (its creation
-- time and ID stay). xmax = 0 only on a row this statement inserted.
INSERT INTO {schema}.queues AS q (
    name, concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec,
    priority_enabled, partition_queue, polling_interval_sec, created_at, updated_at,
    application_name, partition_concurrency, partition_worker_concurrency,
    partition_rate_limit_max, partition_rate_limit_period_sec
) VALUES (
    %(name)s, %(concurrency)s, %(worker_concurrency)s, %(rate_limit_max)s,
    %(rate_limit_period_sec)s, %(priority_enabled)s, %(partition_queue)s,
    %(polling_interval_sec)s, %(now_ms)s, %(now_ms)s, %(application_name)s,
    %(partition_concurrency)s, %(partition_worker_concurrency)s,
    %(partition_rate_limit_max)s, %(partition_rate_limit_period_sec)s
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
WHERE %(replace)s
RETURNING xmax = 0

-- name: get_queue
SELECT name, concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec,
    priority_enabled, partition_queue, polling_interval_sec, partition_concurrency,
    partition_worker_concurrency, partition_rate_limit_max, partition_rate_limit_period_sec,
    application_name, created_at AS created_at_ms, updated_at AS updated_at_ms FROM {schema}.queues WHERE name = %(name)s

-- name: list_queues
SELECT name, concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec,
    priority_enabled, partition_queue, polling_interval_sec, partition_concurrency,
    partition_worker_concurrency, partition_rate_limit_max, partition_rate_limit_period_sec,
    application_name, created_at AS created_at_ms, updated_at AS updated_at_ms FROM {schema}.queues ORDER BY name

-- name: update_queue
-- Each setting changes only when its flag is set: one statement, so concurrent changes of
-- different settings are all kept (unless `conditional`: see the WHERE clause).
UPDATE {schema}.queues SET
    concurrency = CASE WHEN %(set_concurrency)s THEN %(concurrency)s ELSE concurrency END,
    worker_concurrency = CASE WHEN %(set_worker_concurrency)s
        THEN %(worker_concurrency)s ELSE worker_concurrency END,
    rate_limit_max = CASE WHEN %(set_rate_limit_max)s
        THEN %(rate_limit_max)s ELSE rate_limit_max END,
    rate_limit_period_sec = CASE WHEN %(set_rate_limit_period_sec)s
        THEN %(rate_limit_period_sec)s::double precision ELSE rate_limit_period_sec END,
    polling_interval_sec = CASE WHEN %(set_polling_interval_sec)s
        THEN %(polling_interval_sec)s::double precision ELSE polling_interval_sec END,
    partition_concurrency = CASE WHEN %(set_partition_concurrency)s
        THEN %(partition_concurrency)s ELSE partition_concurrency END,
    partition_worker_concurrency = CASE WHEN %(set_partition_worker_concurrency)s
        THEN %(partition_worker_concurrency)s ELSE partition_worker_concurrency END,
    partition_rate_limit_max = CASE WHEN %(set_partition_rate_limit_max)s
        THEN %(partition_rate_limit_max)s ELSE partition_rate_limit_max END,
    partition_rate_limit_period_sec = CASE WHEN %(set_partition_rate_limit_period_sec)s
        THEN %(partition_rate_limit_period_sec)s::double precision
        ELSE partition_rate_limit_period_sec END,
    -- A queue given a partition limit is partitioned (DBOS Transact 3.4's rule); one that
    -- was stays so, as its tasks carry partition keys.
    partition_queue = partition_queue OR (
        CASE WHEN %(set_partition_concurrency)s
            THEN %(partition_concurrency)s ELSE partition_concurrency END IS NOT NULL
        OR CASE WHEN %(set_partition_worker_concurrency)s
            THEN %(partition_worker_concurrency)s ELSE partition_worker_concurrency END
            IS NOT NULL
        OR CASE WHEN %(set_partition_rate_limit_max)s
            THEN %(partition_rate_limit_max)s ELSE partition_rate_limit_max END IS NOT NULL),
    updated_at = %(now_ms)s
WHERE name = %(name)s
    -- A compare-and-set: only if the settings are still those the caller checked against.
    AND (NOT %(conditional)s OR (
        concurrency IS NOT DISTINCT FROM %(expected_concurrency)s
        AND worker_concurrency IS NOT DISTINCT FROM %(expected_worker_concurrency)s
        AND rate_limit_max IS NOT DISTINCT FROM %(expected_rate_limit_max)s
        AND rate_limit_period_sec IS NOT DISTINCT FROM %(expected_rate_limit_period_sec)s::double precision
        AND polling_interval_sec IS NOT DISTINCT FROM %(expected_polling_interval_sec)s::double precision
        AND partition_concurrency IS NOT DISTINCT FROM %(expected_partition_concurrency)s
        AND partition_worker_concurrency IS NOT DISTINCT FROM %(expected_partition_worker_concurrency)s
        AND partition_rate_limit_max IS NOT DISTINCT FROM %(expected_partition_rate_limit_max)s
        AND partition_rate_limit_period_sec IS NOT DISTINCT FROM %(expected_partition_rate_limit_period_sec)s::double precision))
RETURNING name, concurrency, worker_concurrency, rate_limit_max, rate_limit_period_sec,
    priority_enabled, partition_queue, polling_interval_sec, partition_concurrency,
    partition_worker_concurrency, partition_rate_limit_max, partition_rate_limit_period_sec,
    application_name, created_at AS created_at_ms, updated_at AS updated_at_ms

-- name: delete_queue
DELETE FROM {schema}.queues WHERE name = %(name)s RETURNING name

-- name: queue_depths
SELECT queue_name,
       count(*) FILTER (WHERE status = 'ENQUEUED'),
       count(*) FILTER (WHERE status = 'PENDING')
FROM {schema}.workflow_status
WHERE queue_name IS NOT NULL AND status IN ('ENQUEUED', 'PENDING')
GROUP BY queue_name
ORDER BY queue_name
-- Stored schedules (see _schedules.py).

-- name: insert_schedule
INSERT INTO {schema}.workflow_schedules (
    schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status, context,
    last_fired_at, automatic_backfill, cron_timezone, queue_name, application_name, missed_ticks
) VALUES (
    %(schedule_id)s, %(schedule_name)s, %(workflow_name)s, %(workflow_class_name)s,
    %(schedule)s, %(status)s, %(context)s, %(last_fired_at)s, %(automatic_backfill)s,
    %(cron_timezone)s, %(queue_name)s, %(application_name)s, %(missed_ticks)s
)
ON CONFLICT (schedule_name) DO NOTHING

-- name: upsert_schedule
-- A replaced schedule keeps its ID, status and last tick: an apply at every launch must not
-- resume a paused schedule or forget when it last fired.
INSERT INTO {schema}.workflow_schedules (
    schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status, context,
    last_fired_at, automatic_backfill, cron_timezone, queue_name, application_name, missed_ticks
) VALUES (
    %(schedule_id)s, %(schedule_name)s, %(workflow_name)s, %(workflow_class_name)s,
    %(schedule)s, %(status)s, %(context)s, %(last_fired_at)s, %(automatic_backfill)s,
    %(cron_timezone)s, %(queue_name)s, %(application_name)s, %(missed_ticks)s
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
-- A NULL array means "any"; unclaimed schedules (no application) belong to every application.
SELECT schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status,
       context, last_fired_at, automatic_backfill, cron_timezone, queue_name,
       application_name, missed_ticks
FROM {schema}.workflow_schedules
WHERE (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s::text[]))
  AND (%(workflow_names)s::text[] IS NULL OR workflow_name = ANY(%(workflow_names)s::text[]))
  AND (%(prefixes)s::text[] IS NULL OR EXISTS (
      SELECT 1 FROM unnest(%(prefixes)s::text[]) AS p(prefix)
      WHERE starts_with(schedule_name, p.prefix)))
  AND (%(applications)s::text[] IS NULL OR application_name IS NULL
       OR application_name = ANY(%(applications)s::text[]))
ORDER BY schedule_name

-- name: get_schedule
SELECT schedule_id, schedule_name, workflow_name, workflow_class_name, schedule, status,
       context, last_fired_at, automatic_backfill, cron_timezone, queue_name,
       application_name, missed_ticks
FROM {schema}.workflow_schedules
WHERE schedule_name = %(schedule_name)s

-- name: set_schedule_status
UPDATE {schema}.workflow_schedules SET status = %(status)s
WHERE schedule_name = %(schedule_name)s
RETURNING schedule_name

-- name: delete_schedule
DELETE FROM {schema}.workflow_schedules WHERE schedule_name = %(schedule_name)s
RETURNING schedule_name

-- name: hold_active_schedule
-- A scheduler's tick (in the transaction of its insert): the schedule it was planned from,
-- still stored under that ID and ACTIVE. FOR SHARE holds a pause or delete back until the
-- insert commits; one that commits first is seen by the lock's re-check of the row.
SELECT 1 FROM {schema}.workflow_schedules
WHERE schedule_name = %(schedule_name)s AND schedule_id = %(schedule_id)s AND status = 'ACTIVE'
FOR SHARE

-- name: record_schedule_fired
-- ISO 8601 times of one zone compare as text only by accident: compare them as instants.
UPDATE {schema}.workflow_schedules SET last_fired_at = %(fired_at)s::text
WHERE schedule_name = %(schedule_name)s
  AND (last_fired_at IS NULL OR last_fired_at::timestamptz < %(fired_at)s::text::timestamptz)

-- name: grant_system_schema
-- DBOS.migrate's application_role (DBOS Transact 3.4's grants): the role may use the schema's
-- tables, sequences and functions, and those later migrations create. A role cannot be a
-- parameter: {{role}} is bound as an identifier when the statements run.
GRANT USAGE ON SCHEMA {schema} TO {{role}};
GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA {schema} TO {{role}};
GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA {schema} TO {{role}};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {{role}};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON TABLES TO {{role}};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON SEQUENCES TO {{role}};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT EXECUTE ON FUNCTIONS TO {{role}};
