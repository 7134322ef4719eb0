"""What a workflow asks of storage: one call per operation on a first run, and replay from
records after a crash (simulated in-process by a hook that raises like a dying process)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from dbos import DBOS, SetWorkflowID, hookimpl
from dbos.plugins._hooks import plugin_manager
from dbos.storage._records import StepRecord
from dbos_testing._counting import CountingStorage, count_engine_calls

Launch = Callable[..., None]
BACKGROUND = {"claim_queued", "cancel_expired"}


@pytest.fixture
def counting(launch: Launch) -> Iterator[CountingStorage]:
    launch()
    yield count_engine_calls()


def test_first_run_costs_one_storage_call_per_operation(counting: CountingStorage) -> None:
    @DBOS.step()
    def noop(i: int) -> int:
        return i

    @DBOS.workflow()
    def five_steps() -> int:
        return sum(noop(i) for i in range(5))

    assert five_steps() == 10
    # No read before a write: a create, one checkpoint per step, a finish. Nothing else (the
    # queue worker's own background calls are not the workflow's).
    workflow_calls = Counter(
        {name: count for name, count in counting.calls.items() if name not in BACKGROUND}
    )
    assert workflow_calls == Counter(create_workflow=1, record_step=5, finish_workflow=1)


class Crash(BaseException):
    """Raised from a hook: unwinds the workflow like a process death (no outcome recorded)."""


class CrashAfterCheckpoint:
    def __init__(self, workflow_id: str, function_id: int) -> None:
        self.target = (workflow_id, function_id)

    @hookimpl
    def dbos_after_step_checkpoint(self, step: StepRecord) -> None:
        if (step.workflow_id, step.function_id) == self.target:
            raise Crash()


@pytest.fixture
def crash_after() -> Iterator[Callable[[str, int], None]]:
    plugins: list[CrashAfterCheckpoint] = []

    def arm(workflow_id: str, function_id: int) -> None:
        plugin = CrashAfterCheckpoint(workflow_id, function_id)
        plugins.append(plugin)
        plugin_manager().register(plugin)

    yield arm
    for plugin in plugins:
        plugin_manager().unregister(plugin)


def test_recorded_step_errors_are_replayed_and_recovery_reads_steps_once(
    counting: CountingStorage, crash_after: Callable[[str, int], None]
) -> None:
    runs: Counter[str] = Counter()

    @DBOS.step()
    def fails() -> None:
        runs["fails"] += 1
        raise KeyError("recorded")

    @DBOS.step()
    def after() -> str:
        runs["after"] += 1
        return "after"

    @DBOS.workflow()
    def handles_error() -> str:
        try:
            fails()
        except KeyError as exc:
            caught = f"caught {exc}"
        return f"{caught} / {after()}"

    crash_after("flow", 2)  # dies right after the second step's checkpoint
    with SetWorkflowID("flow"), pytest.raises(Crash):
        handles_error()
    status = DBOS.get_workflow_status("flow")
    assert status is not None and status.status == "PENDING"

    counting.calls.clear()
    handles = DBOS.recover_pending_workflows()
    assert [h.get_result() for h in handles] == ["caught 'recorded' / after"]
    assert runs == Counter(fails=1, after=1)  # the replay raised the recorded KeyError again
    assert counting.calls["load_steps"] == 1
    assert counting.calls["record_step"] == 0
