-- The datasource's tables in a SQLite application database (no schemas: {schema} is unused).
-- Same tables as DBOS Transact 3.4's datasources.

-- name: table_exists
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :table

-- name: begin_immediate
-- pysqlite opens a transaction only before a write: take the write lock before reading the
-- version, so two migrators do not both see an empty database.
BEGIN IMMEDIATE

-- name: begin_transaction
BEGIN IMMEDIATE

-- name: create_version_table
CREATE TABLE IF NOT EXISTS dbos_datasource_migrations (version INTEGER NOT NULL PRIMARY KEY)

-- name: read_version
SELECT version FROM dbos_datasource_migrations

-- name: insert_version
INSERT INTO dbos_datasource_migrations (version) VALUES (:version)

-- name: update_version
UPDATE dbos_datasource_migrations SET version = :version

-- name: migration_1
CREATE TABLE IF NOT EXISTS datasource_outputs (
    workflow_id TEXT NOT NULL,
    step_id INTEGER NOT NULL,
    output TEXT,
    error TEXT,
    serialization TEXT,
    created_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
    PRIMARY KEY (workflow_id, step_id)
)

-- name: pragmas_busy_timeout
PRAGMA busy_timeout = 30000
