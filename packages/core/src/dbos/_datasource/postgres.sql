-- The datasource's tables in a Postgres application database. {schema} and {role} are
-- replaced by quoted identifiers; every other value is a bound parameter.
-- Same tables as DBOS Transact 3.4's datasources, so one application database serves both.

-- name: schema_exists
SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = :schema

-- name: table_exists
-- pg_catalog rather than information_schema: the latter hides tables the role has no grant on.
SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = :schema AND tablename = :table

-- name: create_schema
CREATE SCHEMA {schema}

-- name: create_version_table
CREATE TABLE {schema}.dbos_datasource_migrations (version BIGINT NOT NULL PRIMARY KEY)

-- name: read_version
SELECT version FROM {schema}.dbos_datasource_migrations

-- name: insert_version
INSERT INTO {schema}.dbos_datasource_migrations (version) VALUES (:version)

-- name: update_version
UPDATE {schema}.dbos_datasource_migrations SET version = :version

-- name: lock
-- Concurrent migrators (processes starting together) take turns; released at commit.
SELECT pg_advisory_xact_lock(hashtext('dbos.datasource_migrations.' || :schema))

-- name: migration_1
CREATE TABLE IF NOT EXISTS {schema}.datasource_outputs (
    workflow_id TEXT NOT NULL,
    step_id INT4 NOT NULL,
    output TEXT,
    error TEXT,
    serialization TEXT,
    created_at BIGINT NOT NULL DEFAULT (EXTRACT(EPOCH FROM now()) * 1000)::bigint,
    PRIMARY KEY (workflow_id, step_id)
)

-- name: grant_schema
GRANT USAGE ON SCHEMA {schema} TO {role}

-- name: grant_outputs
GRANT SELECT, INSERT, DELETE ON {schema}.datasource_outputs TO {role}

-- name: grant_version
GRANT SELECT ON {schema}.dbos_datasource_migrations TO {role}
