"""The ``dbos_spans`` fixture and `span_catcher`: OpenTelemetry spans caught in memory."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace

from dbos import DBOS
from dbos_testing import SpanCatcher, span_catcher


@pytest.fixture
def traced_dbos(dbos_system_database_url: str) -> Iterator[type[DBOS]]:
    DBOS.destroy()
    DBOS(
        config={
            "name": "spans-test",
            "system_database_url": dbos_system_database_url,
            "enable_otlp": True,
        }
    )
    DBOS.launch()
    yield DBOS
    DBOS.destroy()


@DBOS.step()
def spans_step(x: int) -> int:
    return x + 1


@DBOS.workflow()
def spans_workflow(x: int) -> int:
    return spans_step(x) * 2


def test_dbos_spans_catches_a_traced_workflows_spans(
    traced_dbos: type[DBOS], dbos_spans: SpanCatcher
) -> None:
    assert dbos_spans() == []
    handle = DBOS.start_workflow(spans_workflow, 1)
    assert handle.get_result() == 4
    found = {span.name: span for span in dbos_spans()}
    workflow = found[spans_workflow.__qualname__]
    step = found[spans_step.__qualname__]
    assert workflow.attributes is not None
    assert workflow.attributes["operationUUID"] == handle.workflow_id
    assert step.parent is not None and step.parent.span_id == workflow.context.span_id


def test_one_catcher_per_process_and_clear_forgets(dbos_spans: SpanCatcher) -> None:
    assert span_catcher() is dbos_spans
    with trace.get_tracer("spans-test").start_as_current_span("mine"):
        pass
    assert [span.name for span in dbos_spans.finished()] == ["mine"]
    dbos_spans.clear()
    assert dbos_spans.finished() == []


def test_settled_refuses_bad_durations(dbos_spans: SpanCatcher) -> None:
    with pytest.raises(ValueError, match="quiet_s must be positive"):
        dbos_spans.settled(quiet_s=0)
    with pytest.raises(ValueError, match="timeout_s must not be negative"):
        dbos_spans.settled(timeout_s=-1)


def test_importing_the_plugin_does_not_import_opentelemetry() -> None:
    # The SDK is optional (dbos-core[otel]): loading the plugin must not need it.
    program = (
        "import sys, dbos_testing, dbos_testing.plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.strip() == "[]"
