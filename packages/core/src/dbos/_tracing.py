"""Traces: a span per workflow execution and per recorded operation, with DBOS Transact 3.4's
span names, attribute names (legacy or semantic-convention, ``otel_attribute_format``), status
and events, made by a plugin on the engine's hooks (`TracingPlugin`).

OpenTelemetry is imported only when tracing is enabled (``enable_otlp``): without it the
plugin is not registered, and the hooks it would implement cost the engine one empty check.
Spans go to the global tracer provider (the app's, or the one `configure_tracing` sets up
for ``otlp_traces_endpoints``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._engine.context import TRACE_CARRIER_ATTRIBUTE
from ._engine.roles import current_identity
from ._observability_config import OTEL_EXTRA
from .plugins import hookimpl

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span

    from .storage import StepRecord

logger = logging.getLogger("dbos")

#: DBOS Transact's legacy attribute names and their semantic-convention names.
LEGACY_TO_SEMCONV: dict[str, str] = {
    "operationUUID": "dbos.operation.workflow_id",
    "operationType": "dbos.operation.type",
    "applicationID": "dbos.application.id",
    "applicationVersion": "dbos.application.version",
    "executorID": "dbos.executor.id",
    "queueName": "dbos.queue.name",
    "authenticatedUser": "dbos.user.name",
    "authenticatedUserRoles": "dbos.user.roles",
    "authenticatedUserAssumedRole": "dbos.user.assumed_role",
}

#: Span names of operations that DBOS Transact names differently from their recorded name.
SPAN_NAMES: dict[str, str] = {
    "DBOS.sleep": "sleep",
    "DBOS.send": "send",
    "DBOS.send_bulk": "send_bulk",
    "DBOS.recv": "recv",
    "DBOS.setEvent": "set_event",
    "DBOS.getEvent": "get_event",
    "DBOS.writeStream": "write_stream",
    "DBOS.closeStream": "close_stream",
    "DBOS.asyncio_wait": "asyncio_wait",
}

#: The instrumentation scope of DBOS's spans (DBOS Transact's tracer name).
TRACER_NAME = "dbos-tracer"
#: Ours: set (True) on a ``recv`` span that received a message sent under a trace, which the
#: span links to (the same name in both attribute formats).
TRACED_SENDER_ATTRIBUTE = "dbos.message.traced_sender"
#: Parents remembered for workflows prepared but not yet started here (a bound: a workflow
#: enqueued here and run elsewhere is never started here).
_MAX_PENDING_PARENTS = 10_000


class DBOSTracer:
    """DBOS's tracer (``DBOS.tracer``, DBOS Transact's `DBOSTracer`): starts spans with the
    application's, executor's and the configured attributes.

    Attributes:
        app_id: ``DBOS__APPID`` from the environment, or None.
        application_version: The launched application version (None before launch).
        executor_id: The launched executor ID (None before launch).
        otlp_attributes: Added to every span as given (``otlp_attributes``).
        otel_attribute_format: ``"legacy"`` or ``"semconv"`` names for DBOS's attributes.
        enabled: Whether DBOS makes spans (``enable_otlp``).
    """

    def __init__(self) -> None:
        self.app_id: str | None = os.environ.get("DBOS__APPID")
        self.application_version: str | None = None
        self.executor_id: str | None = None
        self.otlp_attributes: dict[str, str] = {}
        self.otel_attribute_format = "legacy"
        self.enabled = False
        # OpenTelemetry's tracer, got once: `get_tracer` builds a new one on every call (a
        # share of tracing's cost per step). Before a provider is set it is the API's proxy,
        # which follows the provider set later.
        self._otel_tracer: Any = None

    def attribute_name(self, key: str) -> str:
        """The name `key` (a legacy DBOS attribute name) is emitted under: itself in the
        legacy format, its ``dbos.*`` name in the semconv format; other keys unchanged."""
        if self.otel_attribute_format == "semconv":
            return LEGACY_TO_SEMCONV.get(key, key)
        return key

    def start_span(
        self,
        attributes: Mapping[str, Any],
        parent: Span | None = None,
        context: Context | None = None,
    ) -> Span:
        """Start (not activate) a span named ``attributes["name"]``, a child of `parent`, or
        else of `context`, or else of the active span, with the other `attributes` (legacy
        names; non-scalar and None values are left out), the application and executor
        attributes and ``otlp_attributes``.

        Raises:
            ModuleNotFoundError: OpenTelemetry is not installed; the message says what to
                install (ours: DBOS Transact fails with the bare import error).
        """
        try:
            from opentelemetry import trace
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"DBOS.tracer.start_span needs OpenTelemetry, which is not installed: {OTEL_EXTRA}",
                name=exc.name,
            ) from exc

        tracer = self._otel_tracer
        if tracer is None:
            tracer = self._otel_tracer = trace.get_tracer(TRACER_NAME)
        if parent is not None:
            context = trace.set_span_in_context(parent)
        values = {
            **attributes,
            "applicationID": self.app_id,
            "applicationVersion": self.application_version,
            "executorID": self.executor_id,
        }
        # All at once: one call instead of a locked `set_attribute` per attribute.
        span_attributes = {
            self.attribute_name(key): value
            for key, value in values.items()
            if key != "name" and isinstance(value, (str, bool, int, float))
        }
        span_attributes.update(self.otlp_attributes)
        span: Span = tracer.start_span(
            str(attributes["name"]), context=context, attributes=span_attributes
        )
        return span

    def end_span(self, span: Span) -> None:
        """End `span`."""
        span.end()

    def get_current_span(self) -> Span | None:
        """The active span (DBOS's or another), or None when there is none or OpenTelemetry
        is not installed."""
        try:
            from opentelemetry import trace
        except ModuleNotFoundError:
            return None
        span = trace.get_current_span()
        return span if span.get_span_context().is_valid else None


#: The process's tracer (``DBOS.tracer``).
dbos_tracer = DBOSTracer()


def extract_carrier(carrier: object) -> Context | None:
    """The context a stored carrier names, or None for a missing or unusable one (it lives in
    attributes that users may write: a bad one must not stop a workflow)."""
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    if not isinstance(carrier, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in carrier.items()
    ):
        return None
    context = TraceContextTextMapPropagator().extract(carrier)
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def _stored_carrier(attributes: str | None) -> object:
    if not attributes or TRACE_CARRIER_ATTRIBUTE not in attributes:
        return None
    try:
        decoded = json.loads(attributes)
    except ValueError:
        return None
    return decoded.get(TRACE_CARRIER_ATTRIBUTE) if isinstance(decoded, dict) else None


def _identity_attributes(
    user: str | None, roles: tuple[str, ...] | None, assumed_role: str | None
) -> dict[str, Any]:
    """DBOS Transact's identity attributes of a span (None values are left out)."""
    return {
        "authenticatedUser": user,
        "authenticatedUserRoles": json.dumps(list(roles)) if roles is not None else None,
        "authenticatedUserAssumedRole": assumed_role,
    }


class _Parent:
    __slots__ = ("context", "queue_name")

    def __init__(self, context: Context | None, queue_name: str | None) -> None:
        self.context = context
        self.queue_name = queue_name


class TracingPlugin:
    """The hook implementations that make DBOS's spans. A span is made current while its
    workflow or operation runs (so spans the app starts inside are its children) and ended,
    with status OK or ERROR (and an ``exception`` event), when it ends."""

    def __init__(self, tracer: DBOSTracer) -> None:
        self._tracer = tracer
        self._lock = threading.Lock()
        self._parents: OrderedDict[str, _Parent] = OrderedDict()
        # Open spans by (workflow ID, operation ID; -1 for the workflow itself).
        self._open: dict[tuple[str, int], tuple[Span, object]] = {}
        # The open spans that are datasource transactions' (their retry event differs).
        self._transactions: set[tuple[str, int]] = set()

    @hookimpl
    def dbos_workflow_prepared(
        self, workflow_id: str, name: str, queue_name: str | None, attributes: str | None
    ) -> None:
        """Remember the trace the workflow continues: a propagated one stored with it, else
        (a start in this thread) the caller's."""
        from opentelemetry import context as otel_context
        from opentelemetry import trace

        parent = extract_carrier(_stored_carrier(attributes))
        if parent is None:
            current = otel_context.get_current()
            if trace.get_current_span(current).get_span_context().is_valid:
                parent = current
        with self._lock:
            self._parents[workflow_id] = _Parent(parent, queue_name)
            self._parents.move_to_end(workflow_id)
            while len(self._parents) > _MAX_PENDING_PARENTS:
                self._parents.popitem(last=False)

    @hookimpl
    def dbos_workflow_started(
        self,
        workflow_id: str,
        name: str,
        recovered: bool,
        authenticated_user: str | None,
        authenticated_roles: tuple[str, ...] | None,
        assumed_role: str | None,
    ) -> None:
        """Start and activate the workflow's span, with the identity it runs as."""
        with self._lock:
            parent = self._parents.pop(workflow_id, None)
        attributes: dict[str, Any] = {
            "name": name,
            "operationUUID": workflow_id,
            "operationType": "workflow",
            "queueName": parent.queue_name if parent else None,
            **_identity_attributes(authenticated_user, authenticated_roles, assumed_role),
        }
        self._open_span((workflow_id, -1), attributes, parent.context if parent else None)

    @hookimpl
    def dbos_workflow_ended(
        self, workflow_id: str, name: str, status: str | None, error: BaseException | None
    ) -> None:
        """End the workflow's span: ERROR for a failed or cancelled workflow."""
        if error is None and status is not None and status not in ("SUCCESS", "PENDING"):
            error = RuntimeError(f"workflow ended {status}")
        self._close_span((workflow_id, -1), error)

    @hookimpl
    def dbos_operation_started(
        self, workflow_id: str, function_id: int, name: str, kind: str
    ) -> None:
        """Start and activate the span of a step or other recorded operation."""
        attributes: dict[str, Any] = {
            "name": SPAN_NAMES.get(name, name),
            "operationUUID": workflow_id,
        }
        if kind in ("step", "transaction"):
            # DBOS Transact 3.4 runs a datasource transaction as a step: same span shape.
            attributes["operationType"] = "step"
        identity = current_identity()
        attributes.update(
            _identity_attributes(identity.user, identity.roles, identity.assumed_role)
        )
        self._open_span((workflow_id, function_id), attributes, None)
        if kind == "transaction":
            with self._lock:
                self._transactions.add((workflow_id, function_id))

    @hookimpl
    def dbos_operation_ended(
        self,
        workflow_id: str,
        function_id: int,
        name: str,
        kind: str,
        error: BaseException | None,
    ) -> None:
        """End the operation's span."""
        if kind == "transaction":
            with self._lock:
                self._transactions.discard((workflow_id, function_id))
        self._close_span((workflow_id, function_id), error)

    @hookimpl
    def dbos_after_step_checkpoint(self, step: StepRecord) -> None:
        """Ours (DBOS Transact 3.4 carries no trace with a message): a ``recv`` that consumed
        a message sent under a trace (`StepRecord.trace_carrier`) gets a link to the sender's
        span, as OpenTelemetry's messaging conventions link a receive to the message's
        creation, and the attribute `TRACED_SENDER_ATTRIBUTE`. A replayed recv has no
        carrier, and an unusable carrier is ignored."""
        carrier = step.trace_carrier
        if carrier is None:
            return
        opened = self._open.get((step.workflow_id, step.function_id))
        if opened is None:
            return
        try:
            decoded = json.loads(carrier)
        except ValueError:
            return
        sender = extract_carrier(decoded)
        if sender is None:
            return
        from opentelemetry import trace

        span = opened[0]
        span.add_link(trace.get_current_span(sender).get_span_context())
        span.set_attribute(TRACED_SENDER_ATTRIBUTE, True)

    @hookimpl
    def dbos_step_retry(
        self,
        workflow_id: str,
        function_id: int,
        name: str,
        attempt: int,
        error: BaseException,
        delay_s: float,
    ) -> None:
        """DBOS Transact's event on the step's span: ``Step attempt N failed`` (N from 0); on
        a datasource transaction's span, ``Transaction Failure`` with the wait before the next
        attempt (``retry_wait_seconds``), as 3.4 names it."""
        key = (workflow_id, function_id)
        opened = self._open.get(key)
        if opened is None:
            return
        if key in self._transactions:
            opened[0].add_event("Transaction Failure", {"retry_wait_seconds": delay_s})
        else:
            opened[0].add_event(
                f"Step attempt {attempt - 1} failed",
                {"error": str(error), "retryIntervalSeconds": delay_s},
            )

    def _open_span(
        self, key: tuple[str, int], attributes: dict[str, Any], parent: Context | None
    ) -> None:
        from opentelemetry import context as otel_context
        from opentelemetry import trace

        span = self._tracer.start_span(attributes, context=parent)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        self._open[key] = (span, token)

    def _close_span(self, key: tuple[str, int], error: BaseException | None) -> None:
        from opentelemetry import context as otel_context
        from opentelemetry.trace import Status, StatusCode

        opened = self._open.pop(key, None)
        if opened is None:
            return
        span, token = opened
        if error is None:
            span.set_status(Status(StatusCode.OK))
        else:
            span.set_status(Status(StatusCode.ERROR, description=str(error)))
            span.record_exception(error)
        self._tracer.end_span(span)
        otel_context.detach(token)  # type: ignore[arg-type]


class TraceLogFilter(logging.Filter):
    """Adds the active trace to log records: ``trace_id`` and ``span_id`` (hex; ``traceId``
    too, DBOS Transact's name), empty strings when there is no active span; and the
    ``otlp_attributes``, which an OTLP log exporter sends along. Never drops a record."""

    def __init__(self, attributes: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._attributes = dict(attributes or {})

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate `record` (always kept)."""
        from opentelemetry import trace

        for key, value in self._attributes.items():
            setattr(record, key, value)

        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = record.traceId = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        else:
            record.trace_id = record.traceId = record.span_id = ""
        return True
