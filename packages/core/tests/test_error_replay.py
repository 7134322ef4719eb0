"""A step's exception replays as its own class, with its attributes, so a workflow that
catches it by class takes the same path on a replay (recovery after SIGKILL, fork) as on its
first run."""

from __future__ import annotations

import importlib
import signal
import sys
from pathlib import Path

import pytest

from dbos import DBOS, SetWorkflowID
from dbos_testing import kill_at_step

APPS = str(Path(__file__).parent / "apps")
sys.path.insert(0, APPS)
error_app = importlib.import_module("error_app")  # the same module the child process runs

EXPECTED = "rejected 422 (order o-1 is malformed)"


def _reports(effects: Path) -> list[str]:
    return effects.read_text().splitlines() if effects.exists() else []


@pytest.mark.slow
def test_caught_step_exception_takes_the_same_branch_after_a_sigkill(
    dbos: type[DBOS], dbos_system_database_url: str, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.txt"
    run = kill_at_step(
        "error_app:checked_order",
        "o-1",
        str(effects),
        database_url=dbos_system_database_url,
        step=1,  # step 0 raised BadInit and was recorded; die as `report` starts
        workflow_id="order-1",
        application_version=DBOS.application_version,
        extra_sys_path=[APPS],
    )
    assert run.returncode == -signal.SIGKILL
    assert _reports(effects) == []
    (handle,) = DBOS.recover_pending_workflows()
    assert handle.get_result() == EXPECTED
    assert _reports(effects) == [f"report {EXPECTED}"]
    (validate, _) = DBOS.list_workflow_steps("order-1")
    error = validate["error"]
    assert isinstance(error, error_app.BadInit) and type(error) is error_app.BadInit
    assert (error.code, error.detail) == (422, "order o-1 is malformed")


def test_caught_step_exception_takes_the_same_branch_in_a_fork(
    dbos: type[DBOS], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.txt"
    with SetWorkflowID("order-2"):
        assert error_app.checked_order("o-1", str(effects)) == EXPECTED
    fork = DBOS.fork_workflow("order-2", 1)  # replays step 0's recorded exception
    assert fork.get_result() == EXPECTED
    assert _reports(effects) == [f"report {EXPECTED}"] * 2


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


@DBOS.step()
def fail_with_odd_text(kind: str) -> None:
    if kind == "surrogate":
        raise ValueError("caf\udce9")
    raise Unprintable()


@DBOS.workflow()
def odd_failure(kind: str) -> None:
    fail_with_odd_text(kind)


@pytest.mark.parametrize("kind", ["surrogate", "unprintable"])
def test_an_error_whose_text_cannot_be_stored_as_is_still_ends_the_workflow(
    dbos: type[DBOS], kind: str
) -> None:
    handle = DBOS.start_workflow(odd_failure, kind)
    with pytest.raises((ValueError, Unprintable)):
        handle.get_result()
    status = handle.get_status()
    assert status.status == "ERROR"
    (step,) = DBOS.list_workflow_steps(handle.workflow_id)
    assert type(step["error"]) is (ValueError if kind == "surrogate" else Unprintable)
