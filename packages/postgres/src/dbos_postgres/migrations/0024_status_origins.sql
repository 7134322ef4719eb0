-- WorkflowStatus fields of DBOS Transact 3.4 that need storing (the delay until which an
-- enqueue waits is delay_until, stored since 0002): the timeout a workflow was started or
-- enqueued with (its deadline_at is what enforces it; a child that only inherits its parent's
-- deadline has no timeout of its own), whether a fork was made from it, and the application
-- that created it.
--
-- Safe on a database with rows: nullable columns without defaults, and a boolean with a
-- constant default, need no table rewrite. Rows written before this migration have no
-- timeout or application name (NULL); was_forked_from is filled from the forks stored now.
ALTER TABLE {schema}.workflow_status
    ADD COLUMN workflow_timeout_ms BIGINT,
    ADD COLUMN was_forked_from BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN application_name TEXT;

UPDATE {schema}.workflow_status AS w SET was_forked_from = true
WHERE EXISTS (SELECT 1 FROM {schema}.workflow_status AS f WHERE f.forked_from = w.workflow_id);

-- The SQL enqueue function (0015, last replaced by 0018) stores the two new values: the
-- timeout it is given (timeout_ms) and application_name, which it refused before. Same
-- signature and behaviour otherwise.
CREATE OR REPLACE FUNCTION {schema}.enqueue_workflow(
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
    -- The identity is still refused rather than dropped silently; the application name is
    -- stored now.
    IF authenticated_user IS NOT NULL OR authenticated_roles IS NOT NULL THEN
        RAISE EXCEPTION 'enqueue_workflow: authenticated_user and authenticated_roles are not supported by this library; pass NULL'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF application_name = '' THEN
        RAISE EXCEPTION 'enqueue_workflow: application_name must not be an empty string (pass NULL for none)'
            USING ERRCODE = 'invalid_parameter_value';
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
            deadline_at, class_name, config_name, serialization, first_function_id,
            workflow_timeout_ms, application_name
        ) VALUES (
            v_id, 'ENQUEUED', workflow_name, v_inputs, NULL, app_version,
            1, 100, v_now, v_now,
            queue_name, coalesce(priority, 0), deduplication_id, queue_partition_key,
            delay_until_epoch_ms,
            coalesce(deadline_epoch_ms, v_now + timeout_ms), class_name, config_name,
            'portable_json', 1, timeout_ms, application_name
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
