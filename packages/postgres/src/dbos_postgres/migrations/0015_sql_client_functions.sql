-- SQL as a client (issue 13, item 8): functions in the system schema that enqueue a workflow
-- and send a message from plain SQL, with DBOS Transact 3.4's names, parameters and results,
-- so that any language, a trigger or psql can start durable work in the same transaction as
-- its own writes (both commit, or neither). Inputs and messages written this way are portable
-- JSON: the row's serialization marker is 'portable_json'.
--
-- Safe on a database with rows: two new functions, no table change. Each runs with the
-- caller's rights and a fixed search_path, so a caller's own objects cannot stand in for
-- the ones named here. Parameter names are 3.4's, which are also column names: inside the
-- statements, a bare name means the column (#variable_conflict use_column).

-- Enqueue the workflow registered as workflow_name on queue_name, with its positional
-- arguments (one JSON value each) and named arguments (a JSON object). Returns the workflow
-- ID: the one given, or a new UUID. An ID already in use returns that ID and changes nothing
-- (DBOS semantics). A task whose deduplication_id is already active on the queue raises
-- 'DBOS queue duplicated' (SQLSTATE 23505). Bad arguments raise SQLSTATE 22023 with a message
-- naming the problem.
CREATE FUNCTION {schema}.enqueue_workflow(
    workflow_name TEXT,
    queue_name TEXT,
    positional_args JSON[] DEFAULT ARRAY[]::JSON[],
    named_args JSON DEFAULT '{{}}'::JSON,
    class_name TEXT DEFAULT NULL,
    config_name TEXT DEFAULT NULL,
    workflow_id TEXT DEFAULT NULL,
    app_version TEXT DEFAULT NULL,
    timeout_ms BIGINT DEFAULT NULL,
    deadline_epoch_ms BIGINT DEFAULT NULL,
    deduplication_id TEXT DEFAULT NULL,
    priority INT4 DEFAULT NULL,
    queue_partition_key TEXT DEFAULT NULL,
    authenticated_user TEXT DEFAULT NULL,
    authenticated_roles TEXT DEFAULT NULL,
    delay_until_epoch_ms BIGINT DEFAULT NULL,
    application_name TEXT DEFAULT NULL
) RETURNS TEXT
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_id TEXT := workflow_id;
    v_now BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
    v_inputs TEXT;
BEGIN
    IF workflow_name IS NULL OR workflow_name = '' THEN
        RAISE EXCEPTION 'enqueue_workflow: workflow_name must be a registered workflow name, not null or empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF queue_name IS NULL OR queue_name = '' THEN
        RAISE EXCEPTION 'enqueue_workflow: queue_name must name a queue, not null or empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF named_args IS NOT NULL AND json_typeof(named_args) <> 'object' THEN
        RAISE EXCEPTION 'enqueue_workflow: named_args must be a JSON object, got a JSON %',
            json_typeof(named_args)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_id IS NOT NULL AND v_id = '' THEN
        RAISE EXCEPTION 'enqueue_workflow: workflow_id must not be an empty string (pass NULL for a new UUID)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF priority IS NOT NULL AND priority < 0 THEN
        RAISE EXCEPTION 'enqueue_workflow: priority must be >= 0, got %', priority
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF timeout_ms IS NOT NULL AND timeout_ms < 0 THEN
        RAISE EXCEPTION 'enqueue_workflow: timeout_ms must be >= 0, got %', timeout_ms
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF delay_until_epoch_ms IS NOT NULL AND delay_until_epoch_ms < 0 THEN
        RAISE EXCEPTION 'enqueue_workflow: delay_until_epoch_ms must be >= 0, got %',
            delay_until_epoch_ms
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF config_name IS NOT NULL AND class_name IS NULL THEN
        RAISE EXCEPTION 'enqueue_workflow: config_name needs class_name too (an instance is found by its class and config name)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- This library stores no authentication or application name yet: refuse rather than
    -- drop them silently.
    IF authenticated_user IS NOT NULL OR authenticated_roles IS NOT NULL
            OR application_name IS NOT NULL THEN
        RAISE EXCEPTION 'enqueue_workflow: authenticated_user, authenticated_roles and application_name are not supported by this library; pass NULL'
            USING ERRCODE = 'feature_not_supported';
    END IF;

    v_id := coalesce(v_id, gen_random_uuid()::TEXT);
    v_inputs := json_build_object(
        'positionalArgs', coalesce(to_json(positional_args), '[]'::JSON),
        'namedArgs', coalesce(named_args, '{{}}'::JSON)
    )::TEXT;

    BEGIN
        INSERT INTO {schema}.workflow_status (
            workflow_id, status, name, inputs, executor_id, application_version,
            recovery_attempts, max_recovery_attempts, created_at, updated_at,
            queue_name, priority, deduplication_id, queue_partition_key, delay_until,
            deadline_at, class_name, config_name, serialization
        ) VALUES (
            v_id, 'ENQUEUED', workflow_name, v_inputs, NULL, app_version,
            1, 100, v_now, v_now,
            queue_name, coalesce(priority, 0), deduplication_id, queue_partition_key,
            delay_until_epoch_ms,
            coalesce(deadline_epoch_ms, v_now + timeout_ms), class_name, config_name,
            'portable_json'
        )
        ON CONFLICT (workflow_id) DO NOTHING;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'DBOS queue duplicated'
            USING DETAIL = format(
                'Workflow %s with queue %s and deduplication ID %s already exists',
                v_id, queue_name, deduplication_id),
                ERRCODE = 'unique_violation';
    END;
    RETURN v_id;
END;
$$;

-- Send message (a JSON value) to the workflow destination_id under topic (NULL: the default
-- topic). A message_id makes the send idempotent: sending one ID twice stores the message
-- once. Raises 'DBOS non-existent workflow' (SQLSTATE 23503) for an unknown destination.
CREATE FUNCTION {schema}.send_message(
    destination_id TEXT,
    message JSON,
    topic TEXT DEFAULT NULL,
    message_id TEXT DEFAULT NULL
) RETURNS VOID
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF destination_id IS NULL OR destination_id = '' THEN
        RAISE EXCEPTION 'send_message: destination_id must be a workflow ID, not null or empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF topic = '' OR message_id = '' THEN
        RAISE EXCEPTION 'send_message: topic and message_id must not be empty strings (pass NULL)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The key this library's own format tags pickled values with: a message from SQL must
    -- never be read as a pickle.
    IF message IS NOT NULL AND message::JSONB @? '$.**."__dbos_pickle__"' THEN
        RAISE EXCEPTION 'send_message: the key "__dbos_pickle__" is reserved and cannot appear in a message'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO {schema}.notifications (message_id, destination_id, topic, message, created_at)
    VALUES (
        coalesce(message_id, gen_random_uuid()::TEXT), destination_id,
        coalesce(topic, '__dbos_default_topic__'), coalesce(message::TEXT, 'null'),
        (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT
    )
    ON CONFLICT (message_id) DO NOTHING;
EXCEPTION WHEN foreign_key_violation THEN
    RAISE EXCEPTION 'DBOS non-existent workflow'
        USING DETAIL = format('Destination workflow %s does not exist', destination_id),
            ERRCODE = 'foreign_key_violation';
END;
$$;
