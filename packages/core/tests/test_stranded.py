"""Stranded work (issue 11, item 4; ours): PENDING and ENQUEUED workflows of a version no live
process serves are listed, counted, warned about (rate-limited) and moved to a served
version, which runs each once; tasks enqueued without a version go to the latest version's
processes only (DBOS Transact's rule). The rolling deploy with real processes is in
test_rolling_deploy.py."""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dbos import DBOS, DBOSException, Queue
from dbos._engine.registry import clear_scheduled, scheduled
from dbos._engine.schedule_ticks import tick_workflow_id
from dbos.storage import NewWorkflow, SystemStorage, WorkflowStatusString

Launch = Callable[..., None]

ENQUEUED = WorkflowStatusString.ENQUEUED.value
PENDING = WorkflowStatusString.PENDING.value

#: A lease long enough that the heartbeat thread's rounds (a third of it apart) never run
#: during a test: the test calls the liveness round's steps itself.
QUIET_LEASE_S = 3600

queue = Queue("stranded-test-queue")
runs: list[str] = []


@DBOS.workflow()
def work(tag: str) -> str:
    runs.append(tag)
    return f"done {tag}"


def _storage() -> SystemStorage:
    return DBOS._launched_engine().storage


def _strand(workflow_id: str, version: str | None, status: str, owner: str | None = None) -> None:
    """A row as a process of `version` leaves it: queued, or running when its process died."""
    probe = DBOS.start_workflow(work, "probe")
    probe.get_result()
    name = probe.get_status().name
    _storage().create_workflow(
        NewWorkflow(
            workflow_id=workflow_id,
            name=name,
            inputs=f'{{"args":["{workflow_id}"],"kwargs":{{}}}}',
            executor_id=None if status == ENQUEUED else "gone-executor",
            application_version=version,
            created_at_ms=1_000,
            queue_name=queue.name if status == ENQUEUED else None,
            status=status,
            owner_instance=owner,
        )
    )


def test_stranded_work_is_listed_counted_and_moved_to_run_once(launch: Launch) -> None:
    launch(application_version="v2", process_lease_sec=QUIET_LEASE_S)
    runs.clear()
    suffix = uuid.uuid4().hex[:8]
    queued, abandoned = f"queued-{suffix}", f"abandoned-{suffix}"
    _strand(queued, "v1", ENQUEUED)
    _strand(abandoned, "v1", PENDING, owner="a-dead-instance")
    assert runs == ["probe", "probe"]
    listed = DBOS.list_workflows(stranded=True, load_input=False)
    assert sorted((w.workflow_id, w.status, w.app_version) for w in listed) == [
        (abandoned, PENDING, "v1"),
        (queued, ENQUEUED, "v1"),
    ]
    assert DBOS.list_workflows(stranded=True, app_version="v2") == []
    assert DBOS.count_stranded_workflows() == [
        {"application_version": "v1", "pending": 1, "enqueued": 1, "oldest_created_at": 1_000}
    ]
    with pytest.raises(DBOSException, match="no live process serves application version 'v9'"):
        DBOS.move_workflows_to_version([queued], "v9")
    with pytest.raises(DBOSException, match="list of workflow IDs"):
        DBOS.move_workflows_to_version(queued, "v2")  # type: ignore[arg-type]
    moved = DBOS.move_workflows_to_version([queued, abandoned, "no-such-workflow"], "v2")
    assert sorted(moved) == sorted([queued, abandoned])
    assert DBOS.retrieve_workflow(queued).get_result() == f"done {queued}"
    assert DBOS.retrieve_workflow(abandoned).get_result() == f"done {abandoned}"
    assert sorted(runs[2:]) == sorted([queued, abandoned])
    assert DBOS.count_stranded_workflows() == []
    # Finished: moving again changes nothing, and runs nothing.
    assert DBOS.move_workflows_to_version([queued, abandoned], "v2") == []
    assert len(runs) == 4


def test_the_async_forms(launch: Launch) -> None:
    launch(application_version="v2", process_lease_sec=QUIET_LEASE_S)
    workflow_id = f"queued-{uuid.uuid4().hex[:8]}"
    _strand(workflow_id, "v0", ENQUEUED)

    async def main() -> tuple[list[tuple[str | None, int]], list[str], object]:
        counts = await DBOS.count_stranded_workflows_async()
        moved = await DBOS.move_workflows_to_version_async([workflow_id], "v2")
        handle = await DBOS.retrieve_workflow_async(workflow_id)
        return (
            [(c["application_version"], c["enqueued"]) for c in counts],
            moved,
            (await handle.get_result()),
        )

    assert asyncio.run(main()) == ([("v0", 1)], [workflow_id], f"done {workflow_id}")


