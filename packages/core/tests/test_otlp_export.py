"""OTLP export (issue 16): an app configured with ``otlp_traces_endpoints``,
``otlp_logs_endpoints`` and ``otlp_metrics_endpoints`` sends real OTLP/HTTP (protobuf) requests
through the SDK's exporters; a local collector stub receives and decodes them."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

APP = Path(__file__).parent / "apps" / "otlp_app.py"


class Collector:
    """An OTLP/HTTP collector stub: keeps the decoded requests by path."""

    def __init__(self) -> None:
        self.received: dict[str, list[bytes]] = {}
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                collector.received.setdefault(self.path, []).append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def collector() -> Iterator[Collector]:
    stub = Collector()
    stub.thread.start()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


def test_traces_logs_and_metrics_reach_an_otlp_collector(
    dbos_system_database_url: str, collector: Collector
) -> None:
    done = subprocess.run(
        [sys.executable, str(APP), dbos_system_database_url, collector.url],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    spans = []
    for body in collector.received.get("/v1/traces", []):
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            assert service["service.name"] == "otlp-app"
            for scope in resource.scope_spans:
                spans.extend(scope.spans)
    by_name = {span.name: span for span in spans}
    assert {"otlp_app.hello", "otlp_app.greet"} <= set(by_name)
    workflow, step = by_name["otlp_app.hello"], by_name["otlp_app.greet"]
    assert step.parent_span_id == workflow.span_id and step.trace_id == workflow.trace_id
    attributes = {a.key: a.value.string_value for a in workflow.attributes}
    assert attributes["operationType"] == "workflow"
    assert attributes["deployment.environment"] == "test"

    records = []
    for body in collector.received.get("/v1/logs", []):
        for resource in ExportLogsServiceRequest.FromString(body).resource_logs:
            for scope in resource.scope_logs:
                records.extend(scope.log_records)
    greeting = [r for r in records if r.body.string_value == "greeting otlp"]
    assert len(greeting) == 1
    assert greeting[0].trace_id == step.trace_id and greeting[0].span_id == step.span_id
    log_attributes = {a.key: a.value.string_value for a in greeting[0].attributes}
    assert log_attributes["deployment.environment"] == "test"

    names: set[str] = set()
    for body in collector.received.get("/v1/metrics", []):
        for resource in ExportMetricsServiceRequest.FromString(body).resource_metrics:
            for scope in resource.scope_metrics:
                names.update(metric.name for metric in scope.metrics)
    assert {"dbos.workflows.ended", "dbos.step.duration"} <= names
