-- The application versions processes have served (DBOS Transact 3.4's table and columns, in
-- epoch milliseconds): a process registers its version at launch; the one with the greatest
-- version_timestamp is the latest. A new, empty table: safe on a database with rows.
CREATE TABLE {schema}.application_versions (
    version_id TEXT PRIMARY KEY,
    version_name TEXT NOT NULL UNIQUE,
    version_timestamp BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    application_name TEXT
);
