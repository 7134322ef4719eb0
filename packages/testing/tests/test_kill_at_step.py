"""Real crashes: a workflow runs in a subprocess that is SIGKILLed at a chosen step; the test
process recovers it. The side-effect file says which step bodies ran, and how often."""

from __future__ import annotations

import importlib
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from dbos import DBOS
from dbos_testing import kill_at_step

APPS = str(Path(__file__).parent / "apps")
sys.path.insert(0, APPS)
importlib.import_module("kill_app")  # the same workflows the child process registers

pytestmark = pytest.mark.slow


def test_killed_at_a_step_then_recovered_here(
    dbos: type[DBOS], dbos_system_database_url: str, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.txt"
    run = kill_at_step(
        "kill_app:kill_app_workflow",
        str(effects),
        database_url=dbos_system_database_url,
        step=3,
        workflow_id="killed",
        application_version=DBOS.application_version,
        extra_sys_path=[APPS],
    )
    assert run.returncode == -signal.SIGKILL
    assert effects.read_text().split() == ["first", "second"]  # died as the third began
    status = DBOS.get_workflow_status("killed")
    assert status is not None and status.status == "PENDING"

    handles = DBOS.recover_pending_workflows()
    assert [handle.workflow_id for handle in handles] == ["killed"]
    assert handles[0].get_result() == "done"
    assert Counter(effects.read_text().split()) == {"first": 1, "second": 1, "third": 1}


def test_a_child_that_never_reaches_the_step_is_reported(
    dbos: type[DBOS], dbos_system_database_url: str, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError, match="did not reach step 9"):
        kill_at_step(
            "kill_app:kill_app_workflow",
            str(tmp_path / "effects.txt"),
            database_url=dbos_system_database_url,
            step=9,
            workflow_id="never",
            application_version=DBOS.application_version,
            extra_sys_path=[APPS],
        )
