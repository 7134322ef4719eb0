-- Operation numbering (issue 12, item 10): operations of a workflow are numbered from 1, as in
-- DBOS Transact 3.4; this library numbered them from 0 before. Each workflow keeps the number of
-- its first operation, so a workflow recorded under the old numbering (still PENDING at the
-- upgrade, or forked later) replays against its own records: every row stored before this
-- migration reads 0, every row inserted after it 1 (the library writes it explicitly; the
-- default covers the SQL enqueue function of 0015 and other writers that do not name it).
--
-- Safe on a database with rows: a column added with a constant default is not a table
-- rewrite (Postgres 11+ keeps the default in the catalog), and changing the default afterwards
-- changes only what later inserts get.
ALTER TABLE {schema}.workflow_status ADD COLUMN first_function_id INTEGER DEFAULT 0;
ALTER TABLE {schema}.workflow_status ALTER COLUMN first_function_id SET DEFAULT 1;
