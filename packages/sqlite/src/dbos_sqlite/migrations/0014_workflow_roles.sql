-- Roles (issue 13, item 7): the identity a workflow runs as (DBOS Transact 3.4's columns, all
-- TEXT): the authenticated user, the role it assumed, and the roles granted to the user as the
-- JSON text of a list. Nullable without a default, so adding them rewrites nothing and
-- existing workflows read back with no authentication information.
ALTER TABLE workflow_status ADD COLUMN authenticated_user TEXT;
ALTER TABLE workflow_status ADD COLUMN assumed_role TEXT;
ALTER TABLE workflow_status ADD COLUMN authenticated_roles TEXT;
