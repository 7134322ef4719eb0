"""Mistakes fail where they are made: at decoration, at the call, naming what is wrong."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSConfigError,
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSSerializationError,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
)
from dbos._registry import clear_scheduled
from dbos_client import DBOSClient

Launch = Callable[..., None]
LONE_SURROGATE = "caf\udce9"  # what b"caf\xe9".decode("utf-8", "surrogateescape") gives


@pytest.fixture
def client(launch: Launch, dbos_system_database_url: str) -> Iterator[DBOSClient]:
    launch()
    with DBOSClient(dbos_system_database_url) as opened:
        yield opened


# --- scheduled workflows -----------------------------------------------------------------------


@pytest.fixture
def no_leftover_schedules() -> Iterator[None]:
    yield
    clear_scheduled()


@pytest.mark.usefixtures("no_leftover_schedules")
def test_scheduled_signature_is_checked_at_decoration() -> None:
    def takes_nothing() -> None: ...

    def takes_one(scheduled_time: datetime) -> None: ...

    def needs_three(scheduled_time: datetime, actual_time: datetime, more: int) -> None: ...

    for func in (takes_nothing, takes_one, needs_three):
        workflow = DBOS.workflow()(func)
        with pytest.raises(DBOSConfigError, match=rf"{func.__name__}.*scheduled_time"):
            DBOS.scheduled("* * * * *")(workflow)  # type: ignore[type-var]


@pytest.mark.usefixtures("no_leftover_schedules")
def test_scheduled_signatures_that_fit_are_accepted() -> None:
    def named(scheduled_time: datetime, actual_time: datetime) -> None: ...

    def variadic(*times: datetime) -> None: ...

    def with_default(a: datetime, b: datetime, extra: int = 0) -> None: ...

    for func in (named, variadic, with_default):
        DBOS.scheduled("* * * * *")(DBOS.workflow()(func))


# --- enqueue options without a queue -----------------------------------------------------------


def test_enqueue_options_around_start_workflow_are_refused(launch: Launch) -> None:
    queue = Queue("mistakes-queue")

    @DBOS.workflow()
    def job() -> str:
        return "done"

    launch()
    with SetEnqueueOptions(deduplication_id="d1"):
        with pytest.raises(DBOSException, match=r"deduplication_id='d1'.*queue\.enqueue"):
            DBOS.start_workflow(job)
        assert queue.enqueue(job).get_result() == "done"  # the enqueue they were meant for

    async def start_async() -> None:
        with SetEnqueueOptions(delay_seconds=5):
            await DBOS.start_workflow_async(job)

    with pytest.raises(DBOSException, match="delay_seconds=5"):
        asyncio.run(start_async())
    assert DBOS.list_workflows(name=job.__qualname__, status="ENQUEUED") == []
    assert DBOS.start_workflow(job).get_result() == "done"  # outside the block: fine


# --- blank workflow IDs ------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_workflow_ids_are_refused_everywhere(client: DBOSClient, blank: str) -> None:
    @DBOS.workflow()
    def target() -> None:
        DBOS.recv(timeout_seconds=0)

    handle = DBOS.start_workflow(target)
    handle.get_result()
    with pytest.raises(DBOSException, match="SetWorkflowID"):
        SetWorkflowID(blank)
    with pytest.raises(DBOSException, match="'workflow_id'"):
        client.enqueue(
            {"workflow_name": "target", "queue_name": "q", "workflow_id": blank}  # type: ignore[typeddict-item]
        )
    with pytest.raises(DBOSException, match="forked workflow"):
        client.fork_workflow(handle.workflow_id, 0, forked_workflow_id=blank)
    refused: list[Callable[[], Any]] = [
        lambda: DBOS.send(blank, "hi"),
        lambda: client.send(blank, "hi"),
        lambda: DBOS.cancel_workflow(blank),
        lambda: DBOS.resume_workflow(blank),
        lambda: client.resume_workflow(blank),
        lambda: client.delete_workflow(blank),
        lambda: DBOS.get_event(blank, "key", timeout_seconds=0),
        lambda: list(DBOS.read_stream(blank, "key")),
    ]
    for call in refused:
        with pytest.raises(DBOSException, match="non-whitespace"):
            call()
    assert len(DBOS.list_workflows()) == 1  # nothing was created under a blank ID


# --- streams of workflows that do not exist ----------------------------------------------------


@pytest.mark.timeout(30)
def test_read_stream_of_a_missing_workflow_raises(client: DBOSClient) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError, match="nope"):
        next(DBOS.read_stream("nope", "out"))
    with pytest.raises(DBOSNonExistentWorkflowError, match="nope"):
        next(client.read_stream("nope", "out"))

    async def read_async() -> list[Any]:
        found = []
        for reader in (
            DBOS.read_stream_async("nope", "out"),
            client.read_stream_async("nope", "out"),
        ):
            with pytest.raises(DBOSNonExistentWorkflowError):
                await reader.__anext__()
            found.append(True)
        return found

    assert asyncio.run(read_async()) == [True, True]


# --- values that cannot be stored --------------------------------------------------------------


def test_lone_surrogate_argument_is_a_serialization_error(client: DBOSClient) -> None:
    @DBOS.workflow()
    def greet(name: str, *, greeting: str = "hello") -> str:
        return f"{greeting} {name}"

    with pytest.raises(DBOSSerializationError, match=r"argument 'name' \(position 0\).*surrogate"):
        greet(LONE_SURROGATE)
    with pytest.raises(DBOSSerializationError, match=r"argument 'greeting' of .*surrogate"):
        DBOS.start_workflow(greet, "ok", greeting={"nested": [LONE_SURROGATE]})  # type: ignore[arg-type]
    with pytest.raises(DBOSSerializationError, match=r"argument at position 0 of .*'greet'"):
        client.enqueue({"workflow_name": "greet", "queue_name": "q"}, LONE_SURROGATE)
    assert DBOS.list_workflows() == []
    assert greet("ok") == "hello ok"


def test_lone_surrogate_results_and_messages(client: DBOSClient) -> None:
    @DBOS.step()
    def read_name() -> str:
        return LONE_SURROGATE

    @DBOS.workflow()
    def uses_step() -> str:
        return read_name()

    @DBOS.workflow()
    def returns_it() -> str:
        return LONE_SURROGATE

    with pytest.raises(DBOSSerializationError, match=r"return value of step .*read_name"):
        uses_step()
    with pytest.raises(DBOSSerializationError, match=r"return value of workflow .*returns_it"):
        returns_it()
    handle = DBOS.start_workflow(returns_it)
    with pytest.raises(DBOSSerializationError):
        handle.get_result()
    assert handle.get_status().status == "ERROR"
    with pytest.raises(DBOSSerializationError, match="message to workflow"):
        client.send(handle.workflow_id, LONE_SURROGATE)


def test_unserializable_values_are_named(launch: Launch) -> None:
    @DBOS.workflow()
    def process(order: dict[str, Any], *, note: Any = None) -> Any:
        return threading.Lock() if order.get("lock_back") else None

    launch()
    with pytest.raises(DBOSSerializationError) as caught:
        process({"id": 1, "lock": threading.Lock()})
    message = str(caught.value)
    assert message.startswith("argument 'order' (position 0) of workflow ")
    assert "process' cannot be stored: a value of type dict cannot be serialized" in message
    with pytest.raises(DBOSSerializationError, match=r"^argument 'note' of workflow .*lock"):
        process({"id": 1}, note=threading.Lock())
    with pytest.raises(DBOSSerializationError) as caught:
        process({"lock_back": True})
    assert str(caught.value).startswith("the return value of workflow ")
    assert "cannot be stored: a value of type lock cannot be serialized: " in str(caught.value)
