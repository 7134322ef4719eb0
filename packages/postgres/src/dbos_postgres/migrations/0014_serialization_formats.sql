-- Serialization formats (issue 12, item 8): DBOS Transact 3.4's per-row marker of how a
-- workflow's inputs, output and error are encoded. NULL is this library's own format (every
-- row written before this migration); 'portable_json' is the portable JSON that other
-- languages' SDKs and the SQL functions (enqueue_workflow) write.
--
-- Safe on a database with rows: a nullable column without a default is added without a table
-- rewrite, and existing rows keep NULL, which means what they were written in.
ALTER TABLE {schema}.workflow_status ADD COLUMN serialization TEXT;
