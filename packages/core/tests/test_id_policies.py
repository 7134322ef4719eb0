"""Workflow ID reuse and queue duplication policies (DBOS Transact 3.4's
``workflow_id_reuse_policy`` and ``duplication_policy``), on every backend."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSQueueDeduplicatedError,
    DBOSWorkflowIDInUseError,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
    SystemStorage,
)
from dbos.storage import NewWorkflow, WorkflowOutcome

Launch = Callable[..., None]


def test_return_existing_is_the_default_and_runs_the_workflow_once(launch: Launch) -> None:
    runs: list[int] = []

    @DBOS.workflow()
    def work(x: int) -> int:
        runs.append(x)
        return x * 2

    launch()
    for policy in (None, "return-existing"):
        with SetWorkflowID("same", workflow_id_reuse_policy=policy):
            assert work(1) == 2
        with SetWorkflowID("same", workflow_id_reuse_policy=policy):
            # The existing execution's result, not a run with the new argument.
            assert DBOS.start_workflow(work, 5).get_result() == 2
    assert runs == [1]


def test_reject_refuses_an_id_in_use_and_leaves_the_workflow_alone(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    runs: list[int] = []

    @DBOS.step()
    def record(x: int) -> int:
        runs.append(x)
        return x

    @DBOS.workflow()
    def work(x: int) -> int:
        return record(x) * 2

    launch()
    with SetWorkflowID("wf", workflow_id_reuse_policy="reject"):
        assert work(1) == 2  # a new ID: the policy lets it start
    before = dbos_storage.get_workflow("wf")
    steps = dbos_storage.load_steps("wf")
    for start in (lambda: work(7), lambda: DBOS.start_workflow(work, 7)):
        with (
            SetWorkflowID("wf", workflow_id_reuse_policy="reject"),
            pytest.raises(DBOSWorkflowIDInUseError) as refused,
        ):
            start()
        assert refused.value.workflow_id == "wf"
        assert refused.value.workflow_status == "SUCCESS"
        assert before is not None and refused.value.workflow_name == before.name
        assert "reject" in str(refused.value)
    assert runs == [1]
    assert dbos_storage.get_workflow("wf") == before
    assert dbos_storage.load_steps("wf") == steps
    assert DBOS.retrieve_workflow("wf").get_result() == 2


def test_reject_refuses_a_workflow_still_running_here(launch: Launch) -> None:
    release = threading.Event()

    @DBOS.workflow()
    def slow() -> str:
        release.wait(10)
        return "done"

    launch()
    with SetWorkflowID("running"):
        handle = DBOS.start_workflow(slow)
    with (
        SetWorkflowID("running", workflow_id_reuse_policy="reject"),
        pytest.raises(DBOSWorkflowIDInUseError) as refused,
    ):
        DBOS.start_workflow(slow)
    assert refused.value.workflow_status == "PENDING"
    release.set()
    assert handle.get_result() == "done"


def test_reject_applies_to_enqueues_too(launch: Launch, dbos_storage: SystemStorage) -> None:
    queue = Queue("reuse_queue")

    @DBOS.workflow()
    def task(x: int) -> int:
        return x

    launch()
    with SetWorkflowID("task-1", workflow_id_reuse_policy="reject"):
        assert queue.enqueue(task, 1).get_result() == 1
    with (
        SetWorkflowID("task-1", workflow_id_reuse_policy="reject"),
        pytest.raises(DBOSWorkflowIDInUseError),
    ):
        queue.enqueue(task, 2)
    with SetWorkflowID("task-1"):  # the default attaches
        assert queue.enqueue(task, 3).get_result() == 1


def test_the_policy_belongs_to_its_id_and_is_consumed_with_it(launch: Launch) -> None:
    @DBOS.workflow()
    def work() -> str:
        return DBOS.workflow_id or ""

    launch()
    with SetWorkflowID("taken"):
        work()
    with SetWorkflowID("fresh", workflow_id_reuse_policy="reject"):
        assert work() == "fresh"
        assert work() != "fresh"  # the second start has its own new ID, no policy
        with SetWorkflowID("taken"):  # an inner ID without a policy: the default
            assert work() == "taken"


def test_unknown_policies_are_refused_naming_the_value() -> None:
    with pytest.raises(DBOSException, match="unknown workflow_id_reuse_policy 'start-anew'"):
        SetWorkflowID("x", workflow_id_reuse_policy="start-anew")  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="unknown duplication_policy 'ignore'"):
        SetEnqueueOptions(deduplication_id="d", duplication_policy="ignore")  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="needs a deduplication_id"):
        SetEnqueueOptions(duplication_policy="return-existing")


def test_a_child_refused_in_a_workflow_is_recorded_and_replayed(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    @DBOS.workflow()
    def child() -> str:
        return "child"

    @DBOS.workflow()
    def parent() -> str:
        with SetWorkflowID("child-id"):
            first = child()
        try:
            with SetWorkflowID("child-id", workflow_id_reuse_policy="reject"):
                child()
        except DBOSWorkflowIDInUseError as refused:
            return f"{first}, then refused: {refused.workflow_status}"
        return "not refused"

    launch()
    with SetWorkflowID("parent"):
        assert parent() == "child, then refused: SUCCESS"
    steps = dbos_storage.load_steps("parent")
    # The child's start, the wait for its result (DBOS.getResult), the refused start.
    assert [step.child_workflow_id for step in steps] == ["child-id", "child-id", None]
    assert steps[2].error is not None and steps[2].function_name == steps[0].function_name
    # A re-run from step 3 replays the recorded refusal rather than asking storage again.
    forked = DBOS.fork_workflow("parent", 3)
    assert forked.get_result() == "child, then refused: SUCCESS"


def test_a_child_its_parent_created_before_a_crash_is_found_again(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    """The parent created the child, then died before recording that: its rerun with
    "reject" finds its own child rather than a reused ID; a later start of that ID by the
    same parent is refused."""

    @DBOS.workflow()
    def child() -> str:
        return "child"

    @DBOS.workflow()
    def parent() -> str:
        with SetWorkflowID("kid", workflow_id_reuse_policy="reject"):
            first = child()
        with SetWorkflowID("kid", workflow_id_reuse_policy="reject"):
            try:
                child()
            except DBOSWorkflowIDInUseError:
                return first
        return "second start was not refused"

    launch()
    # What the first execution left: the child, naming its parent; no record in the parent.
    inputs = '{"args":[],"kwargs":{}}'
    kid = NewWorkflow("kid", child.__qualname__, inputs, None, None, 1, parent_workflow_id="p")
    dbos_storage.create_workflow(kid)
    dbos_storage.finish_workflow(WorkflowOutcome("kid", "SUCCESS", '"child"', None, 2))
    with SetWorkflowID("p"):
        assert parent() == "child"
    # Another workflow starting that ID with "reject" is refused.
    with (
        SetWorkflowID("kid", workflow_id_reuse_policy="reject"),
        pytest.raises(DBOSWorkflowIDInUseError),
    ):
        child()


def test_duplication_policy_reject_is_the_default(launch: Launch) -> None:
    queue = Queue("dedup_default")
    release = threading.Event()

    @DBOS.workflow()
    def task(x: int) -> int:
        release.wait(10)
        return x

    launch()
    with SetEnqueueOptions(deduplication_id="d"):
        first = queue.enqueue(task, 1)
    for policy in (None, "reject"):
        options = SetEnqueueOptions(deduplication_id="d", duplication_policy=policy)
        with options, pytest.raises(DBOSQueueDeduplicatedError):
            queue.enqueue(task, 2)
    release.set()
    assert first.get_result() == 1


def test_duplication_policy_return_existing_returns_the_holder(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("dedup_return")
    release = threading.Event()
    ran: list[int] = []

    @DBOS.workflow()
    def task(x: int) -> int:
        ran.append(x)
        release.wait(10)
        return x

    launch()
    with SetEnqueueOptions(deduplication_id="d"):
        first = queue.enqueue(task, 1)
    with SetEnqueueOptions(deduplication_id="d", duplication_policy="return-existing"):
        second = queue.enqueue(task, 2)
    assert second.workflow_id == first.workflow_id
    release.set()
    assert second.get_result() == 1
    assert ran == [1]
    # Once the holder finished, the ID is free: the same enqueue makes a new task.
    with SetEnqueueOptions(deduplication_id="d", duplication_policy="return-existing"):
        third = queue.enqueue(task, 3)
    assert third.workflow_id != first.workflow_id
    assert third.get_result() == 3


def test_a_child_enqueue_returned_to_the_holder_is_recorded_as_that_child(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("dedup_child")
    release = threading.Event()

    @DBOS.workflow()
    def task(x: int) -> int:
        release.wait(10)
        return x

    @DBOS.workflow()
    def parent() -> list[str]:
        ids = []
        for x in (1, 2):
            with SetEnqueueOptions(deduplication_id="d", duplication_policy="return-existing"):
                ids.append(queue.enqueue(task, x).workflow_id)
        return ids

    launch()
    with SetWorkflowID("parent"):
        first, second = parent()
    assert first == second
    steps = dbos_storage.load_steps("parent")
    assert [step.child_workflow_id for step in steps] == [first, first]
    release.set()
    assert DBOS.retrieve_workflow(first).get_result() == 1


def test_async_forms_apply_the_policies(launch: Launch) -> None:
    queue = Queue("async_policies")

    release: list[bool] = []

    @DBOS.workflow()
    async def work(x: int) -> int:
        while not release:
            await asyncio.sleep(0.01)
        return x

    launch()

    async def scenario() -> None:
        with SetEnqueueOptions(deduplication_id="a"):
            held = await queue.enqueue_async(work, 3)
        with SetEnqueueOptions(deduplication_id="a", duplication_policy="return-existing"):
            again = await queue.enqueue_async(work, 4)
        assert again.workflow_id == held.workflow_id
        release.append(True)
        assert await again.get_result() == 3
        with SetWorkflowID("async-wf"):
            assert await (await DBOS.start_workflow_async(work, 1)).get_result() == 1
        with (
            SetWorkflowID("async-wf", workflow_id_reuse_policy="reject"),
            pytest.raises(DBOSWorkflowIDInUseError),
        ):
            await DBOS.start_workflow_async(work, 2)

    asyncio.run(scenario())
