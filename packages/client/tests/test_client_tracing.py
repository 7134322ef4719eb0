"""`DBOSClient.enqueue` inside `PropagateOtelContext` (issue 16): the caller's W3C trace
context is stored with the task (attribute ``dbos.otelContext``, as in DBOS Transact 3.4),
next to the attributes given, for the app process that runs it; with no active span nothing
is stored."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.sdk.trace import TracerProvider

from dbos import PropagateOtelContext
from dbos_client import DBOSClient

Launch = Callable[..., None]


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
