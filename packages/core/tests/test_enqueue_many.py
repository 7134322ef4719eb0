"""Batch enqueue (our extension of DBOS's API, issue 17 item 4): `Queue.enqueue_many` (+ async),
`DBOSClient.enqueue_many`, and storage's `create_workflows` on both backends. Each task behaves
as its single enqueue would, in order; a refusal stores nothing of the batch; in a workflow the
batch is one recorded operation (a SIGKILL test: recovery enqueues nothing again)."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSQueueDeduplicatedError,
    DBOSWorkflowConflictIDError,
    EnqueueCall,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
    SystemStorage,
)
from dbos.storage import NewWorkflow, WorkflowQuery
from dbos_client import DBOSClient

Launch = Callable[..., None]
APP = Path(__file__).parent / "apps" / "enqueue_many_app.py"


def _ids(storage: SystemStorage, queue_name: str) -> list[str]:
    """The queue's tasks in claim order (priority, then enqueue order)."""
    rows = storage.list_workflows(WorkflowQuery(queue_name=queue_name, load_inputs=False))
    rows.sort(key=lambda r: (r.priority, r.created_at_ms))
    return [r.workflow_id for r in rows]


def test_enqueue_many_returns_a_handle_per_task_in_order(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("many", priority_enabled=True)

    @DBOS.workflow()
    def add(a: int, b: int = 0) -> int:
        return a + b

    launch()
    handles = queue.enqueue_many(
        add, [(1,), (2, 3), EnqueueCall(args=(4,), kwargs={"b": 5})], workflow_ids=["a", "b", "c"]
    )
    assert [h.workflow_id for h in handles] == ["a", "b", "c"]
    assert [h.get_result() for h in handles] == [1, 5, 9]
    rows = [dbos_storage.get_workflow(w) for w in ("a", "b", "c")]
    assert [r.queue_name for r in rows if r is not None] == ["many"] * 3
    # Stored in the batch's order (the claim order of equal priorities).
    seqs = [r.created_at_ms for r in rows if r is not None]
    assert seqs == sorted(seqs)
    # Random IDs by default, the async form, an empty batch.
    more = asyncio.run(queue.enqueue_many_async(add, [(10,), (20,)]))
    assert [asyncio.run(h.get_result()) for h in more] == [10, 20]
    assert len({h.workflow_id for h in more}) == 2
    assert queue.enqueue_many(add, []) == []


def test_enqueue_many_keeps_the_batch_order_for_the_worker(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("ordered", worker_concurrency=1)
    ran: list[int] = []

    @DBOS.workflow()
    def record(i: int) -> None:
        ran.append(i)

    launch()
    handles = queue.enqueue_many(record, [(i,) for i in range(20)])
    for handle in handles:
        handle.get_result()
    assert ran == list(range(20))


def test_existing_and_repeated_ids_return_that_workflow(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("ids")

    @DBOS.workflow()
    def echo(x: Any) -> Any:
        return x

    launch()
    with SetWorkflowID("stored"):
        queue.enqueue(echo, "first").get_result()
    handles = queue.enqueue_many(
        echo, [("new",), ("ignored",), ("twice",), ("again",)],
        workflow_ids=["fresh", "stored", "dup", "dup"],
    )  # fmt: skip
    assert [h.workflow_id for h in handles] == ["fresh", "stored", "dup", "dup"]
    assert [h.get_result() for h in handles] == ["new", "first", "twice", "twice"]


def test_a_deduplication_conflict_refuses_the_whole_batch(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("dedup")
    gate: list[int] = []

    @DBOS.workflow()
    def held(x: int) -> int:
        while not gate:
            DBOS.sleep(0.05)
        return x

    launch()
    with SetWorkflowID("holder"), SetEnqueueOptions(deduplication_id="k"):
        holder = queue.enqueue(held, 0)
    # Conflict with a stored task: nothing of the batch is stored.
    with pytest.raises(DBOSQueueDeduplicatedError) as caught:
        queue.enqueue_many(
            held,
            [(1,), EnqueueCall(args=(2,), deduplication_id="k"), (3,)],
            workflow_ids=["n1", "n2", "n3"],
        )
    assert caught.value.workflow_id == "n2" and caught.value.deduplication_id == "k"
    assert [dbos_storage.get_workflow(w) for w in ("n1", "n2", "n3")] == [None] * 3
    # Conflict inside the batch: refused before anything is written, and the message says
    # the batch repeats the ID (no stored task holds it).
    with pytest.raises(DBOSQueueDeduplicatedError) as caught:
        queue.enqueue_many(
            held,
            [EnqueueCall(args=(4,), deduplication_id="j"), (0,), EnqueueCall((5,), {}, "j")],
            workflow_ids=["m1", "m0", "m2"],
        )
    assert caught.value.batch_tasks == (0, 2) and caught.value.workflow_id == "m2"
    assert "the batch itself repeats deduplication ID 'j'" in str(caught.value)
    assert "(tasks 0 and 2)" in str(caught.value) and "already has" not in str(caught.value)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert str(copy) == str(caught.value) and copy.batch_tasks == (0, 2)
    assert dbos_storage.get_workflow("m1") is None
    # "return-existing": the held tasks return the holders, the others are enqueued.
    handles = queue.enqueue_many(
        held,
        [EnqueueCall((6,), {}, "k"), (7,), EnqueueCall((8,), {}, "j"), EnqueueCall((9,), {}, "j")],
        workflow_ids=["r1", "r2", "r3", "r4"],
        duplication_policy="return-existing",
    )
    assert [h.workflow_id for h in handles] == ["holder", "r2", "r3", "r3"]
    assert dbos_storage.get_workflow("r1") is None and dbos_storage.get_workflow("r4") is None
    gate.append(1)
    assert [h.get_result() for h in handles] == [0, 7, 8, 8]
    assert holder.get_result() == 0


def test_an_id_of_another_workflow_refuses_the_whole_batch(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("names")

    @DBOS.workflow()
    def one() -> int:
        return 1

    @DBOS.workflow()
    def two() -> int:
        return 2

    launch()
    with SetWorkflowID("taken"):
        queue.enqueue(one).get_result()
    with pytest.raises(DBOSWorkflowConflictIDError):
        queue.enqueue_many(two, [(), ()], workflow_ids=["free", "taken"])
    assert dbos_storage.get_workflow("free") is None


def test_enqueue_many_refuses_bad_input_clearly(launch: Launch) -> None:
    queue = Queue("bad")
    plain = Queue("plain")

    @DBOS.workflow()
    def work(x: int = 0) -> int:
        return x

    launch()
    with pytest.raises(DBOSException, match="one per task"):
        queue.enqueue_many(work, [(1,), (2,)], workflow_ids=["only-one"])
    with pytest.raises(DBOSException, match="tuple of positional arguments or an EnqueueCall"):
        queue.enqueue_many(work, [1])  # type: ignore[arg-type, list-item]
    with pytest.raises(DBOSException, match="list of tasks"):
        queue.enqueue_many(work, (x for x in [(1,)]))  # type: ignore[call-overload]
    with pytest.raises(DBOSException, match="priority must be an integer"):
        queue.enqueue_many(work, [EnqueueCall(priority=-1)])
    with pytest.raises(DBOSException, match="priority_enabled"):
        plain.enqueue_many(work, [EnqueueCall(priority=1)])
    with pytest.raises(DBOSException, match="SetWorkflowID"), SetWorkflowID("x"):
        queue.enqueue_many(work, [(1,)])
    with (
        pytest.raises(DBOSException, match="names one task"),
        SetEnqueueOptions(deduplication_id="d"),
    ):
        queue.enqueue_many(work, [(1,)])
    with pytest.raises(DBOSException, match="needs a deduplication_id"):
        queue.enqueue_many(work, [(1,)], duplication_policy="return-existing")
    # The policy of a batch is enqueue_many's keyword; the option's error says so.
    with pytest.raises(
        DBOSException, match=r"for a batch, pass it to enqueue_many\(\.\.\., duplication_policy"
    ):
        SetEnqueueOptions(duplication_policy="return-existing")


def test_enqueue_many_in_a_workflow_is_one_recorded_operation(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("children")

    @DBOS.workflow()
    def child(i: int) -> int:
        return i * i

    @DBOS.workflow()
    def parent() -> list[int]:
        handles = queue.enqueue_many(child, [(i,) for i in range(3)])
        return [h.get_result() for h in handles]

    launch()
    with SetWorkflowID("p"):
        assert DBOS.start_workflow(parent).get_result() == [0, 1, 4]
    steps = dbos_storage.load_steps("p")
    batch = [s for s in steps if s.function_name == "DBOS.enqueue_many"]
    assert len(batch) == 1
    base = f"p-{batch[0].function_id}"
    children = dbos_storage.list_workflows(WorkflowQuery(parent_workflow_id="p"))
    assert sorted(r.workflow_id for r in children) == [f"{base}-{i}" for i in range(3)]
    assert len(dbos_storage.list_workflows(WorkflowQuery(queue_name="children"))) == 3


def test_client_enqueue_many(
    launch: Launch, dbos_storage: SystemStorage, dbos_system_database_url: str
) -> None:
    Queue("remote", priority_enabled=True)

    @DBOS.workflow()
    def greet(name: str, punctuation: str = "!") -> str:
        return f"hi {name}{punctuation}"

    launch()
    client = DBOSClient(dbos_system_database_url)
    try:
        options: Any = {"workflow_name": _registered_name(greet), "queue_name": "remote"}

        def with_options(**extra: Any) -> Any:
            return {**options, **extra}

        handles = client.enqueue_many(
            with_options(priority=2),
            [("a",), EnqueueCall(("b",), {"punctuation": "?"}, priority=1)],
            workflow_ids=["c1", "c2"],
        )
        assert [h.get_result() for h in handles] == ["hi a!", "hi b?"]
        row = dbos_storage.get_workflow("c2")
        assert row is not None and row.priority == 1
        row = dbos_storage.get_workflow("c1")
        assert row is not None and row.priority == 2
        more = asyncio.run(client.enqueue_many_async(options, [("c",)]))
        assert asyncio.run(more[0].get_result()) == "hi c!"
        with pytest.raises(DBOSException, match="names one task"):
            client.enqueue_many(with_options(workflow_id="x"), [("d",)])
        with pytest.raises(DBOSException, match="'reject' is not supported"):
            client.enqueue_many(with_options(workflow_id_reuse_policy="reject"), [("d",)])
        # Delayed, so that it holds its deduplication ID for the whole test.
        client.enqueue(with_options(deduplication_id="z", delay_seconds=3600), "z")
        with pytest.raises(DBOSQueueDeduplicatedError):
            client.enqueue_many(options, [("e",), EnqueueCall(("f",), deduplication_id="z")])
        with pytest.raises(DBOSQueueDeduplicatedError, match=r"repeats .* \(tasks 0 and 1\)"):
            client.enqueue_many(options, [EnqueueCall(("g",), deduplication_id="y")] * 2)
    finally:
        client.destroy()


def _registered_name(func: Any) -> str:
    from dbos._engine.registry import registration_of

    return registration_of(func).name


def _new(workflow_id: str, name: str = "w", dedup: str | None = None) -> NewWorkflow:
    return NewWorkflow(
        workflow_id=workflow_id,
        name=name,
        inputs="[]",
        executor_id=None,
        application_version=None,
        created_at_ms=int(time.time() * 1000),
        queue_name="q",
        status="ENQUEUED",
        deduplication_id=dedup,
    )


def test_storage_create_workflows_is_all_or_nothing(dbos_storage: SystemStorage) -> None:
    assert dbos_storage.create_workflows(()) == []
    inits = dbos_storage.create_workflows((_new("s1"), _new("s2", dedup="d")))
    assert [(i.created, i.row.workflow_id) for i in inits] == [(True, "s1"), (True, "s2")]
    inits = dbos_storage.create_workflows((_new("s3"), _new("s1")))
    assert [(i.created, i.row.workflow_id) for i in inits] == [(True, "s3"), (False, "s1")]
    with pytest.raises(DBOSQueueDeduplicatedError) as caught:
        dbos_storage.create_workflows((_new("s4"), _new("s5", dedup="d")))
    assert caught.value.workflow_id == "s5"
    with pytest.raises(DBOSWorkflowConflictIDError):
        dbos_storage.create_workflows((_new("s6"), _new("s1", name="other")))
    assert dbos_storage.get_workflow("s4") is None and dbos_storage.get_workflow("s6") is None


@pytest.mark.slow
def test_a_batch_in_a_killed_workflow_is_not_enqueued_again(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    def start(mode: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(APP), dbos_system_database_url, str(tmp_path), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )

    first = start("enqueue")
    marker = tmp_path / "ids.json"
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert first.poll() is None, first.communicate()[1]
        assert time.monotonic() < deadline, "the app never enqueued its batch"
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    ids = json.loads(marker.read_text())
    batch = [s for s in dbos_storage.load_steps("parent") if s.function_name == "DBOS.enqueue_many"]
    assert len(batch) == 1
    assert ids == [f"parent-{batch[0].function_id}-{i}" for i in range(5)]

    second = start("recover")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["result"] == [0, 10, 20, 30, 40]
    children = dbos_storage.list_workflows(WorkflowQuery(parent_workflow_id="parent"))
    assert sorted(r.workflow_id for r in children) == sorted(ids)  # no second batch
    steps = [s for s in dbos_storage.load_steps("parent") if s.function_name == "DBOS.enqueue_many"]
    assert len(steps) == 1
    effects = (tmp_path / "effects.log").read_text().splitlines()
    # Each task ran (a task the kill interrupted runs again: workflows are at least once).
    assert {int(line.split()[0]) for line in effects} == set(range(5))
