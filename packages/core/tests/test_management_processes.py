"""A management script that imports the app and launches with ``management_only=True`` next
to a live app process with the same executor ID lists and cancels the app's workflow without
ever running it (issue 11, item 5): the slow step runs once, in the app."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbos import DBOS, DBOSException, SystemStorage
from dbos._base.serialization import Codec, JsonPickleSerializer
from dbos.storage import NewWorkflow

APP = Path(__file__).parent / "apps" / "manage_app.py"


def _start(url: str, workdir: Path, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(APP), url, str(workdir), mode], stderr=subprocess.PIPE
    )


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"timed out waiting for {path.name}"
        time.sleep(0.02)


@pytest.mark.slow
def test_a_management_script_next_to_a_live_app_never_runs_its_workflow(
    dbos_system_database_url: str, tmp_path: Path
) -> None:
    app = _start(dbos_system_database_url, tmp_path, "app")
    try:
        _wait_for(tmp_path / "step-runs")  # the app is inside its 6-second step
        script = _start(dbos_system_database_url, tmp_path, "manage")
        _, script_err = script.communicate(timeout=60)
        assert script.returncode == 0, script_err.decode()
        _, app_err = app.communicate(timeout=60)
        assert app.returncode == 0, app_err.decode()
    finally:
        app.kill()
    assert (tmp_path / "listed").read_text().split() == ["order-1"]
    assert (tmp_path / "app-outcome").read_text() == "cancelled"
    # One run, by the app: the script recovered nothing, though it has the same executor ID
    # and application version.
    assert (tmp_path / "step-runs").read_text().split() == [str(app.pid)]
    assert b"for management only" in script_err


@DBOS.workflow(name="manage-test.recorded")
def _recorded_work() -> str:
    return "ran"


@pytest.fixture
def management_only(dbos_system_database_url: str) -> Iterator[type[DBOS]]:
    DBOS.destroy()
    DBOS(config={"name": "dbos-test", "system_database_url": dbos_system_database_url})
    DBOS.launch(management_only=True)
    yield DBOS
    DBOS.destroy()


@pytest.mark.usefixtures("management_only")
def test_a_management_launch_hands_resumed_workflows_to_app_processes(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_workflow(
        NewWorkflow(
            workflow_id="stopped",
            name="manage-test.recorded",
            inputs=Codec(JsonPickleSerializer()).encode_inputs((), {}),
            executor_id="local",
            application_version=DBOS.application_version,
            created_at_ms=1,
            status="CANCELLED",
        )
    )
    handle = DBOS.resume_workflow("stopped")
    time.sleep(0.5)  # a queue worker here would have claimed it by now
    assert handle.get_status().status == "ENQUEUED"
    assert handle.get_status().queue_name == "dbos.internal"


@pytest.mark.usefixtures("management_only")
def test_a_management_launch_refuses_recovery_and_a_change_of_mode() -> None:
    with pytest.raises(DBOSException, match="management_only=True"):
        DBOS.recover_pending_workflows()
    with pytest.raises(DBOSException, match="already launched with management_only=True"):
        DBOS.launch()
    DBOS.launch(management_only=True)  # the same mode again: idempotent
