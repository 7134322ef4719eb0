-- Queue order: ties in created_at go by rowid, which grows with every insert.

-- Partitioned queues: limits are counted per (queue, partition key) and partitions are served
-- least recently started first. These indexes hold only rows that carry a partition key.
CREATE INDEX workflow_status_partition_enqueued
    ON workflow_status (queue_name, queue_partition_key, priority, created_at)
    WHERE status = 'ENQUEUED' AND queue_partition_key IS NOT NULL;
CREATE INDEX workflow_status_partition_running
    ON workflow_status (queue_name, queue_partition_key)
    WHERE status = 'PENDING' AND queue_partition_key IS NOT NULL;
CREATE INDEX workflow_status_partition_started
    ON workflow_status (queue_name, queue_partition_key, started_at)
    WHERE queue_partition_key IS NOT NULL AND started_at IS NOT NULL;
