-- Durable queues: ordering, deduplication, delays and flow-control bookkeeping.
ALTER TABLE workflow_status ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workflow_status ADD COLUMN deduplication_id TEXT;
ALTER TABLE workflow_status ADD COLUMN queue_partition_key TEXT;
ALTER TABLE workflow_status ADD COLUMN started_at INTEGER;
ALTER TABLE workflow_status ADD COLUMN delay_until INTEGER;

CREATE INDEX workflow_status_enqueued ON workflow_status (queue_name, priority, created_at)
    WHERE status = 'ENQUEUED';
CREATE INDEX workflow_status_queue_running ON workflow_status (queue_name)
    WHERE status = 'PENDING' AND queue_name IS NOT NULL;
CREATE INDEX workflow_status_queue_started ON workflow_status (queue_name, started_at)
    WHERE queue_name IS NOT NULL AND started_at IS NOT NULL;
CREATE UNIQUE INDEX workflow_status_deduplication ON workflow_status (queue_name, deduplication_id)
    WHERE deduplication_id IS NOT NULL AND status IN ('ENQUEUED', 'PENDING');
