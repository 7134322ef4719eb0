-- Liveness (issue 11): every launched process holds a lease, renewed by a heartbeat, under an
-- instance ID that is new at each launch; a PENDING workflow records the instance that runs
-- it, so that recovery takes over the work of dead processes only. Rows written before this
-- migration have no owner and count as abandoned.
ALTER TABLE workflow_status ADD COLUMN owner_instance TEXT;

CREATE INDEX workflow_status_pending_owner ON workflow_status (owner_instance)
    WHERE status = 'PENDING';

-- Epoch milliseconds by the clock of the host that wrote them (processes sharing an SQLite
-- file share a host).
CREATE TABLE process_leases (
    instance_id TEXT PRIMARY KEY,
    executor_id TEXT NOT NULL,
    application_version TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    renewed_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
