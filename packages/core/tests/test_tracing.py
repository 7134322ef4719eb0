"""Traces (issue 16): with ``enable_otlp`` a span per workflow and per recorded operation, with
DBOS Transact 3.4's span names, attribute names (legacy and semconv), status, exception and
retry events; parent/child links; ``DBOS.span``; the caller's trace carried into started and
enqueued workflows (`PropagateOtelContext`); trace ids on log records. Spans are caught by
dbos_testing's ``dbos_spans`` fixture."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from dbos import (
    DBOS,
    DBOSConfigError,
    DBOSContextSetAuth,
    PropagateOtelContext,
    Queue,
    SetWorkflowAttributes,
)
from dbos_testing import SpanCatcher

Launch = Callable[..., None]

retry_queue = Queue("traced-queue", polling_interval_sec=0.05)
attempts: list[int] = []


@DBOS.step()
def first_step(x: int) -> int:
    with trace.get_tracer("app").start_as_current_span("inside-step"):
        pass
    span = DBOS.span  # None without enable_otlp
    if span is not None:
        span.set_attribute("app.seen", x)
    DBOS.logger.info("inside the first step")
    return x + 1


@DBOS.step(retries_allowed=True, max_attempts=2, interval_seconds=0.01)
def failing_step() -> None:
    attempts.append(1)
    raise ValueError("boom")


@DBOS.workflow()
def traced_workflow(x: int) -> int:
    y = first_step(x)
    DBOS.sleep(0.01)
    DBOS.set_event("progress", y)
    with contextlib.suppress(Exception):
        failing_step()
    return y


@DBOS.workflow()
def failing_workflow() -> None:
    raise RuntimeError("workflow failed")


@DBOS.workflow()
def plain_workflow(x: int) -> int:
    return first_step(x)


def _by_name(found: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in found if span.name == name]


def _one(found: list[ReadableSpan], name: str) -> ReadableSpan:
    named = _by_name(found, name)
    assert len(named) == 1, [span.name for span in found]
    return named[0]


def test_spans_names_attributes_parents_status_and_events(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    launch(enable_otlp=True, otlp_attributes={"deployment": "test"}, executor_id="exec-1")
    handle = DBOS.start_workflow(traced_workflow, 1)
    assert handle.get_result() == 2
    found = dbos_spans()
    workflow = _one(found, traced_workflow.__qualname__)
    assert workflow.attributes is not None
    assert workflow.attributes["operationUUID"] == handle.workflow_id
    assert workflow.attributes["operationType"] == "workflow"
    assert workflow.attributes["executorID"] == "exec-1"
    assert workflow.attributes["deployment"] == "test"
    assert workflow.status.status_code is StatusCode.OK
    step = _one(found, first_step.__qualname__)
    assert step.attributes is not None
    assert step.attributes["operationType"] == "step"
    assert step.attributes["app.seen"] == 1
    assert step.parent is not None and step.parent.span_id == workflow.context.span_id
    assert step.context.trace_id == workflow.context.trace_id
    inner = _one(found, "inside-step")
    assert inner.parent is not None and inner.parent.span_id == step.context.span_id
    for name in ("sleep", "set_event"):
        operation = _one(found, name)
        assert operation.parent is not None and operation.parent.span_id == workflow.context.span_id
        assert operation.attributes is not None and "operationType" not in operation.attributes
    failed = _one(found, failing_step.__qualname__)
    assert failed.status.status_code is StatusCode.ERROR
    assert [event.name for event in failed.events] == ["Step attempt 0 failed", "exception"]
    retry = failed.events[0].attributes
    assert retry is not None and "boom" in str(retry["error"])
    assert retry["retryIntervalSeconds"] == pytest.approx(0.01)


def test_a_failed_workflow_span_has_error_status_and_an_exception_event(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    launch(enable_otlp=True)
    with pytest.raises(RuntimeError):
        failing_workflow()
    span = _one(dbos_spans(), failing_workflow.__qualname__)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "workflow failed"
    exception = span.events[-1]
    assert exception.name == "exception"
    assert exception.attributes is not None
    assert exception.attributes["exception.type"] == "RuntimeError"


def test_semconv_attribute_names(launch: Launch, dbos_spans: SpanCatcher) -> None:
    launch(enable_otlp=True, otel_attribute_format="semconv")
    handle = DBOS.start_workflow(plain_workflow, 3)
    handle.get_result()
    workflow = _one(dbos_spans(), plain_workflow.__qualname__)
    assert workflow.attributes is not None
    assert workflow.attributes["dbos.operation.workflow_id"] == handle.workflow_id
    assert workflow.attributes["dbos.operation.type"] == "workflow"
    assert "operationUUID" not in workflow.attributes
    assert "dbos.executor.id" in workflow.attributes


def test_workflow_spans_carry_the_identity_they_run_as(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    """As in DBOS Transact 3.4, a workflow's span (called, or run by the queue worker) has the
    authenticated user and roles, as its steps' spans do; without an identity, none."""
    launch(enable_otlp=True, otel_attribute_format="semconv")
    with DBOSContextSetAuth("alice", ["admin", "ops"]):
        called = DBOS.start_workflow(plain_workflow, 4)
        called.get_result()
        queued = retry_queue.enqueue(plain_workflow, 5)
        queued.get_result()
    anonymous = DBOS.start_workflow(plain_workflow, 6)
    anonymous.get_result()
    by_id = {
        (span.name, span.attributes["dbos.operation.workflow_id"]): span.attributes
        for span in dbos_spans()
        if span.attributes and "dbos.operation.workflow_id" in span.attributes
    }
    for handle in (called, queued):
        for name in (plain_workflow.__qualname__, first_step.__qualname__):
            attributes = by_id[(name, handle.workflow_id)]
            assert attributes["dbos.user.name"] == "alice", (name, attributes)
            assert attributes["dbos.user.roles"] == '["admin", "ops"]'
    workflow = by_id[(plain_workflow.__qualname__, anonymous.workflow_id)]
    assert "dbos.user.name" not in workflow and "dbos.user.roles" not in workflow


