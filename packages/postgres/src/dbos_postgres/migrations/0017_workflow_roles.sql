-- Roles (issue 13, item 7): the identity a workflow runs as, stored with it as DBOS Transact
-- 3.4 stores it, so that recovery restores it: the authenticated user, the role the workflow
-- assumed, and the roles granted to the user (the JSON text of a list of strings), all TEXT.
--
-- Safe on a database with rows: nullable columns without a default are added without a table
-- rewrite; existing workflows read back with no authentication information.
ALTER TABLE {schema}.workflow_status
    ADD COLUMN authenticated_user TEXT,
    ADD COLUMN assumed_role TEXT,
    ADD COLUMN authenticated_roles TEXT;
