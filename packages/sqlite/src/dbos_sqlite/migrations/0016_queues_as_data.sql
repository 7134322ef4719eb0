-- Queues as data (issue 15, items 4-6): a queue's settings are stored once, in DBOS Transact
-- 3.4's `queues` table and columns (times in epoch milliseconds), and every process reads
-- them, so a change reaches all processes without a restart. The lease of each process
-- records which queues it works on (NULL: every queue; else the JSON text of a list of
-- names), for `dbos queue list`. A new, empty table and a nullable column: safe with rows.
CREATE TABLE queues (
    queue_id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(16)))),
    name TEXT NOT NULL UNIQUE,
    concurrency INTEGER,
    worker_concurrency INTEGER,
    rate_limit_max INTEGER,
    rate_limit_period_sec REAL,
    priority_enabled INTEGER NOT NULL DEFAULT 0,
    partition_queue INTEGER NOT NULL DEFAULT 0,
    polling_interval_sec REAL NOT NULL DEFAULT 1.0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    application_name TEXT,
    partition_concurrency INTEGER,
    partition_worker_concurrency INTEGER,
    partition_rate_limit_max INTEGER,
    partition_rate_limit_period_sec REAL
);
ALTER TABLE process_leases ADD COLUMN listened_queues TEXT;
