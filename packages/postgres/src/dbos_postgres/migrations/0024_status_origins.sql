-- WorkflowStatus fields of DBOS Transact 3.4 that need storing (the delay until which an
-- enqueue waits is delay_until, stored since 0002): the timeout a workflow was started or
-- enqueued with (its deadline_at is what enforces it; a child that only inherits its parent's
-- deadline has no timeout of its own), whether a fork was made from it, and the application
-- that created it.
--
-- Safe on a database with rows: nullable columns without defaults, and a boolean with a
-- constant default, need no table rewrite. Rows written before this migration have no
-- timeout or application name (NULL); was_forked_from is filled from the forks stored now.
ALTER TABLE {schema}.workflow_status
    ADD COLUMN workflow_timeout_ms BIGINT,
    ADD COLUMN was_forked_from BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN application_name TEXT;

UPDATE {schema}.workflow_status AS w SET was_forked_from = true
WHERE EXISTS (SELECT 1 FROM {schema}.workflow_status AS f WHERE f.forked_from = w.workflow_id);
