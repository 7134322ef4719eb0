-- Operation numbering (issue 12, item 10): operations of a workflow are numbered from 1, as in
-- DBOS Transact 3.4; this library numbered them from 0 before. Each workflow keeps the number of
-- its first operation, so a workflow recorded under the old numbering (still PENDING at the
-- upgrade, or forked later) replays against its own records.
--
-- The column's default, 0, is what every row stored before this migration reads, and what a
-- row gets from a writer that does not name the column: a process of the earlier release
-- still running during a rolling deploy, which numbers from 0. This library names it on every
-- insert (1), and so does the SQL enqueue function of 0015, replaced below with the column
-- added (same signature and behaviour otherwise).
--
-- Safe on a database with rows: a column added with a constant default is not a table
-- rewrite (Postgres 11+ keeps the default in the catalog).
ALTER TABLE {schema}.workflow_status ADD COLUMN first_function_id INTEGER DEFAULT 0;

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
            deadline_at, class_name, config_name, serialization, first_function_id
        ) VALUES (
            v_id, 'ENQUEUED', workflow_name, v_inputs, NULL, app_version,
            1, 100, v_now, v_now,
            queue_name, coalesce(priority, 0), deduplication_id, queue_partition_key,
            delay_until_epoch_ms,
            coalesce(deadline_epoch_ms, v_now + timeout_ms), class_name, config_name,
            'portable_json', 1
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
