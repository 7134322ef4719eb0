-- Workflow attributes (issue 12, item 5): custom key-value pairs attached to a workflow at its
-- start and updated afterwards, as DBOS Transact 3.4 stores them: a nullable jsonb column
-- named "attributes", readable from SQL, with a GIN index for containment (@>) filters.
--
-- Safe on a database with rows: a nullable column without a default is added without a table
-- rewrite, and the partial index covers only rows that have attributes (none yet).
ALTER TABLE {schema}.workflow_status ADD COLUMN attributes JSONB;

CREATE INDEX workflow_status_attributes ON {schema}.workflow_status USING GIN (attributes)
    WHERE attributes IS NOT NULL;
