"""`DBOSClient` and traces (issue 16). `enqueue` inside `PropagateOtelContext`: the caller's
W3C trace context is stored with the task (attribute ``dbos.otelContext``, as in DBOS
Transact 3.4), next to the attributes given, for the app process that runs it; with no
active span nothing is stored. `send`, `send_bulk` and `send_in_transaction` inside a span
(ours: 3.4 carries no trace with a message): the receiving workflow's ``recv`` span links to
the sender's span, also when the sender is another process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import SpanContext

from dbos import DBOS, PropagateOtelContext, SendMessage
from dbos_client import DBOSClient
from dbos_testing import SpanCatcher

Launch = Callable[..., None]
SENDER_APP = Path(__file__).parent / "apps" / "traced_sender.py"
#: The sending app's spans: a provider of its own, so they are not DBOS's.
caller = TracerProvider().get_tracer("client-app")


@DBOS.workflow(name="client_tracing.receiver")
def receiver(count: int) -> list[Any]:
    return [DBOS.recv("mail", timeout_seconds=60) for _ in range(count)]


def _links_of_recvs(found: list[ReadableSpan], workflow_id: str) -> list[list[tuple[int, int]]]:
    """The links of `workflow_id`'s recv spans, in the order they started."""
    received = sorted(
        (
            s
            for s in found
            if s.name == "recv" and s.attributes and s.attributes["operationUUID"] == workflow_id
        ),
        key=lambda s: s.start_time or 0,
    )
    for span in received:
        assert span.attributes is not None
        assert span.attributes.get("dbos.message.traced_sender") is (True if span.links else None)
    return [[(k.context.trace_id, k.context.span_id) for k in s.links] for s in received]


def _ids(context: SpanContext) -> tuple[int, int]:
    return (context.trace_id, context.span_id)


def test_client_enqueue_stores_the_callers_trace_context(
    dbos_storage: object, dbos_system_database_url: str
) -> None:
    # dbos_storage: the database set up, as by an app's launch
    tracer = TracerProvider().get_tracer("client-app")
    with DBOSClient(dbos_system_database_url) as client:
        with tracer.start_as_current_span("client request") as span, PropagateOtelContext():
            traced = client.enqueue(
                {"workflow_name": "nobody.runs", "queue_name": "q", "attributes": {"k": "v"}}
            )
        with PropagateOtelContext():  # no active span: nothing to carry
            plain = client.enqueue({"workflow_name": "nobody.runs", "queue_name": "q"})
        status = client.retrieve_workflow(traced.workflow_id).get_status()
        assert status.attributes is not None and status.attributes["k"] == "v"
        context = span.get_span_context()
        traceparent = status.attributes["dbos.otelContext"]["traceparent"]
        flags = int(context.trace_flags)
        assert traceparent == f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"
        assert client.retrieve_workflow(plain.workflow_id).get_status().attributes is None


def test_client_sends_link_the_recv_span_to_the_senders_span(
    launch: Launch, dbos_spans: SpanCatcher, dbos_system_database_url: str
) -> None:
    """`DBOSClient.send` and `send_bulk` inside the caller's spans; a send outside any span
    carries nothing."""
    launch(enable_otlp=True)
    handle = DBOS.start_workflow(receiver, 3)
    with DBOSClient(dbos_system_database_url) as client:
        with caller.start_as_current_span("send") as one:
            client.send(handle.workflow_id, 1, "mail")
        with caller.start_as_current_span("send_bulk") as bulk:
            client.send_bulk([SendMessage(handle.workflow_id, 2, "mail")])
        client.send(handle.workflow_id, 3, "mail")
    assert handle.get_result() == [1, 2, 3]
    assert _links_of_recvs(dbos_spans(), handle.workflow_id) == [
        [_ids(one.get_span_context())],
        [_ids(bulk.get_span_context())],
        [],
    ]


@pytest.mark.slow
def test_a_message_from_another_process_links_to_that_process_span(
    launch: Launch, dbos_spans: SpanCatcher, dbos_system_database_url: str
) -> None:
    """The sender is a real subprocess (a `DBOSClient` inside its own span, exporting
    nothing): the receiving process's recv span links to the trace and span IDs it
    reports."""
    launch(enable_otlp=True)
    handle = DBOS.start_workflow(receiver, 1)
    sent = subprocess.run(
        [sys.executable, str(SENDER_APP), dbos_system_database_url, handle.workflow_id, "mail"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    remote = json.loads(sent.stdout.strip().splitlines()[-1])
    assert handle.get_result() == ["from afar"]
    expected = (int(remote["trace_id"], 16), int(remote["span_id"], 16))
    assert _links_of_recvs(dbos_spans(), handle.workflow_id) == [[expected]]


def test_send_in_transaction_carries_the_trace(
    launch: Launch,
    dbos_spans: SpanCatcher,
    dbos_backend: str,
    dbos_system_database_url: str,
) -> None:
    """`send_in_transaction` and `send_bulk_in_transaction` inside a span store the trace
    with the messages, in the caller's transaction (Postgres: the app's database is the
    system database)."""
    if dbos_backend != "postgres":
        pytest.skip("sends in the app's transaction need Postgres")
    launch(enable_otlp=True)
    handle = DBOS.start_workflow(receiver, 3)
    engine = sa.create_engine(
        sa.make_url(dbos_system_database_url).set(drivername="postgresql+psycopg")
    )
    try:
        with DBOSClient(dbos_system_database_url) as client:
            with caller.start_as_current_span("in tx") as one, engine.begin() as conn:
                client.send_in_transaction(conn, handle.workflow_id, 1, "mail")
            with caller.start_as_current_span("bulk in tx") as bulk, engine.begin() as conn:
                client.send_bulk_in_transaction(conn, [SendMessage(handle.workflow_id, 2, "mail")])
            with engine.begin() as conn:
                client.send_in_transaction(conn, handle.workflow_id, 3, "mail")
    finally:
        engine.dispose()
    assert handle.get_result() == [1, 2, 3]
    assert _links_of_recvs(dbos_spans(), handle.workflow_id) == [
        [_ids(one.get_span_context())],
        [_ids(bulk.get_span_context())],
        [],
    ]