def test_no_spans_without_enable_otlp(launch: Launch, dbos_spans: SpanCatcher) -> None:
    launch()
    assert plain_workflow(1) == 2
    assert DBOS.span is None
    found = dbos_spans()
    assert [span.name for span in found] == ["inside-step"]  # the app's own span only
    assert found[0].parent is None


def test_started_and_called_workflows_continue_the_callers_trace(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    launch(enable_otlp=True)
    with trace.get_tracer("app").start_as_current_span("request") as request:
        DBOS.start_workflow(plain_workflow, 1).get_result()  # on a pool thread
        plain_workflow(2)  # inline
    workflows = _by_name(dbos_spans(), plain_workflow.__qualname__)
    assert len(workflows) == 2
    for workflow in workflows:
        assert workflow.parent is not None
        assert workflow.parent.span_id == request.get_span_context().span_id


def test_propagate_otel_context_stores_the_carrier_and_the_worker_continues_it(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    launch(enable_otlp=True)
    tracer = trace.get_tracer("app")
    with (
        tracer.start_as_current_span("enqueuer") as enqueuer,
        PropagateOtelContext(),
        SetWorkflowAttributes({"team": "a"}),
    ):
        handle = retry_queue.enqueue(plain_workflow, 5)
    assert handle.get_result() == 6
    status = handle.get_status()
    assert status.attributes is not None and status.attributes["team"] == "a"
    carrier = status.attributes["dbos.otelContext"]
    trace_hex = f"{enqueuer.get_span_context().trace_id:032x}"
    assert carrier["traceparent"].split("-")[1] == trace_hex
    workflow = _one(dbos_spans(), plain_workflow.__qualname__)
    assert workflow.parent is not None
    assert workflow.parent.span_id == enqueuer.get_span_context().span_id
    assert workflow.attributes is not None and workflow.attributes["queueName"] == "traced-queue"


def test_a_bad_stored_carrier_does_not_stop_the_workflow(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    launch(enable_otlp=True)
    with SetWorkflowAttributes({"dbos.otelContext": {"traceparent": "garbage"}}):
        handle = retry_queue.enqueue(plain_workflow, 1)
    assert handle.get_result() == 2
    assert _one(dbos_spans(), plain_workflow.__qualname__).parent is None


def test_log_records_carry_the_active_trace(
    launch: Launch, dbos_spans: SpanCatcher, caplog: pytest.LogCaptureFixture
) -> None:
    launch(enable_otlp=True)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logging.getLogger("dbos").addHandler(keep)
    try:
        plain_workflow(1)
    finally:
        logging.getLogger("dbos").removeHandler(keep)
    step = _one(dbos_spans(), first_step.__qualname__)
    inside = [r for r in records if r.getMessage() == "inside the first step"]
    assert len(inside) == 1
    record: Any = inside[0]
    assert record.trace_id == f"{step.context.trace_id:032x}"
    assert record.span_id == f"{step.context.span_id:016x}"
    assert record.traceId == record.trace_id


def test_config_errors_name_the_problem(dbos_system_database_url: str) -> None:
    base = {"name": "app", "system_database_url": dbos_system_database_url}
    with pytest.raises(DBOSConfigError, match="otel_attribute_format"):
        DBOS(config={**base, "otel_attribute_format": "fancy"})  # type: ignore[typeddict-item]
    with pytest.raises(DBOSConfigError, match="otlp_traces_endpoints"):
        DBOS(config={**base, "otlp_traces_endpoints": "http://x"})  # type: ignore[typeddict-item]
    with pytest.raises(DBOSConfigError, match="admin_port"):
        DBOS(config={**base, "admin_port": 70000})  # type: ignore[typeddict-item]
    # An endpoint that could never be exported to is refused, its password masked.
    for bad in ("localhost:4318/v1/traces", "grpc://collector:4317", "http://"):
        config: Any = {**base, "enable_otlp": True, "otlp_logs_endpoints": [bad]}
        with pytest.raises(DBOSConfigError, match=r"otlp_logs_endpoints.*not an http"):
            DBOS(config=config)
    config = {**base, "otlp_traces_endpoints": ["ftp://u:s3cret@collector/v1/traces"]}
    with pytest.raises(DBOSConfigError) as refused:
        DBOS(config=config)
    assert "s3cret" not in str(refused.value)
    DBOS.destroy()


_WITHOUT_OTEL = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, Block())
from dbos import DBOS, DBOSConfigError, PropagateOtelContext
with PropagateOtelContext():
    pass
print("span:", DBOS.span)
try:
    DBOS.tracer.start_span({"name": "by-hand"})
except ModuleNotFoundError as exc:
    print("start_span:", exc)
try:
    DBOS(config={"name": "app", "system_database_url": sys.argv[1], "enable_otlp": True})
except DBOSConfigError as exc:
    print("error:", exc)
import logging
class Show(logging.Handler):
    def emit(self, record):
        print("warning:", record.getMessage())
logging.getLogger("dbos").addHandler(Show(logging.WARNING))
DBOS(config={"name": "app", "system_database_url": sys.argv[1], "otlp_traces_endpoints": ["http://c:4318/v1/traces"]})
DBOS.destroy()
"""


def test_without_the_extra_enable_otlp_and_the_tracer_say_what_to_install(
    dbos_system_database_url: str,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_OTEL, dbos_system_database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "span: None" in done.stdout
    assert "error:" in done.stdout and "dbos-core[otel]" in done.stdout, done.stdout + done.stderr
    # Starting a span by hand names the extra too, not just the missing module.
    assert "start_span: DBOS.tracer.start_span needs OpenTelemetry" in done.stdout, done.stdout
    assert "pip install 'dbos-core[otel]'" in done.stdout.split("start_span:", 1)[1]
    # Endpoints without enable_otlp: the warning names both what to set and what to install.
    warning = done.stdout.split("warning:", 1)[1]
    assert "enable_otlp" in warning and "pip install 'dbos-core[otel]'" in warning, done.stdout


def test_the_tracer_starts_spans_with_dbos_attributes(
    launch: Launch, dbos_spans: SpanCatcher
) -> None:
    launch(enable_otlp=True, otel_attribute_format="semconv", executor_id="exec-2")
    assert DBOS.tracer is DBOS.tracer
    span = DBOS.tracer.start_span({"name": "custom", "operationType": "handler"})
    DBOS.tracer.end_span(span)
    custom = _one(dbos_spans(), "custom")
    assert custom.attributes is not None
    assert custom.attributes["dbos.operation.type"] == "handler"
    assert custom.attributes["dbos.executor.id"] == "exec-2"
    assert DBOS.tracer.attribute_name("queueName") == "dbos.queue.name"
    assert DBOS.tracer.attribute_name("custom.key") == "custom.key"


@DBOS.step()
async def async_step(x: int) -> int:
    await asyncio.sleep(0.01)
    return x


@DBOS.workflow()
async def gathering_workflow() -> int:
    a, b = await asyncio.gather(async_step(1), async_step(2))
    await DBOS.sleep_async(0.01)
    return a + b


def test_async_workflows_and_gathered_steps_nest(launch: Launch, dbos_spans: SpanCatcher) -> None:
    launch(enable_otlp=True)
    assert asyncio.run(gathering_workflow()) == 3
    assert DBOS.start_workflow(gathering_workflow).get_result() == 3  # on DBOS's own loop
    found = dbos_spans()
    workflows = _by_name(found, gathering_workflow.__qualname__)
    assert len(workflows) == 2
    for workflow in workflows:
        children = [s for s in found if s.parent and s.parent.span_id == workflow.context.span_id]
        assert sorted(s.name for s in children) == sorted(
            [async_step.__qualname__, async_step.__qualname__, "sleep"]
        )


def test_a_datasource_transaction_is_traced_as_a_step_with_its_conflict_events(
    launch: Launch,
    dbos_spans: SpanCatcher,
    dbos_backend: str,
    app_database_url: str,
) -> None:
    """DBOS Transact 3.4 runs a datasource transaction as a step: a span named after it,
    ``operationType`` step, child of the workflow's, and a ``Transaction Failure`` event
    (``retry_wait_seconds``) for each serialization conflict it retried. The conflict is
    real: on Postgres another connection commits a write to the row the transaction read
    (SERIALIZABLE refuses its own write); on SQLite another writer holds the write lock."""
    import sqlite3

    import sqlalchemy as sa

    from dbos import SQLAlchemyDatasource, hookimpl
    from dbos._datasource.registry import forget
    from dbos.plugins import plugin_manager

    launch(enable_otlp=True)
    ds = SQLAlchemyDatasource.create(
        app_database_url, {"connect_args": {"timeout": 0.01}} if dbos_backend == "sqlite" else {}
    )
    with ds.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(sa.text("INSERT INTO counter VALUES (0)"))
    holder: sqlite3.Connection | None = None
    if dbos_backend == "sqlite":
        holder = sqlite3.connect(sa.make_url(app_database_url).database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")

    class ReleaseOnRetry:
        """The other writer gives way once the first conflict is reported."""

        @hookimpl
        def dbos_step_retry(self, name: str) -> None:
            if holder is not None and holder.in_transaction:
                holder.execute("ROLLBACK")

    attempts: list[int] = []

    @ds.transaction(name="bump_counter")
    def bump() -> int:
        attempts.append(1)
        session = ds.sql_session()
        n = int(session.execute(sa.text("SELECT n FROM counter")).scalar_one())
        if dbos_backend == "postgres" and len(attempts) == 1:
            with ds.engine.begin() as other:
                other.execute(sa.text("UPDATE counter SET n = n + 10"))
        session.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})
        return n + 1

    @DBOS.workflow()
    def counting() -> int:
        return bump()

    release = ReleaseOnRetry()
    plugin_manager().register(release)
    try:
        assert counting() == (11 if dbos_backend == "postgres" else 1)
    finally:
        plugin_manager().unregister(release)
        if holder is not None:
            holder.close()
        forget(ds)
        ds.engine.dispose()
    found = dbos_spans()
    workflow = _one(found, counting.__qualname__)
    span = _one(found, "bump_counter")
    assert span.attributes is not None and span.attributes["operationType"] == "step"
    assert span.attributes["operationUUID"] == workflow.attributes["operationUUID"]  # type: ignore[index]
    assert span.parent is not None and span.parent.span_id == workflow.context.span_id
    assert span.status.status_code is StatusCode.OK
    assert [event.name for event in span.events] == ["Transaction Failure"]
    event = span.events[0].attributes
    assert event is not None and event["retry_wait_seconds"] == pytest.approx(0.001)
