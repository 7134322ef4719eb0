"""Traces, metrics and the health endpoint, in one process.

Run it with ``python examples/observability.py`` (needs ``pip install 'dbos-core[otel]'``). It
uses the embedded SQLite default (a file in a temporary folder) unless
DBOS_SYSTEM_DATABASE_URL names another system database.

- A stand-in OTLP collector (a few lines of ``http.server``) listens on a free local port and
  decodes what the OpenTelemetry SDK's exporters send it.
- The app runs with ``enable_otlp`` and ``otlp_traces_endpoints`` pointing at it, and with the
  admin server on (``admin_port``).
- A "request" span of the app's own enqueues a workflow inside ``PropagateOtelContext``: the
  queue worker's workflow span, and its steps' spans, join the request's trace.
- ``/dbos-healthz`` and ``/dbos-metrics`` are read over HTTP; at shutdown the exporters flush
  and the collector's spans are printed as a tree.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from dbos import DBOS, PropagateOtelContext, Queue

orders = Queue("orders", polling_interval_sec=0.1)
received: list[Any] = []  # the spans the collector got


class Collector(BaseHTTPRequestHandler):
    """Accepts OTLP/HTTP trace exports (protobuf) and keeps their spans."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    received.extend(scope.spans)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@DBOS.step()
def reserve_stock(item: str) -> str:
    DBOS.logger.info("reserving %s", item)
    return f"reserved {item}"


@DBOS.step()
def charge_card(amount: int) -> str:
    return f"charged {amount}"


@DBOS.workflow()
def place_order(item: str, amount: int) -> str:
    return f"{reserve_stock(item)}, {charge_card(amount)}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


def print_tree(spans: list[Any]) -> None:
    children: dict[bytes, list[Any]] = {}
    for span in spans:
        children.setdefault(span.parent_span_id, []).append(span)

    def show(span: Any, depth: int) -> None:
        print(f"  {'  ' * depth}{span.name}")
        for child in sorted(children.get(span.span_id, []), key=lambda s: s.start_time_unix_nano):
            show(child, depth + 1)

    for root in children.get(b"", []):
        show(root, 0)


def main() -> None:
    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    collector_url = f"http://127.0.0.1:{collector.server_address[1]}"
    folder = Path(tempfile.mkdtemp(prefix="dbos-observability-"))
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    admin_port = free_port()
    DBOS(
        config={
            "name": "observability-example",
            "system_database_url": url,
            "enable_otlp": True,
            "otlp_traces_endpoints": [f"{collector_url}/v1/traces"],
            "otlp_attributes": {"deployment.environment": "example"},
            "admin_port": admin_port,
        }
    )
    DBOS.launch()
    try:
        admin = f"http://127.0.0.1:{admin_port}"
        print("health:", get_json(f"{admin}/dbos-healthz"))
        app_tracer = trace.get_tracer("example-app")
        with app_tracer.start_as_current_span("POST /orders"), PropagateOtelContext():
            handle = orders.enqueue(place_order, "book", 12)
        print("result:", handle.get_result())
        view = get_json(f"{admin}/dbos-metrics")
        print("ended:", view["workflows_ended"])
    finally:
        DBOS.destroy()  # flushes the span exporter
        collector.shutdown()
    print(f"collector received {len(received)} spans:")
    print_tree(received)


if __name__ == "__main__":
    main()
