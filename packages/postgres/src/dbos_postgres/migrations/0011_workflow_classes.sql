-- Class-based workflows (issue 12, item 1): a workflow that is a method records the
-- registered name of its class and, for an instance method, the config_name of the
-- DBOSConfiguredInstance it ran on, so that recovery, queue workers and forks call the method
-- on the same instance (DBOS semantics).
--
-- Safe on a database with rows: nullable columns without defaults (no table rewrite); rows
-- written before this migration are plain functions, which is what NULL means.
ALTER TABLE {schema}.workflow_status ADD COLUMN class_name TEXT;
ALTER TABLE {schema}.workflow_status ADD COLUMN config_name TEXT;
