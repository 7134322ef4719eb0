"""In-process crash simulation: a workflow stopped at a chosen point as if its process died,
then recovered; the CrashPlan counts which step bodies ran."""

from __future__ import annotations

import pytest

from dbos import DBOS, SetWorkflowID
from dbos_testing import CrashPlan, SimulatedCrash


@DBOS.step()
def crash_sim_step_one() -> int:
    return 1


@DBOS.step()
def crash_sim_step_two() -> int:
    return 2


@DBOS.step()
def crash_sim_step_three() -> int:
    return 3


@DBOS.workflow()
def crash_sim_workflow() -> int:
    try:
        total = crash_sim_step_one() + crash_sim_step_two()
    except Exception:  # a simulated crash is not an Exception: user code cannot swallow it
        total = -100
    return total + crash_sim_step_three()


def _crash_then_recover(workflow_id: str) -> int:
    with SetWorkflowID(workflow_id), pytest.raises(SimulatedCrash):
        crash_sim_workflow()
    status = DBOS.get_workflow_status(workflow_id)
    assert status is not None and status.status == "PENDING"  # as after a real crash
    handles = DBOS.recover_pending_workflows()
    assert [handle.workflow_id for handle in handles] == [workflow_id]
    result: int = handles[0].get_result()
    return result


def test_crash_after_a_checkpoint_resumes_after_that_step(
    dbos: type[DBOS], dbos_crash: CrashPlan
) -> None:
    dbos_crash.after_checkpoint(2)
    assert _crash_then_recover("after-2") == 6
    assert dbos_crash.crashes == 1
    assert dbos_crash.ran("crash_sim_step_one") == 1
    assert dbos_crash.ran("crash_sim_step_two") == 1  # its checkpoint was durable
    assert dbos_crash.ran("crash_sim_step_three") == 1


def test_crash_before_a_checkpoint_runs_that_step_again(
    dbos: type[DBOS], dbos_crash: CrashPlan
) -> None:
    dbos_crash.before_checkpoint(2)
    assert _crash_then_recover("before-2") == 6
    assert dbos_crash.ran("crash_sim_step_one") == 1
    assert dbos_crash.ran("crash_sim_step_two") == 2  # ran, crashed before its checkpoint
    assert dbos_crash.ran("crash_sim_step_three") == 1


def test_crash_inside_a_named_step(dbos: type[DBOS], dbos_crash: CrashPlan) -> None:
    dbos_crash.in_step("crash_sim_step_three", workflow_id="in-step")
    assert _crash_then_recover("in-step") == 6
    assert dbos_crash.ran("crash_sim_step_one", "in-step") == 1
    assert dbos_crash.ran("crash_sim_step_two", "in-step") == 1
    # The crash came as its body was about to run; after recovery it ran once.
    assert dbos_crash.ran("crash_sim_step_three", "in-step") == 1


def test_a_crash_is_armed_once(dbos: type[DBOS], dbos_crash: CrashPlan) -> None:
    dbos_crash.after_checkpoint(1, workflow_id="only-this")
    with SetWorkflowID("other"):
        assert crash_sim_workflow() == 6  # another workflow passes the point untouched
    assert _crash_then_recover("only-this") == 6
    with SetWorkflowID("again"):
        assert crash_sim_workflow() == 6
    assert dbos_crash.crashes == 1