def test_live_processes_warn_about_stranded_work_at_most_every_few_minutes(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    launch(application_version="v2", process_lease_sec=QUIET_LEASE_S)
    liveness = DBOS._launched_engine().liveness
    assert not liveness.warn_stranded(now_s=1_000.0)  # nothing stranded: nothing to say
    _strand(f"queued-{uuid.uuid4().hex[:8]}", "v1", ENQUEUED)
    _strand(f"abandoned-{uuid.uuid4().hex[:8]}", "v1", PENDING)
    _strand(f"any-{uuid.uuid4().hex[:8]}", "v0", ENQUEUED)
    caplog.set_level(logging.WARNING, logger="dbos")
    assert liveness.warn_stranded(now_s=1_000.0)
    assert (
        "3 workflow(s) are stranded: no live process serves their application version "
        "('v0': 0 pending, 1 enqueued; 'v1': 1 pending, 1 enqueued)"
    ) in caplog.text
    assert "workflow move --from-version VERSION --to-version v2" in caplog.text
    assert not liveness.warn_stranded(now_s=1_299.0)
    assert liveness.warn_stranded(now_s=1_300.0)
    assert caplog.text.count("are stranded") == 2


def test_the_warning_names_the_one_stranded_version_in_its_command(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    """The usual case (the code was edited between two runs): the command can be pasted."""
    launch(application_version="v2", process_lease_sec=QUIET_LEASE_S)
    _strand(f"abandoned-{uuid.uuid4().hex[:8]}", "v1", PENDING)
    caplog.set_level(logging.WARNING, logger="dbos")
    assert DBOS._launched_engine().liveness.warn_stranded(now_s=1_000.0)
    # The database is named too: pasted without it, the command found no URL (a user's trial).
    url = DBOS._launched_engine().storage.url_for_display
    assert f"dbos --db-url {shlex.quote(url)} workflow list --stranded" in caplog.text
    assert (
        f"dbos --db-url {shlex.quote(url)} workflow move --from-version v1 --to-version v2"
        in caplog.text
    )
    assert "A version changes whenever the workflow code does" in caplog.text


def _pasted_list_command(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warning's `workflow list --stranded` command, as a user copies it from the log."""
    text = caplog.text
    start = text.index("`dbos --db-url ")
    command = text[start + 1 : text.index("`", start + 1)]
    assert command.endswith(" workflow list --stranded")
    return shlex.split(command)


def _strand_and_paste(caplog: pytest.LogCaptureFixture, cwd: Path) -> list[str]:
    """Strand a workflow, have the warning printed, run its list command as pasted in `cwd`
    and check that it lists the workflow; returns the command."""
    workflow_id = f"abandoned-{uuid.uuid4().hex[:8]}"
    _strand(workflow_id, "v1", PENDING)
    caplog.set_level(logging.WARNING, logger="dbos")
    assert DBOS._launched_engine().liveness.warn_stranded(now_s=1_000.0)
    command = _pasted_list_command(caplog)
    listed = subprocess.run(
        [sys.executable, "-m", "dbos_client", *command[1:]],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    assert listed.returncode == 0, listed.stderr
    assert workflow_id in listed.stdout
    return command


@pytest.mark.postgres_only
def test_the_pasted_command_names_a_custom_schema(
    dbos_system_database_url: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """A user's trial: with `dbos_system_schema` set, the pasted command read the default
    schema and listed nothing (or failed on a database without it)."""
    schema = f"stranded_{uuid.uuid4().hex[:8]}"
    DBOS.destroy()
    DBOS(
        config={
            "name": "test-app",
            "system_database_url": dbos_system_database_url,
            "dbos_system_schema": schema,
            "application_version": "v2",
            "process_lease_sec": QUIET_LEASE_S,
        }
    )
    DBOS.launch()
    try:
        command = _strand_and_paste(caplog, tmp_path)
        # The URL as displayed: a password (even an empty one) shows as ***.
        url = DBOS._launched_engine().storage.url_for_display
        assert command[:5] == ["dbos", "--db-url", url, "--schema", schema]
    finally:
        DBOS.destroy()


@pytest.mark.sqlite_only
def test_the_pasted_command_names_a_relative_sqlite_file_by_its_absolute_path(
    dbos_backend: str,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A user's trial: an app launched with `sqlite:///app.sqlite` printed that relative URL,
    which, pasted in another directory, named another (new, empty) file."""
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    monkeypatch.chdir(app_dir)
    DBOS.destroy()
    DBOS(
        config={
            "name": "test-app",
            "system_database_url": "sqlite:///app.sqlite",
            "application_version": "v2",
            "process_lease_sec": QUIET_LEASE_S,
        }
    )
    DBOS.launch()
    try:
        # Run elsewhere: the relative URL named tmp_path/app.sqlite there.
        command = _strand_and_paste(caplog, tmp_path)
        assert command[2] == f"sqlite:///{app_dir / 'app.sqlite'}"
        assert not (tmp_path / "app.sqlite").exists()
    finally:
        DBOS.destroy()


def test_tasks_enqueued_without_a_version_go_to_the_latest_version(launch: Launch) -> None:
    launch(application_version="v1", process_lease_sec=QUIET_LEASE_S)
    launch(application_version="v2", process_lease_sec=QUIET_LEASE_S)
    launch(application_version="v1", process_lease_sec=QUIET_LEASE_S)  # a v1 left running
    liveness = DBOS._launched_engine().liveness
    assert liveness.check_latest() is False
    workflow_id = f"any-{uuid.uuid4().hex[:8]}"
    _strand(workflow_id, None, ENQUEUED)
    # Only a v2 process would take it, and none is live.
    assert [w.workflow_id for w in DBOS.list_workflows(stranded=True)] == [workflow_id]
    DBOS.set_latest_application_version("v1")  # a rollback to v1
    assert liveness.check_latest() is True
    assert DBOS.list_workflows(stranded=True) == []
    assert DBOS.retrieve_workflow(workflow_id).get_result() == f"done {workflow_id}"


def test_scheduled_ticks_run_on_the_latest_version_only(launch: Launch) -> None:
    clear_scheduled()
    ticks: list[datetime] = []

    @DBOS.scheduled("0 0 1 1 *")  # never due during the test: the test fires ticks itself
    @DBOS.workflow(name="stranded_test.yearly")
    def yearly(scheduled_time: datetime, actual_time: datetime) -> None:
        ticks.append(scheduled_time)

    try:
        launch(application_version="v1", process_lease_sec=QUIET_LEASE_S)
        launch(application_version="v2", process_lease_sec=QUIET_LEASE_S)
        launch(application_version="v1", process_lease_sec=QUIET_LEASE_S)  # older than v2
        engine = DBOS._launched_engine()
        (entry,) = scheduled()
        # The scheduler stores the decorated schedule when it starts.
        deadline = time.monotonic() + 30
        while (record := engine.storage.get_schedule(entry.workflow.name)) is None:
            assert time.monotonic() < deadline, "the decorated schedule was never stored"
            time.sleep(0.05)
        tick = datetime(2026, 1, 1, tzinfo=timezone.utc)
        engine.scheduler._fire(record, tick)
        # Left to a v2 process, as DBOS Transact leaves scheduled workflows to the latest.
        assert DBOS.get_workflow_status(tick_workflow_id(entry.workflow.name, tick)) is None
        DBOS.set_latest_application_version("v1")
        assert engine.liveness.check_latest()
        engine.scheduler._fire(record, tick)
        workflow_id = tick_workflow_id(entry.workflow.name, tick)
        DBOS.retrieve_workflow(workflow_id).get_result()
        assert ticks == [tick]
    finally:
        clear_scheduled()


@pytest.mark.slow
def test_the_rolling_deploy_example_moves_the_stranded_order_and_finishes_both(
    dbos_system_database_url: str,
) -> None:
    """examples/rolling_deploy.py: a v1 process is stopped while order-1 waits; v2 finds it
    stranded, moves it, and finishes it on v1's branch, and a new order on v2's."""
    example = Path(__file__).resolve().parents[3] / "examples" / "rolling_deploy.py"
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url}
    run = subprocess.run(
        [sys.executable, str(example)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.count("pricing order-1 by count") == 1
    assert "[v1" in out.split("pricing order-1 by count")[0].rsplit("\n", 1)[-1]
    assert "stranded on v1: 1 pending, 0 enqueued" in out
    assert "moved to v2: order-1" in out
    assert out.count("pricing order-2 by weight") == 1
    assert out.count("shipping order-1") == out.count("shipping order-2") == 1
    assert "order-1: priced by count, shipped parcel for order-1" in out
    assert "steps: price_by_count, DBOS.setEvent, DBOS.recv, DBOS.sleep, ship" in out
    assert "order-2: priced by weight, shipped parcel for order-2" in out
    assert "stranded now: []" in out
