-- Serialization formats (issue 12, item 8): DBOS Transact 3.4's per-row marker of how a
-- workflow's inputs, output and error are encoded ("serialization" TEXT). NULL is this
-- library's own format (every older row); 'portable_json' the portable JSON format. Nullable
-- without a default, so adding it rewrites nothing.
ALTER TABLE workflow_status ADD COLUMN serialization TEXT;
