"""DBOS Transact 3.4's keywords of the lifecycle calls: ``cancel_children`` (a cancel that
reaches every descendant), a resume's ``queue_name`` (the workflow waits on that queue) and
``shard_key`` (accepted only as None), in their sync, async and bulk forms, and recorded as
operations when called from a workflow body."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSWorkflowCancelledError,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
)

Launch = Callable[..., None]

#: Far longer than any test here takes: a leaf not cancelled holds the test to its timeout.
LONG_S = 120

kw_queue = Queue("kw_queue")
gated_queue = Queue("kw_gated_queue", concurrency=1)
partitioned = Queue("kw_partitioned", partition_queue=True)

STARTED: dict[str, threading.Event] = {}
RUNS: dict[str, int] = {}
GATE = threading.Event()


def started(workflow_id: str) -> threading.Event:
    return STARTED.setdefault(workflow_id, threading.Event())


@DBOS.step(name="kw.mark")
def mark() -> None:
    pass


@DBOS.workflow(name="kw.leaf")
def leaf() -> str:
    workflow_id = DBOS.workflow_id
    assert workflow_id is not None
    started(workflow_id).set()
    DBOS.recv("never", timeout_seconds=LONG_S)
    return "leaf"


@DBOS.workflow(name="kw.spawner")
def spawner(leaf_id: str) -> str:
    # Finishes while its child still runs: a cascade goes through it to that child.
    with SetWorkflowID(leaf_id):
        DBOS.start_workflow(leaf)
    return "spawned"


@DBOS.workflow(name="kw.middle")
def middle(leaf_id: str) -> str:
    with SetWorkflowID(leaf_id):
        handle = DBOS.start_workflow(leaf)
    return handle.get_result()


@DBOS.workflow(name="kw.root")
def root(prefix: str) -> str:
    with SetWorkflowID(f"{prefix}-done"):
        DBOS.start_workflow(spawner, f"{prefix}-orphan").get_result()
    with SetWorkflowID(f"{prefix}-middle"):
        handle = DBOS.start_workflow(middle, f"{prefix}-leaf")
    return handle.get_result()


def start_tree(prefix: str) -> None:
    """root -> done (SUCCESS) -> orphan (waiting); root -> middle -> leaf (waiting)."""
    with SetWorkflowID(prefix):
        DBOS.start_workflow(root, prefix)
    assert started(f"{prefix}-orphan").wait(LONG_S)
    assert started(f"{prefix}-leaf").wait(LONG_S)


def statuses(prefix: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for suffix in ("", "-done", "-orphan", "-middle", "-leaf"):
        status = DBOS.get_workflow_status(prefix + suffix)
        assert status is not None
        found[suffix or "root"] = status.status
    return found


def assert_stopped(workflow_id: str) -> None:
    with pytest.raises(DBOSWorkflowCancelledError):
        DBOS.retrieve_workflow(workflow_id).get_result()


ALL_CANCELLED = {
    "root": "CANCELLED",
    "-done": "SUCCESS",
    "-orphan": "CANCELLED",
    "-middle": "CANCELLED",
    "-leaf": "CANCELLED",
}


@pytest.mark.parametrize("form", ["one", "many", "async one", "async many"])
def test_cancel_children_reaches_every_descendant(launch: Launch, form: str) -> None:
    launch()
    prefix = f"tree-{form.replace(' ', '-')}"
    start_tree(prefix)
    if form == "one":
        DBOS.cancel_workflow(prefix, cancel_children=True)
    elif form == "many":
        DBOS.cancel_workflows([prefix], cancel_children=True)
    elif form == "async one":
        asyncio.run(DBOS.cancel_workflow_async(prefix, cancel_children=True))
    else:
        asyncio.run(DBOS.cancel_workflows_async([prefix], cancel_children=True))
    assert statuses(prefix) == ALL_CANCELLED
    # Each running descendant was told, as the workflow cancelled by name is: its wait ends.
    for suffix in ("-orphan", "-leaf", "-middle", ""):
        assert_stopped(prefix + suffix)


def test_without_cancel_children_only_the_workflow_is_cancelled(launch: Launch) -> None:
    launch()
    start_tree("lone")
    DBOS.cancel_workflow("lone")
    assert statuses("lone") == {
        "root": "CANCELLED",
        "-done": "SUCCESS",
        "-orphan": "PENDING",
        "-middle": "PENDING",
        "-leaf": "PENDING",
    }
    # A cancel of a finished workflow's tree: the finished one stays, its children do not.
    DBOS.cancel_workflow("lone-done", cancel_children=True)
    assert DBOS.get_workflow_status("lone-orphan").status == "CANCELLED"  # type: ignore[union-attr]
    DBOS.cancel_workflow("lone-middle", cancel_children=True)
    assert statuses("lone") == ALL_CANCELLED


@DBOS.workflow(name="kw.target")
def target(key: str) -> str:
    RUNS[key] = RUNS.get(key, 0) + 1
    mark()
    return key


@DBOS.workflow(name="kw.hold")
def hold() -> None:
    workflow_id = DBOS.workflow_id
    assert workflow_id is not None
    started(workflow_id).set()
    GATE.wait(LONG_S)


def cancelled_target(workflow_id: str) -> None:
    """`target` enqueued with a delay, then cancelled before it ran."""
    with SetEnqueueOptions(delay_seconds=3600), SetWorkflowID(workflow_id):
        kw_queue.enqueue(target, workflow_id)
    DBOS.cancel_workflow(workflow_id)


def queue_of(workflow_id: str) -> str | None:
    status = DBOS.get_workflow_status(workflow_id)
    assert status is not None
    return status.queue_name


@pytest.mark.parametrize("form", ["one", "many", "async one", "async many"])
def test_resume_onto_a_named_queue_waits_there(launch: Launch, form: str) -> None:
    launch()
    GATE.clear()
    workflow_id = f"onto-{form.replace(' ', '-')}"
    cancelled_target(workflow_id)
    blocker = gated_queue.enqueue(hold)
    assert started(blocker.workflow_id).wait(LONG_S)  # the queue's one slot is taken
    if form == "one":
        handle: Any = DBOS.resume_workflow(workflow_id, queue_name=gated_queue.name)
    elif form == "many":
        (handle,) = DBOS.resume_workflows([workflow_id], queue_name=gated_queue.name)
    elif form == "async one":
        handle = asyncio.run(DBOS.resume_workflow_async(workflow_id, queue_name=gated_queue.name))
    else:
        (handle,) = asyncio.run(
            DBOS.resume_workflows_async([workflow_id], queue_name=gated_queue.name)
        )
    assert handle.workflow_id == workflow_id
    # Not run in this process at once (as a resume without a queue is): it waits its turn.
    status = DBOS.get_workflow_status(workflow_id)
    assert status is not None and status.status == "ENQUEUED"
    assert status.queue_name == gated_queue.name
    assert RUNS.get(workflow_id, 0) == 0
    GATE.set()
    blocker.get_result()
    assert DBOS.retrieve_workflow(workflow_id).get_result() == workflow_id
    assert RUNS[workflow_id] == 1
    assert queue_of(workflow_id) == gated_queue.name


def test_resume_onto_an_undeclared_queue_warns_and_waits(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    launch()
    cancelled_target("nowhere-1")
    with caplog.at_level(logging.WARNING, logger="dbos"):
        DBOS.resume_workflow("nowhere-1", queue_name="kw_no_such_queue")
    assert "'kw_no_such_queue' is not declared by any process" in caplog.text
    status = DBOS.get_workflow_status("nowhere-1")
    assert status is not None and status.status == "ENQUEUED"
    assert status.queue_name == "kw_no_such_queue"
    DBOS.cancel_workflow("nowhere-1")


def test_resume_onto_a_queue_that_does_not_fit_changes_nothing(launch: Launch) -> None:
    launch()
    cancelled_target("unfit-1")
    with pytest.raises(DBOSException, match="'kw_partitioned' is partitioned"):
        DBOS.resume_workflow("unfit-1", queue_name=partitioned.name)
    for bad in ("", "  ", 7):
        with pytest.raises(DBOSException, match="queue_name must be a non-empty string"):
            DBOS.resume_workflow("unfit-1", queue_name=bad)  # type: ignore[arg-type]
    status = DBOS.get_workflow_status("unfit-1")
    assert status is not None and status.status == "CANCELLED"


def shard_key_calls() -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("cancel_workflow", lambda: DBOS.cancel_workflow("sk", shard_key="s1")),
        ("cancel_workflows", lambda: DBOS.cancel_workflows(["sk"], shard_key="s1")),
        ("resume_workflow", lambda: DBOS.resume_workflow("sk", shard_key="s1")),
        ("resume_workflows", lambda: DBOS.resume_workflows(["sk"], shard_key="s1")),
        ("delete_workflow", lambda: DBOS.delete_workflow("sk", shard_key="s1")),
        ("delete_workflows", lambda: DBOS.delete_workflows(["sk"], shard_key="s1")),
        (
            "cancel_workflow",
            lambda: asyncio.run(DBOS.cancel_workflow_async("sk", shard_key="s1")),
        ),
        (
            "resume_workflows",
            lambda: asyncio.run(DBOS.resume_workflows_async(["sk"], shard_key="s1")),
        ),
        (
            "delete_workflows",
            lambda: asyncio.run(DBOS.delete_workflows_async(["sk"], shard_key="s1")),
        ),
        # The other management calls that take 3.4's shard_key.
        ("get_workflow_status", lambda: DBOS.get_workflow_status("sk", shard_key="s1")),
        ("list_workflow_steps", lambda: DBOS.list_workflow_steps("sk", shard_key="s1")),
        ("retrieve_workflow", lambda: DBOS.retrieve_workflow("sk", shard_key="s1")),
        ("get_result", lambda: DBOS.get_result("sk", shard_key="s1")),
        ("rewind_workflow", lambda: DBOS.rewind_workflow("sk", shard_key="s1")),
        (
            "set_workflow_delay",
            lambda: DBOS.set_workflow_delay("sk", delay_seconds=1, shard_key="s1"),
        ),
        (
            "update_workflow_attributes",
            lambda: DBOS.update_workflow_attributes("sk", {"a": 1}, shard_key="s1"),
        ),
        (
            "retrieve_workflow",
            lambda: asyncio.run(DBOS.retrieve_workflow_async("sk", shard_key="s1")),
        ),
        ("get_result", lambda: asyncio.run(DBOS.get_result_async("sk", shard_key="s1"))),
    ]


def test_a_shard_key_is_refused_and_nothing_changes(launch: Launch) -> None:
    launch()
    cancelled_target("sk")
    for name, call in shard_key_calls():
        with pytest.raises(DBOSException, match=f"{name}: shard_key is not supported"):
            call()
    status = DBOS.get_workflow_status("sk", shard_key=None)
    assert status is not None and status.status == "CANCELLED" and status.attributes is None
    # list_workflow_steps takes the ID under 3.4's keyword name.
    assert DBOS.list_workflow_steps(workflow_id="sk", shard_key=None) == []
    # None is DBOS Transact's default, and is accepted.
    DBOS.resume_workflow("sk", queue_name=kw_queue.name, shard_key=None)
    DBOS.cancel_workflows(["sk"], cancel_children=False, shard_key=None)
    DBOS.delete_workflows(["sk"], delete_children=True, shard_key=None)
    assert DBOS.get_workflow_status("sk") is None


@DBOS.workflow(name="kw.parent_of_delayed")
def parent_of_delayed(child_id: str) -> str:
    with SetEnqueueOptions(delay_seconds=3600), SetWorkflowID(child_id):
        kw_queue.enqueue(target, child_id)
    return "parent"


@DBOS.workflow(name="kw.caller")
def caller(tree: str, other: str) -> str:
    DBOS.cancel_workflow(tree, cancel_children=True)
    result = DBOS.resume_workflow(other, queue_name=kw_queue.name).get_result()
    mark()
    return str(result)


def test_keywords_are_recorded_and_not_acted_on_again(launch: Launch) -> None:
    launch()
    with SetWorkflowID("rec-parent"):
        parent_of_delayed("rec-child")
    cancelled_target("rec-other")
    with SetWorkflowID("rec-caller"):
        assert caller("rec-parent", "rec-other") == "rec-other"
    names = [step["function_name"] for step in DBOS.list_workflow_steps("rec-caller")]
    assert names == ["DBOS.cancelWorkflow", "DBOS.resumeWorkflow", "DBOS.getResult", "kw.mark"]
    assert DBOS.get_workflow_status("rec-child").status == "CANCELLED"  # type: ignore[union-attr]
    assert queue_of("rec-other") == kw_queue.name and RUNS["rec-other"] == 1
    # The child waits again (on a queue no process serves); a replay of the caller must
    # neither cancel it again nor run "rec-other" again.
    DBOS.resume_workflow("rec-child", queue_name="kw_unserved")
    replay = DBOS.fork_workflow("rec-caller", len(names) + 1)
    assert replay.get_result() == "rec-other"
    assert DBOS.get_workflow_status("rec-child").status == "ENQUEUED"  # type: ignore[union-attr]
    assert RUNS["rec-other"] == 1
    DBOS.cancel_workflow("rec-child")


def test_listing_keywords_of_3_4(launch: Launch) -> None:
    launch()
    with SetWorkflowID("ls-parent"):
        parent_of_delayed("ls-child")  # a task of kw_queue, child of ls-parent
    run_id = "ls-plain"
    with SetWorkflowID(run_id):
        target(run_id)  # never queued
    cancelled_target("ls-cancelled")  # queued once, CANCELLED now
    queued = {s.workflow_id for s in DBOS.list_workflows(queues_only=True)}
    assert "ls-child" in queued and not {"ls-parent", run_id} & queued
    # list_queued_workflows takes list_workflows' filters (DBOS Transact 3.4).
    (child,) = DBOS.list_queued_workflows(parent_workflow_id="ls-parent", has_parent=True)
    assert child.workflow_id == "ls-child" and child.status == "ENQUEUED"
    assert DBOS.list_queued_workflows(workflow_ids=["ls-cancelled"]) == []  # not waiting
    (again,) = DBOS.list_queued_workflows(
        workflow_id_prefix="ls-", status=["ENQUEUED"], queue_name=[kw_queue.name, "other"]
    )
    assert again.workflow_id == "ls-child"
    refused: list[tuple[Callable[[], object], str]] = [
        (lambda: DBOS.list_workflows(shard_key="s"), "shard_key"),
        (lambda: DBOS.list_workflows(parent_shard_key=["s"]), "parent_shard_key"),
        (lambda: DBOS.list_queued_workflows(shard_key=["s"]), "shard_key"),
    ]
    for call, keyword in refused:
        with pytest.raises(DBOSException, match=f"{keyword} is not supported"):
            call()
    with pytest.raises(DBOSException, match="queues_only must be True or False"):
        DBOS.list_workflows(queues_only="yes")  # type: ignore[arg-type]
    DBOS.cancel_workflow("ls-child")
