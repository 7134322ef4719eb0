"""Traced messages (issue 16; ours, DBOS Transact 3.4 carries no trace with a message): a message
sent while a span is active (the app's, a `PropagateOtelContext` block's, or inside a traced
workflow DBOS's own ``send`` / step span) stores the sender's W3C trace context, and the
``recv`` span of the workflow that receives it links to the sender's span (OpenTelemetry's
messaging conventions: a link, not a parent) with the attribute
``dbos.message.traced_sender``. Spans are caught by dbos_testing's
``dbos_spans`` fixture."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import SpanContext

from dbos import DBOS, PropagateOtelContext, SendMessage
from dbos_testing import SpanCatcher

Launch = Callable[..., None]
TRACED_SENDER = "dbos.message.traced_sender"

#: Spans of "the caller's app": a provider of its own, so its spans are not DBOS's.
caller = TracerProvider().get_tracer("caller-app")


@DBOS.workflow()
def receiver(topic: str | None, count: int) -> list[Any]:
    return [DBOS.recv(topic, timeout_seconds=60) for _ in range(count)]


@DBOS.workflow()
async def async_receiver() -> Any:
    return await DBOS.recv_async(timeout_seconds=60)


@DBOS.step()
def send_from_step(destination: str) -> None:
    DBOS.send(destination, "from a step", "mail")


@DBOS.workflow()
def sender(destination: str) -> None:
    DBOS.send(destination, "from a workflow", "mail")
    send_from_step(destination)
    DBOS.send_bulk([SendMessage(destination, "from a bulk send", "mail")])


def _recv_spans(found: list[ReadableSpan], workflow_id: str) -> list[ReadableSpan]:
    named = [
        s
        for s in found
        if s.name == "recv" and s.attributes and s.attributes["operationUUID"] == workflow_id
    ]
    return sorted(named, key=lambda s: s.start_time or 0)


def _linked(span: ReadableSpan) -> list[tuple[int, int]]:
    return [(link.context.trace_id, link.context.span_id) for link in span.links]


def _ids(context: SpanContext) -> tuple[int, int]:
    return (context.trace_id, context.span_id)


def _wait_until_receiving(workflow_id: str) -> None:
    """Until the receiver waits in recv (its timeout is recorded before the wait starts)."""
    deadline = time.monotonic() + 30
    while not any(
        s["function_name"] == "DBOS.sleep" for s in DBOS.list_workflow_steps(workflow_id)
    ):
        assert time.monotonic() < deadline, "the receiver never started waiting"
        time.sleep(0.02)


def test_a_recv_span_links_to_the_span_that_sent_its_message(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    """`DBOS.send` from outside any workflow, inside the app's span, to a workflow already
    waiting in `recv` on a topic: the recv span (a child of its workflow's span, in the
    workflow's trace) links to the sending span; a message sent with no span active links
    nothing."""
    launch(enable_otlp=True)
    handle = DBOS.start_workflow(receiver, "orders", 2)
    _wait_until_receiving(handle.workflow_id)
    with caller.start_as_current_span("checkout request") as request:
        DBOS.send(handle.workflow_id, "traced", "orders")
    DBOS.send(handle.workflow_id, "untraced", "orders")
    assert handle.get_result() == ["traced", "untraced"]
    found = dbos_spans()
    workflow = next(s for s in found if s.name == receiver.__qualname__)
    traced, untraced = _recv_spans(found, handle.workflow_id)
    assert _linked(traced) == [_ids(request.get_span_context())]
    assert traced.attributes is not None and traced.attributes[TRACED_SENDER] is True
    assert traced.parent is not None and traced.parent.span_id == workflow.context.span_id
    assert (
        traced.context.trace_id == workflow.context.trace_id != request.get_span_context().trace_id
    )
    assert _linked(untraced) == []
    assert untraced.attributes is not None and TRACED_SENDER not in untraced.attributes


def test_messages_sent_from_a_traced_workflow_link_to_its_send_and_step_spans(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    """Inside a traced workflow, `DBOS.send` links to DBOS's own ``send`` span, a send from a
    step to the step's span, and `DBOS.send_bulk` to its ``send_bulk`` span: each the
    operation the message was sent by."""
    launch(enable_otlp=True)
    rx = DBOS.start_workflow(receiver, "mail", 3)
    DBOS.start_workflow(sender, rx.workflow_id).get_result()
    assert rx.get_result() == ["from a workflow", "from a step", "from a bulk send"]
    found = dbos_spans()
    by_name = {s.name: s for s in found if s.name in ("send", "send_bulk")}
    by_name["step"] = next(s for s in found if s.name == send_from_step.__qualname__)
    received = _recv_spans(found, rx.workflow_id)
    assert [_linked(s) for s in received] == [
        [_ids(by_name[name].context)] for name in ("send", "step", "send_bulk")
    ]


def test_async_recv_and_bulk_sends_from_outside_link_too(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    """`DBOS.send_bulk` (and `DBOS.send_async`) from the app's span reach an async workflow's
    `DBOS.recv_async` on the default topic: each recv span links to the span it was sent
    in."""
    launch(enable_otlp=True)
    first = DBOS.start_workflow(async_receiver)
    second = DBOS.start_workflow(async_receiver)
    with caller.start_as_current_span("bulk") as bulk:
        DBOS.send_bulk([SendMessage(first.workflow_id, 1)])

    async def send_async() -> trace.Span:
        with caller.start_as_current_span("async send") as span:
            await DBOS.send_async(second.workflow_id, 2)
        return span

    async_span = asyncio.run(send_async())
    assert (first.get_result(), second.get_result()) == (1, 2)
    found = dbos_spans()
    [from_bulk] = _recv_spans(found, first.workflow_id)
    [from_async] = _recv_spans(found, second.workflow_id)
    assert _linked(from_bulk) == [_ids(bulk.get_span_context())]
    assert _linked(from_async) == [_ids(async_span.get_span_context())]


def test_propagate_otel_context_names_the_sender(launch: Launch, dbos_spans: SpanCatcher) -> None:
    """Inside `PropagateOtelContext(context)` a message carries that context, not the active
    span's (as workflows started in the block do)."""
    launch(enable_otlp=True)
    handle = DBOS.start_workflow(receiver, None, 1)
    with caller.start_as_current_span("upstream") as upstream:
        named = trace.set_span_in_context(upstream)
    with caller.start_as_current_span("here"), PropagateOtelContext(named):
        DBOS.send(handle.workflow_id, "x")
    assert handle.get_result() == ["x"]
    [received] = _recv_spans(dbos_spans(), handle.workflow_id)
    assert _linked(received) == [_ids(upstream.get_span_context())]


def test_without_tracing_the_receiver_makes_no_span_and_the_message_still_arrives(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    """A traced message to an app without ``enable_otlp`` is received as any other."""
    launch()
    handle = DBOS.start_workflow(receiver, None, 1)
    with caller.start_as_current_span("request"):
        DBOS.send(handle.workflow_id, "plain")
    assert handle.get_result() == ["plain"]
    assert _recv_spans(dbos_spans(), handle.workflow_id) == []


_UNTRACED_APP = """
import sys

if sys.argv[2] == "blocked":
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == "opentelemetry" or name.startswith("opentelemetry."):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, Block())

from dbos import DBOS, SendMessage

@DBOS.workflow(name="untraced.receiver")
def receiver():
    return [DBOS.recv(timeout_seconds=60) for _ in range(3)]

@DBOS.workflow(name="untraced.sender")
def sender(destination):
    DBOS.send(destination, "inside")

DBOS(config={"name": "untraced", "system_database_url": sys.argv[1]})
DBOS.launch()
handle = DBOS.start_workflow(receiver)
DBOS.send(handle.workflow_id, "outside")
DBOS.start_workflow(sender, handle.workflow_id).get_result()
DBOS.send_bulk([SendMessage(handle.workflow_id, "bulk")])
print("received:", sorted(handle.get_result()))
print("imported:", sorted(m for m in sys.modules if m.startswith("opentelemetry")))
DBOS.destroy()
"""


@pytest.mark.parametrize("otel", ["blocked", "installed"])
def test_untraced_messaging_never_imports_opentelemetry(
    dbos_system_database_url: str, otel: str
) -> None:
    """Without the extra (imports of OpenTelemetry fail), or with it installed but tracing
    off, sends and receives work and OpenTelemetry is never imported: the send path's check
    is a dict lookup."""
    done = subprocess.run(
        [sys.executable, "-c", _UNTRACED_APP, dbos_system_database_url, otel],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "received: ['bulk', 'inside', 'outside']" in done.stdout, done.stdout
    assert "imported: []" in done.stdout, done.stdout
