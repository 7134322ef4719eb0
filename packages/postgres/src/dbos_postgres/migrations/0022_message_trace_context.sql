-- Traced messages (issue 16, ours: DBOS Transact 3.4 stores none): the sender's W3C trace
-- context, JSON text of an object with "traceparent" and "tracestate", stored with a message
-- sent while a span was active, so that the receiving workflow's DBOS.recv span links to the
-- sender's. NULL for a message sent without one, and for every message stored before.
--
-- Safe on a database with rows: a nullable column without a default is added without
-- rewriting the table or reading its rows.
ALTER TABLE {schema}.notifications ADD COLUMN trace_carrier TEXT;
