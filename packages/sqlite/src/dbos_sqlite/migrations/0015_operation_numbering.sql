-- Operation numbering (issue 12, item 10): operations of a workflow are numbered from 1, as in
-- DBOS Transact 3.4; this library numbered them from 0 before. Each workflow keeps the number of
-- its first operation, so a workflow recorded under the old numbering (still PENDING at the
-- upgrade, or forked later) replays against its own records. Every row stored before this
-- migration reads the default, 0, as does a row from a writer that does not name the column (a
-- process of the earlier release); the library writes it explicitly (1) on every insert.
-- Adding a column with a constant default rewrites nothing.
ALTER TABLE workflow_status ADD COLUMN first_function_id INTEGER DEFAULT 0;
