-- Liveness (issue 11): every launched process holds a lease, renewed by a heartbeat, under an
-- instance ID that is new at each launch; a PENDING workflow records the instance that runs
-- it, so that recovery takes over the work of dead processes only, whatever their executor
-- IDs.
--
-- Safe on a database with rows: the new column is nullable without a default (no table
-- rewrite). Rows written before this migration have no owner, and count as abandoned: the
-- processes that wrote them run code older than this migration, which refuses the migrated
-- database.
ALTER TABLE {schema}.workflow_status ADD COLUMN owner_instance TEXT;

-- Takeover rounds look at PENDING rows only (active work), by owner.
CREATE INDEX workflow_status_pending_owner ON {schema}.workflow_status (owner_instance)
    WHERE status = 'PENDING';

-- expires_at and renewed_at are epoch milliseconds by the database server's clock, so hosts
-- with skewed clocks still agree on which leases have expired. host and pid say where the
-- process runs, so that a process restarted on the same host can tell that an unexpired
-- lease's holder is gone.
CREATE TABLE {schema}.process_leases (
    instance_id TEXT PRIMARY KEY,
    executor_id TEXT NOT NULL,
    application_version TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    renewed_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
