-- Workflow attributes (issue 12, item 5): custom key-value pairs attached to a workflow, as
-- the JSON text of an object (DBOS Transact 3.4's SQLite column: "attributes" TEXT). Nullable
-- without a default, so adding it rewrites nothing.
ALTER TABLE workflow_status ADD COLUMN attributes TEXT;
