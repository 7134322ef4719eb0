-- The application versions processes have served (DBOS Transact 3.4's table and columns, in
-- epoch milliseconds): a process registers its version at launch; the one with the greatest
-- version_timestamp is the latest.
CREATE TABLE application_versions (
    version_id TEXT PRIMARY KEY,
    version_name TEXT NOT NULL UNIQUE,
    version_timestamp INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    application_name TEXT
);
