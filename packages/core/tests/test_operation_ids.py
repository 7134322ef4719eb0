"""Operation IDs count from 1, as in DBOS Transact 3.4 (issue 12, item 10), and the operations
DBOS records that we record too (item 11): an awaited child's result (``DBOS.getResult``),
the timeout of ``recv`` / ``get_event`` (a ``DBOS.sleep``), a failed ``send``. On every
backend."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbos import DBOS, DBOSNonExistentWorkflowError, SetWorkflowID, SystemStorage

Launch = Callable[..., None]


def _steps(workflow_id: str) -> list[tuple[int, str, str | None]]:
    return [
        (s["function_id"], s["function_name"], s["child_workflow_id"])
        for s in DBOS.list_workflow_steps(workflow_id)
    ]


def test_step_ids_child_ids_and_step_lists_count_from_1(launch: Launch) -> None:
    seen: list[int | None] = []

    @DBOS.step()
    def note() -> int | None:
        seen.append(DBOS.step_id)
        return DBOS.step_id

    @DBOS.workflow()
    def child() -> str:
        return "child"

    @DBOS.workflow()
    def parent() -> list[Any]:
        first, second = note(), note()
        handle = DBOS.start_workflow(child)
        return [first, second, handle.workflow_id, DBOS.step_id]

    launch()
    with SetWorkflowID("numbered"):
        result = parent()
    # Outside a step, DBOS.step_id is None (as in DBOS Transact).
    assert result == [1, 2, "numbered-3", None] and seen == [1, 2]
    assert _steps("numbered") == [
        (1, note.__qualname__, None),
        (2, note.__qualname__, None),
        (3, child.__qualname__, "numbered-3"),
    ]
    row = DBOS.get_workflow_status("numbered")
    assert row is not None and row.status == "SUCCESS"


def test_fork_from_step_1_runs_every_step_again_and_from_2_reuses_the_first(
    launch: Launch,
) -> None:
    runs: Counter[str] = Counter()

    @DBOS.step()
    def count(name: str) -> str:
        runs[name] += 1
        return name

    @DBOS.workflow()
    def twice() -> list[str]:
        return [count("a"), count("b")]

    launch()
    with SetWorkflowID("forked-source"):
        assert twice() == ["a", "b"]
    assert runs == Counter({"a": 1, "b": 1})
    assert DBOS.fork_workflow("forked-source", 1).get_result() == ["a", "b"]
    assert runs == Counter({"a": 2, "b": 2})  # a DBOS user's fork from 1 skips nothing
    forked = DBOS.fork_workflow("forked-source", 2)
    assert forked.get_result() == ["a", "b"]
    assert runs == Counter({"a": 2, "b": 3})
    assert [step[0] for step in _steps(forked.workflow_id)] == [1, 2]


def test_a_directly_called_child_and_an_awaited_handle_record_get_result(
    launch: Launch,
) -> None:
    @DBOS.workflow()
    def child(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x * 2

    @DBOS.workflow()
    def parent() -> list[Any]:
        direct = child(1)  # the child's start, then its awaited result
        handle = DBOS.start_workflow(child, -1)
        try:
            handle.get_result()
        except ValueError as exc:
            return [direct, str(exc)]
        return [direct, None]

    launch()
    with SetWorkflowID("awaiting"):
        assert parent() == [2, "negative"]
    name = child.__qualname__
    assert _steps("awaiting") == [
        (1, name, "awaiting-1"),
        (2, "DBOS.getResult", "awaiting-1"),
        (3, name, "awaiting-3"),
        (4, "DBOS.getResult", "awaiting-3"),
    ]
    steps = DBOS.list_workflow_steps("awaiting")
    assert steps[1]["output"] == 2 and steps[1]["error"] is None
    assert isinstance(steps[3]["error"], ValueError)
    # A fork past the waits replays them, the failure included.
    assert DBOS.fork_workflow("awaiting", 5).get_result() == [2, "negative"]


def test_recv_and_get_event_with_a_timeout_record_its_sleep(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    @DBOS.workflow()
    def waiter() -> list[Any]:
        DBOS.send("waiter", "ready", topic="t")  # waiting already: the recv does not wait
        return [DBOS.recv("t", timeout_seconds=5), DBOS.get_event("waiter", "none", 0.2)]

    launch()
    with SetWorkflowID("waiter"):
        assert waiter() == ["ready", None]
    assert [(s[0], s[1]) for s in _steps("waiter")] == [
        (1, "DBOS.send"),
        (2, "DBOS.recv"),
        (3, "DBOS.sleep"),
        (4, "DBOS.getEvent"),
        (5, "DBOS.sleep"),
    ]
    records = {s.function_id: s for s in dbos_storage.load_steps("waiter")}
    # The get_event row spans its whole wait; its timeout's record holds the wake-up time.
    event = records[4]
    assert event.completed_at_ms - event.started_at_ms >= 150
    assert abs(float(records[5].output or "0") * 1000 - (event.started_at_ms + 200)) < 150


def test_a_durable_sleep_is_recorded_as_spanning_the_sleep(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    @DBOS.workflow()
    def sleeper() -> None:
        DBOS.sleep(0.3)

    launch()
    with SetWorkflowID("sleeper"):
        sleeper()
    (record,) = dbos_storage.load_steps("sleeper")
    assert record.function_id == 1 and record.function_name == "DBOS.sleep"
    assert record.completed_at_ms - record.started_at_ms == pytest.approx(300, abs=2)


def test_a_send_to_a_missing_workflow_records_its_error_and_a_fork_raises_it_again(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    @DBOS.workflow()
    def sender() -> str:
        try:
            DBOS.send("nobody-yet", "hello")
        except DBOSNonExistentWorkflowError:
            return "no such workflow"
        return "sent"

    @DBOS.workflow()
    def nobody() -> Any:
        return DBOS.recv(timeout_seconds=2)

    launch()
    with SetWorkflowID("failed-send"):
        assert sender() == "no such workflow"
    (record,) = dbos_storage.load_steps("failed-send")
    assert (record.function_id, record.function_name) == (1, "DBOS.send")
    assert record.error is not None and record.output is None
    with SetWorkflowID("nobody-yet"):
        DBOS.start_workflow(nobody)
    # The fork replays the recorded failure: it sends nothing to the workflow existing now.
    assert DBOS.fork_workflow("failed-send", 2).get_result() == "no such workflow"
    assert DBOS.retrieve_workflow("nobody-yet").get_result() is None
    # From step 1 the send runs again, and now reaches it.
    assert DBOS.fork_workflow("failed-send", 1).get_result() == "sent"


def test_plain_steps_take_one_write_each_and_waits_start_when_the_wait_does(
    launch: Launch,
) -> None:
    @DBOS.step()
    def plain() -> float:
        return time.time()

    @DBOS.workflow()
    def only_steps() -> None:
        plain()
        plain()

    launch()
    with SetWorkflowID("only-steps"):
        only_steps()
    # No recorded operation is added around plain steps.
    assert [s[0] for s in _steps("only-steps")] == [1, 2]


def test_the_example_runs(dbos_system_database_url: str) -> None:
    """examples/operation_ids.py: DBOS's numbering end to end, in a subprocess."""
    example = Path(__file__).resolve().parents[3] / "examples" / "operation_ids.py"
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
    assert (
        "run: ['lamp reserved at step 1', 'order-1-2', 'invoice for lamp',"
        " 'lamp charged at step 4']" in out
    )
    assert "step 1: reserve\nstep 2: invoice\nstep 3: getResult\nstep 4: charge\n" in out
    assert "fork from 4: reserved 1x, charged 2x" in out
    assert "fork from 1: reserved 2x, charged 3x" in out
