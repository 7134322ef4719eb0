-- Scale (issue 17): listing by status, newest or oldest first, reads only the rows it returns,
-- however many finished workflows the table holds. (status, created_at) replaces
-- (status, executor_id): statements that filtered on status still find their rows by the
-- leading column, and the table keeps the same number of indexes to update on each write.
DROP INDEX workflow_status_status_executor;
CREATE INDEX workflow_status_status_created ON workflow_status (status, created_at);
