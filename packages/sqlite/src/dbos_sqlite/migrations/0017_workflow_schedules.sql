-- Stored schedules (DBOS Transact 3.4's workflow_schedules table and columns): created, changed,
-- paused and deleted at run time, by any process or client; every process's scheduler polls
-- them. missed_ticks is ours (NULL for schedules created through the API; the missed-tick
-- policy of one declared with @DBOS.scheduled). A new, empty table: safe on a database with rows.
CREATE TABLE workflow_schedules (
    schedule_id TEXT PRIMARY KEY,
    schedule_name TEXT NOT NULL UNIQUE,
    workflow_name TEXT NOT NULL,
    workflow_class_name TEXT,
    schedule TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ACTIVE',
    context TEXT NOT NULL,
    last_fired_at TEXT DEFAULT NULL,
    automatic_backfill INTEGER NOT NULL DEFAULT 0,
    cron_timezone TEXT DEFAULT NULL,
    queue_name TEXT DEFAULT NULL,
    application_name TEXT DEFAULT NULL,
    missed_ticks TEXT DEFAULT NULL
);
