-- Class-based workflows (issue 12, item 1): a method's class and configured instance, so
-- that recovery, queue workers and forks call it on the same instance. Nullable columns:
-- rows written before this migration are plain functions.
ALTER TABLE workflow_status ADD COLUMN class_name TEXT;
ALTER TABLE workflow_status ADD COLUMN config_name TEXT;
