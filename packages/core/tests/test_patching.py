"""`DBOS.patch` and `DBOS.deprecate_patch` (DBOS Transact 3.4's API): which branch an execution
takes depends on its recorded history, and the marker is a step row named ``DBOS.patch-<name>``.

Histories are made by running the workflow with one version of its code, then forking it at a
step with another version: a fork replays the steps before that point, as a recovery would."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSPatchNondeterminismError,
    SetWorkflowID,
    SystemStorage,
    hookimpl,
)
from dbos.plugins import plugin_manager
from dbos.storage import StepRecord

#: Which version of `patched_checkout`'s code runs: "old", "patched" or "deprecated".
code = {"version": "old"}
ran: list[str] = []


@DBOS.step()
def charge_old() -> str:
    ran.append("charge_old")
    return "old"


@DBOS.step()
def charge_new() -> str:
    ran.append("charge_new")
    return "new"


@DBOS.step()
def ship_order() -> str:
    ran.append("ship_order")
    return "shipped"


@DBOS.workflow()
def patched_checkout() -> str:
    if code["version"] == "old":
        charged = charge_old()
    elif code["version"] == "patched":
        charged = charge_new() if DBOS.patch("new-charge") else charge_old()
    else:
        DBOS.deprecate_patch("new-charge")
        charged = charge_new()
    return f"{charged} {ship_order()}"


@DBOS.workflow()
async def patched_checkout_async() -> str:
    charged = charge_new() if await DBOS.patch_async("new-charge") else charge_old()
    return f"{charged} {ship_order()}"


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    code["version"] = "old"
    ran.clear()
    yield
    code["version"] = "old"


def _names(workflow_id: str) -> list[str]:
    return [step["function_name"] for step in DBOS.list_workflow_steps(workflow_id)]


def _run(workflow_id: str, version: str) -> str:
    code["version"] = version
    with SetWorkflowID(workflow_id):
        return patched_checkout()


def _fork(workflow_id: str, start_step: int, version: str) -> tuple[str, str]:
    code["version"] = version
    ran.clear()
    handle = DBOS.fork_workflow(workflow_id, start_step)
    return handle.get_workflow_id(), handle.get_result()


def test_a_new_execution_takes_the_patch_and_records_its_marker(dbos: type[DBOS]) -> None:
    assert _run("new", "patched") == "new shipped"
    assert ran == ["charge_new", "ship_order"]
    marker, charge, ship_step = DBOS.list_workflow_steps("new")
    # DBOS Transact's marker: a step row named DBOS.patch-<name>, at the patch's step ID.
    assert (marker["function_id"], marker["function_name"]) == (1, "DBOS.patch-new-charge")
    assert (marker["output"], marker["error"]) == (None, None)
    assert [charge["function_id"], ship_step["function_id"]] == [2, 3]


def test_a_replay_of_an_execution_that_passed_the_point_takes_the_old_code(
    dbos: type[DBOS],
) -> None:
    assert _run("before", "old") == "old shipped"
    forked, result = _fork("before", 2, "patched")  # replays charge_old, runs ship_order
    assert result == "old shipped"
    assert ran == ["ship_order"]  # charge_old replayed: nothing charged twice
    assert _names(forked) == [
        "charge_old",
        "ship_order",
    ]


def test_a_replay_before_the_point_takes_the_patch(dbos: type[DBOS]) -> None:
    assert _run("before", "old") == "old shipped"
    forked, result = _fork("before", 1, "patched")  # nothing replayed: reaches the point anew
    assert result == "new shipped"
    assert _names(forked)[0] == "DBOS.patch-new-charge"


def test_a_replay_of_a_patched_execution_takes_the_patch_again(dbos: type[DBOS]) -> None:
    assert _run("patched", "patched") == "new shipped"
    forked, result = _fork("patched", 3, "patched")  # replays the marker and charge_new
    assert result == "new shipped"
    assert ran == ["ship_order"]
    assert _names(forked) == _names("patched")


def test_deprecate_patch_replays_old_markers_and_records_none(dbos: type[DBOS]) -> None:
    assert _run("patched", "patched") == "new shipped"
    forked, result = _fork("patched", 3, "deprecated")  # the marker's ID is consumed
    assert result == "new shipped"
    assert ran == ["ship_order"]
    assert _names(forked) == _names("patched")
    ran.clear()
    assert _run("fresh", "deprecated") == "new shipped"
    assert _names("fresh") == [
        "charge_new",
        "ship_order",
    ]


def test_patch_async(dbos: type[DBOS]) -> None:
    async def main() -> str:
        with SetWorkflowID("async"):
            return await patched_checkout_async()

    assert asyncio.run(main()) == "new shipped"
    assert _names("async")[0] == "DBOS.patch-new-charge"


@DBOS.step()
def patch_in_a_step() -> bool:
    return DBOS.patch("x")


@DBOS.workflow()
def bad_names(name: Any) -> bool:
    return DBOS.patch(name)


def test_patch_outside_a_workflow_body_or_with_a_bad_name_is_refused(dbos: type[DBOS]) -> None:
    with pytest.raises(DBOSException, match="only be called from a workflow"):
        DBOS.patch("x")
    with pytest.raises(DBOSException, match="only be called from a workflow"):
        DBOS.deprecate_patch("x")
    with pytest.raises(DBOSException, match="only be called from a workflow"):
        patch_in_a_step_workflow()
    for name in ("", None, 3):
        with pytest.raises(DBOSException, match="non-empty string patch name"):
            bad_names(name)


@DBOS.workflow()
def patch_in_a_step_workflow() -> bool:
    return patch_in_a_step()


class _Interloper:
    """Records another operation at the marker's step ID just before the marker's checkpoint:
    what a concurrent execution of the same workflow that took the old code would do."""

    def __init__(self, storage: SystemStorage) -> None:
        self.storage = storage

    @hookimpl
    def dbos_before_step_checkpoint(self, step: StepRecord) -> None:
        if step.function_name.startswith("DBOS.patch-"):
            self.storage.record_step(
                StepRecord(step.workflow_id, step.function_id, "charge_old", None, None, 1, 1)
            )


def test_a_marker_that_loses_its_position_raises_nondeterminism(
    dbos: type[DBOS], dbos_storage: SystemStorage
) -> None:
    interloper = _Interloper(dbos_storage)
    plugin_manager().register(interloper)
    try:
        with pytest.raises(DBOSPatchNondeterminismError, match="new-charge") as raised:
            _run("raced", "patched")
    finally:
        plugin_manager().unregister(interloper)
    assert raised.value.workflow_id == "raced"
    assert ran == []
    status = DBOS.get_workflow_status("raced")
    assert status is not None and status.status == "ERROR"


def test_application_version_is_a_string_like_a_status_app_version(dbos: type[DBOS]) -> None:
    version = DBOS.application_version
    assert isinstance(version, str) and version
    assert _run("versioned", "old") == "old shipped"
    status = DBOS.get_workflow_status("versioned")
    assert status is not None and status.app_version == DBOS.application_version


@pytest.mark.slow
def test_the_patching_example_recovers_the_old_path_after_a_sigkill(
    dbos_system_database_url: str,
) -> None:
    """examples/patching.py: a process of the old code is SIGKILLed mid-workflow; the new
    code recovers that execution on the old path and runs a new one on the patched path."""
    example = Path(__file__).resolve().parents[3] / "examples" / "patching.py"
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
    assert out.count("charging the card for order-1") == 1  # paid once, before the kill
    assert out.count("charging the wallet for order-2") == 1
    assert "order-1: card charged, shipped parcel for order-1" in out
    assert "steps: charge_card, DBOS.setEvent, DBOS.recv, DBOS.sleep, ship" in out
    assert "order-2: wallet charged, shipped parcel for order-2" in out
    assert (
        "steps: DBOS.patch-pay-by-wallet, charge_wallet, DBOS.setEvent, DBOS.recv, DBOS.sleep, ship"
        in out
    )
