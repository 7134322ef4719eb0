-- Scale (issue 17): listing by status, newest or oldest first, reads only the rows it returns,
-- however many finished workflows the table holds and however old the matching ones are.
-- (status, created_at) replaces (status, executor_id): every statement that filtered on
-- status still finds its rows by the leading column, listings by status also get their order
-- from the index, and the table keeps the same number of indexes to update on each write.
-- Recovery by executor has its own partial index (workflow_status_pending).
--
-- On a database with rows: building the index reads the table once and blocks writes while
-- it runs (about a second per million rows on a small server); no table rewrite.
DROP INDEX {schema}.workflow_status_status_executor;
CREATE INDEX workflow_status_status_created ON {schema}.workflow_status (status, created_at);
