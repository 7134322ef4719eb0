"""Mistakes fail where they are made: at decoration, at the call, naming what is wrong."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import uuid
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
from dbos._engine.registry import clear_scheduled
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
            DBOS.scheduled("* * * * *")(workflow)


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
        client.enqueue({"workflow_name": "target", "queue_name": "q", "workflow_id": blank})
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


ID_PARAMETERS = ("workflow_id", "workflow_ids", "destination_id", "workflow")
#: Values for the other parameters of the calls that take an ID.
OTHER_ARGUMENTS: dict[str, Any] = {
    "application_version": "v",
    "key": "k",
    "message": "m",
    "offset": 0,
    "start_step": 0,
    "topic": "t",
    "attributes": {"a": 1},
    # send_in_transaction checks the destination ID before it touches the connection.
    "conn_or_session": None,
    # enqueue_many: one task, its ID blank.
    "options": {"workflow_name": "target", "queue_name": "q"},
    "calls": [()],
}


_LISTINGS = ("list_workflows", "list_queued_workflows")


def _id_taking_calls(client: DBOSClient) -> list[tuple[str, Callable[..., Any], str]]:
    """Every public call of DBOS and DBOSClient with a workflow ID parameter (found by name,
    so that a call added later is covered), as (label, bound call, the ID parameter)."""
    found = []
    for owner in (DBOS, client):
        for name in sorted(dir(owner)):
            call = getattr(owner, name)
            if name.startswith("_") or not callable(call) or name.startswith(_LISTINGS):
                continue  # a listing's workflow_ids is a filter (checked for text below)
            try:
                parameters = inspect.signature(call).parameters
            except (TypeError, ValueError):
                continue
            for parameter in parameters:
                if parameter in ID_PARAMETERS:
                    found.append((f"{type(owner).__name__}.{name}", call, parameter))
    return found


def _invoke(call: Callable[..., Any], id_parameter: str, bad: str, **overrides: Any) -> None:
    """Call `call` with `bad` as its ID (in a list for a plural parameter), running what it
    returns (a coroutine, a generator, an async generator) far enough to fail."""
    parameters = inspect.signature(call).parameters
    kwargs = {name: value for name, value in OTHER_ARGUMENTS.items() if name in parameters}
    kwargs.update({name: value for name, value in overrides.items() if name in parameters})
    if "timeout_seconds" in parameters:
        kwargs["timeout_seconds"] = 0
    kwargs[id_parameter] = [bad] if id_parameter.endswith("_ids") else bad
    result = call(**kwargs)
    if inspect.iscoroutine(result):
        asyncio.run(result)
    elif inspect.isasyncgen(result):
        asyncio.run(result.__anext__())
    elif inspect.isgenerator(result):
        next(result)


@pytest.mark.parametrize("blank", ["", " "])
def test_every_call_taking_an_id_refuses_a_blank_one(client: DBOSClient, blank: str) -> None:
    """retrieve_workflow, get_workflow_status, list_workflow_steps... raise the documented
    blank-ID error like the others (not DBOSNonExistentWorkflowError, not None)."""
    calls = _id_taking_calls(client)
    assert len(calls) > 40
    for label, call, id_parameter in calls:
        with pytest.raises(DBOSException, match="non-whitespace") as info:
            _invoke(call, id_parameter, blank)
        assert not isinstance(info.value, DBOSNonExistentWorkflowError), label


def test_every_call_taking_an_id_refuses_one_that_is_not_valid_text(client: DBOSClient) -> None:
    for bad in (LONE_SURROGATE, "nul\x00id"):
        for label, call, id_parameter in _id_taking_calls(client):
            with pytest.raises(DBOSException, match="not valid text") as info:
                _invoke(call, id_parameter, bad)
            assert id_parameter.split("_")[0] in str(info.value).lower() or label, label


@pytest.mark.timeout(60)
def test_identifiers_that_are_not_valid_text_are_refused_naming_the_argument(
    client: DBOSClient,
) -> None:
    """Event and stream keys, topics, deduplication IDs, partition keys, queue names and
    listing filters: a DBOSException naming the argument, never a driver's
    UnicodeEncodeError, from DBOS and DBOSClient, sync and async."""
    bad = LONE_SURROGATE
    queue = Queue("idq", partition_queue=True)

    @DBOS.workflow()
    def uses(kind: str) -> None:
        if kind == "event":
            DBOS.set_event(bad, 1)
        elif kind == "stream":
            DBOS.write_stream(bad, 1)
        elif kind == "recv":
            DBOS.recv(bad, timeout_seconds=0)
        elif kind == "send":
            DBOS.send(DBOS.workflow_id or "", 1, topic=bad)

    for kind, what in [
        ("event", "event key"), ("stream", "stream key"), ("recv", "topic"), ("send", "topic")
    ]:  # fmt: skip
        with pytest.raises(DBOSException, match=f"{what} .*not valid text"):
            uses(kind)
    done = DBOS.start_workflow(uses, "none")
    done.get_result()
    wid = done.workflow_id
    expectations: list[tuple[str, Callable[[], Any]]] = [
        ("event key", lambda: DBOS.get_event(wid, bad, timeout_seconds=0)),
        ("event key", lambda: client.get_event(wid, bad, timeout_seconds=0)),
        ("event key", lambda: asyncio.run(DBOS.get_event_async(wid, bad, timeout_seconds=0))),
        ("event key", lambda: asyncio.run(client.get_event_async(wid, bad, timeout_seconds=0))),
        ("stream key", lambda: next(DBOS.read_stream(wid, bad))),
        ("stream key", lambda: next(client.read_stream(wid, bad))),
        ("stream key", lambda: asyncio.run(client.read_stream_async(wid, bad).__anext__())),
        ("topic", lambda: DBOS.send(wid, 1, topic=bad)),
        ("topic", lambda: client.send(wid, 1, topic=bad)),
        ("topic", lambda: asyncio.run(DBOS.send_async(wid, 1, topic=bad))),
        ("topic", lambda: asyncio.run(client.send_async(wid, 1, topic=bad))),
        ("deduplication_id", lambda: SetEnqueueOptions(deduplication_id=bad)),
        ("queue_partition_key", lambda: SetEnqueueOptions(queue_partition_key=bad)),
        ("app_version", lambda: SetEnqueueOptions(app_version=bad)),
        ("queue name", lambda: Queue(bad)),
        ("'deduplication_id'", lambda: client.enqueue(
            {"workflow_name": "uses", "queue_name": "idq", "deduplication_id": bad}, "none"
        )),
        ("'queue_name'", lambda: client.enqueue({"workflow_name": "uses", "queue_name": bad})),
        ("workflow_id_prefix", lambda: DBOS.list_workflows(workflow_id_prefix=bad)),
        ("workflow_id_prefix", lambda: client.list_workflows(workflow_id_prefix=bad)),
        ("workflow_ids", lambda: client.list_workflows(workflow_ids=[bad])),
        ("name", lambda: DBOS.list_workflows(name=bad)),
        ("queue_name", lambda: DBOS.list_queued_workflows(queue_name=bad)),
        ("executor_id", lambda: asyncio.run(client.list_workflows_async(executor_id=bad))),
    ]  # fmt: skip
    for what, call in expectations:
        with pytest.raises(DBOSException, match=f"{what} .*not valid text"):
            call()
    assert queue.name == "idq"


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
    # Code written for DBOS Transact 3.4, which raises TypeError here, catches it too.
    with pytest.raises(TypeError):
        process({"id": 1, "lock": threading.Lock()})


# --- one SetWorkflowID block, several starts ---------------------------------------------------


def test_a_second_start_in_one_set_workflow_id_block_warns_and_gets_its_own_id(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    """DBOS semantics: only the first workflow started in the block takes the ID; a later one
    gets a generated ID, with a WARNING (a user's trial found none). A child started inside
    the first one's body is not such a start: no WARNING for it."""

    @DBOS.workflow()
    def child() -> str:
        return DBOS.workflow_id or ""

    @DBOS.workflow()
    def parent() -> str:
        child()
        return DBOS.workflow_id or ""

    launch()
    caplog.set_level(logging.WARNING, logger="dbos")
    block_id = f"block-{uuid.uuid4().hex[:8]}"
    with SetWorkflowID(block_id):
        assert parent() == block_id
        assert "second workflow" not in caplog.text
        second = DBOS.start_workflow(parent).get_result()
    assert second != block_id
    assert f"a second workflow was started in the block of SetWorkflowID({block_id!r})" in (
        caplog.text
    )
