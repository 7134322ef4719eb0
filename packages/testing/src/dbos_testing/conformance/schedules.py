"""The stored-schedule conformance suite: creating, applying, listing, pausing, deleting
schedules and recording their ticks, tested through the `SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.schedules import *  # noqa: F403
"""

from __future__ import annotations

import dataclasses
import threading

import pytest

from dbos import SystemStorage
from dbos.storage import (
    SCHEDULE_ACTIVE,
    SCHEDULE_PAUSED,
    NewWorkflow,
    ScheduleInactiveError,
    ScheduleQuery,
    ScheduleRecord,
    WorkflowStatusString,
)

__all__ = [
    "test_a_created_schedule_reads_back_whole",
    "test_creating_a_taken_name_changes_nothing",
    "test_apply_replaces_the_definition_and_keeps_id_status_and_last_tick",
    "test_concurrent_applies_of_the_same_schedules_store_one_set",
    "test_list_filters_by_status_workflow_prefix_and_application",
    "test_pause_resume_and_delete_report_whether_the_schedule_exists",
    "test_last_fired_at_only_moves_forward_in_time",
    "test_a_tick_is_created_only_while_its_schedule_is_active",
    "test_a_tick_of_a_replaced_schedule_is_refused",
]


def _schedule(name: str, **changes: object) -> ScheduleRecord:
    record = ScheduleRecord(
        schedule_id=f"id-{name}",
        schedule_name=name,
        workflow_name="wf",
        workflow_class_name=None,
        schedule="* * * * *",
        status=SCHEDULE_ACTIVE,
        context="null",
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def test_a_created_schedule_reads_back_whole(dbos_storage: SystemStorage) -> None:
    assert dbos_storage.get_schedule("s") is None
    full = _schedule(
        "s",
        workflow_class_name="Jobs",
        schedule="30 2 * * *",
        context='{"k": 1}',
        last_fired_at="2024-01-01T00:00:00+00:00",
        automatic_backfill=True,
        cron_timezone="America/New_York",
        queue_name="q",
        application_name="app",
        missed_ticks="run_once",
    )
    assert dbos_storage.create_schedule(full) is True
    assert dbos_storage.get_schedule("s") == full
    assert dbos_storage.list_schedules(ScheduleQuery()) == [full]


def test_creating_a_taken_name_changes_nothing(dbos_storage: SystemStorage) -> None:
    assert dbos_storage.create_schedule(_schedule("s"))
    assert (
        dbos_storage.create_schedule(_schedule("s", schedule_id="other", schedule="@daily"))
        is False
    )
    assert dbos_storage.get_schedule("s") == _schedule("s")


def test_apply_replaces_the_definition_and_keeps_id_status_and_last_tick(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_schedule(_schedule("s", last_fired_at="2024-01-01T00:00:00+00:00"))
    assert dbos_storage.set_schedule_status("s", SCHEDULE_PAUSED)
    changed = _schedule(
        "s", schedule_id="new-id", schedule="@hourly", context="2", cron_timezone="UTC"
    )
    dbos_storage.apply_schedules((changed, _schedule("t")))
    assert dbos_storage.get_schedule("s") == dataclasses.replace(
        changed,
        schedule_id="id-s",
        status=SCHEDULE_PAUSED,
        last_fired_at="2024-01-01T00:00:00+00:00",
    )
    assert dbos_storage.get_schedule("t") == _schedule("t")


def test_concurrent_applies_of_the_same_schedules_store_one_set(
    dbos_storage: SystemStorage,
) -> None:
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def apply(index: int) -> None:
        start.wait()
        try:
            dbos_storage.apply_schedules(
                tuple(_schedule(name, schedule_id=f"{name}-{index}") for name in ("a", "b", "c"))
            )
        except BaseException as exc:  # reported below, with the test's assertion
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = dbos_storage.list_schedules(ScheduleQuery())
    assert [schedule.schedule_name for schedule in stored] == ["a", "b", "c"]
    # Each name kept the ID of whichever apply stored it first.
    assert all(s.schedule_id.startswith(f"{s.schedule_name}-") for s in stored)


def test_list_filters_by_status_workflow_prefix_and_application(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_schedule(_schedule("report-daily", application_name="app"))
    dbos_storage.create_schedule(_schedule("report-hourly", workflow_name="other"))
    dbos_storage.create_schedule(_schedule("cleanup", application_name="elsewhere"))
    dbos_storage.set_schedule_status("cleanup", SCHEDULE_PAUSED)

    def names(**query: tuple[str, ...] | None) -> list[str]:
        found = dbos_storage.list_schedules(ScheduleQuery(**query))
        return [schedule.schedule_name for schedule in found]

    assert names() == ["cleanup", "report-daily", "report-hourly"]
    assert names(statuses=(SCHEDULE_PAUSED,)) == ["cleanup"]
    assert names(statuses=()) == []
    assert names(workflow_names=("wf",)) == ["cleanup", "report-daily"]
    assert names(schedule_name_prefixes=("report-d", "clean")) == ["cleanup", "report-daily"]
    assert names(schedule_name_prefixes=("%",)) == []
    # An application sees its own schedules and the unclaimed ones.
    assert names(application_names=("app",)) == ["report-daily", "report-hourly"]


def test_pause_resume_and_delete_report_whether_the_schedule_exists(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_schedule(_schedule("s"))
    assert dbos_storage.set_schedule_status("s", SCHEDULE_PAUSED) is True
    stored = dbos_storage.get_schedule("s")
    assert stored is not None and stored.status == SCHEDULE_PAUSED
    assert dbos_storage.set_schedule_status("s", SCHEDULE_ACTIVE) is True
    assert dbos_storage.set_schedule_status("missing", SCHEDULE_PAUSED) is False
    assert dbos_storage.delete_schedule("s") is True
    assert dbos_storage.delete_schedule("s") is False
    assert dbos_storage.get_schedule("s") is None


def test_last_fired_at_only_moves_forward_in_time(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_schedule(_schedule("s"))

    def last() -> str | None:
        stored = dbos_storage.get_schedule("s")
        assert stored is not None
        return stored.last_fired_at

    dbos_storage.record_schedule_fired("s", "2024-11-03T01:30:00-04:00")
    assert last() == "2024-11-03T01:30:00-04:00"
    # Later as an instant, though earlier as text.
    dbos_storage.record_schedule_fired("s", "2024-11-03T01:15:00-05:00")
    assert last() == "2024-11-03T01:15:00-05:00"
    dbos_storage.record_schedule_fired("s", "2024-11-03T05:00:00+00:00")  # 01:00-04:00
    assert last() == "2024-11-03T01:15:00-05:00"
    dbos_storage.record_schedule_fired("missing", "2024-11-03T05:00:00+00:00")


def _tick(name: str, schedule_id: str | None, workflow_id: str) -> NewWorkflow:
    return NewWorkflow(
        workflow_id=workflow_id,
        name="wf",
        inputs="[]",
        executor_id=None,
        application_version=None,
        created_at_ms=1,
        queue_name="_dbos_internal_queue",
        status=WorkflowStatusString.ENQUEUED.value,
        schedule_name=name,
        schedule_id=schedule_id,
    )


def test_a_tick_is_created_only_while_its_schedule_is_active(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_schedule(_schedule("s"))
    assert dbos_storage.create_workflow(_tick("s", "id-s", "t1")).created is True
    dbos_storage.set_schedule_status("s", SCHEDULE_PAUSED)
    with pytest.raises(ScheduleInactiveError, match="'s'"):
        dbos_storage.create_workflow(_tick("s", "id-s", "t2"))
    assert dbos_storage.get_workflow("t2") is None
    # Without the schedule ID (a backfill or trigger), a paused schedule's run is created.
    assert dbos_storage.create_workflow(_tick("s", None, "t3")).created is True
    dbos_storage.set_schedule_status("s", SCHEDULE_ACTIVE)
    assert dbos_storage.create_workflow(_tick("s", "id-s", "t4")).created is True
    dbos_storage.delete_schedule("s")
    with pytest.raises(ScheduleInactiveError):
        dbos_storage.create_workflow(_tick("s", "id-s", "t5"))
    assert dbos_storage.get_workflow("t5") is None


def test_a_tick_of_a_replaced_schedule_is_refused(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_schedule(_schedule("s"))
    dbos_storage.delete_schedule("s")
    dbos_storage.create_schedule(_schedule("s", schedule_id="id-new"))
    with pytest.raises(ScheduleInactiveError):
        dbos_storage.create_workflow(_tick("s", "id-s", "old-plan"))
    assert dbos_storage.create_workflow(_tick("s", "id-new", "new-plan")).created is True
