-- Durable queues: ordering, deduplication, delays and flow-control bookkeeping.
ALTER TABLE {schema}.workflow_status
    ADD COLUMN priority INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN deduplication_id TEXT,
    ADD COLUMN queue_partition_key TEXT,
    ADD COLUMN started_at BIGINT,
    ADD COLUMN delay_until BIGINT;

-- The claim scans only queued rows; it must not slow down as finished rows pile up.
CREATE INDEX workflow_status_enqueued ON {schema}.workflow_status (queue_name, priority, created_at)
    WHERE status = 'ENQUEUED';
-- Global concurrency counts a queue's running tasks.
CREATE INDEX workflow_status_queue_running ON {schema}.workflow_status (queue_name)
    WHERE status = 'PENDING' AND queue_name IS NOT NULL;
-- Rate limits count a queue's recent starts.
CREATE INDEX workflow_status_queue_started ON {schema}.workflow_status (queue_name, started_at)
    WHERE queue_name IS NOT NULL AND started_at IS NOT NULL;
-- At most one unfinished task per (queue, deduplication ID).
CREATE UNIQUE INDEX workflow_status_deduplication
    ON {schema}.workflow_status (queue_name, deduplication_id)
    WHERE deduplication_id IS NOT NULL AND status IN ('ENQUEUED', 'PENDING');
