-- Queues as data (issue 15, items 4-6): a queue's settings are stored once, in DBOS Transact
-- 3.4's `queues` table and columns (times in epoch milliseconds), and every process reads
-- them, so a change reaches all processes without a restart. The lease of each process
-- records which queues it works on (NULL: every queue), for `dbos queue list`.
--
-- Safe on a database with rows: a new, empty table, and a nullable column without a default
-- (added without a table rewrite; existing leases read back as listening to every queue).
CREATE TABLE {schema}.queues (
    queue_id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::TEXT,
    name TEXT NOT NULL UNIQUE,
    concurrency INT4,
    worker_concurrency INT4,
    rate_limit_max INT4,
    rate_limit_period_sec DOUBLE PRECISION,
    priority_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    partition_queue BOOLEAN NOT NULL DEFAULT FALSE,
    polling_interval_sec DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    application_name TEXT,
    partition_concurrency INT4,
    partition_worker_concurrency INT4,
    partition_rate_limit_max INT4,
    partition_rate_limit_period_sec DOUBLE PRECISION
);
ALTER TABLE {schema}.process_leases ADD COLUMN listened_queues TEXT;
