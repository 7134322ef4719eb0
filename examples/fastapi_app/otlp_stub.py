"""A stand-in OpenTelemetry collector: receives OTLP/HTTP exports and prints what arrives.

Run it with ``python otlp_stub.py [--port 4318]``. It accepts ``POST /v1/traces`` and
``POST /v1/logs`` in both OTLP/HTTP encodings (protobuf, what the SDK's exporters send, and
JSON) and prints one line per span and per log record, flushed at once, and a second line
for a span that ended with status ERROR (its message and its events), such as::

    span place_order trace=5b8e... span=1f0c... parent=9a3d...
    log reserving book trace=5b8e...
    span place_order trace=77aa... span=04d2... parent=c1e9...
      status ERROR: cannot charge 0 (events: exception)

It keeps nothing and forwards nothing: a real deployment points ``otlp_traces_endpoints`` at
an OpenTelemetry Collector, Jaeger or Grafana Tempo instead. Needs ``opentelemetry-proto``
(installed with ``dbos-core[otel]``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SIGNALS = ("/v1/traces", "/v1/logs")
# Exports arrive on concurrent connections (one thread each); a print is two writes (text,
# newline), so without this two exports' lines can run together.
PRINTING = threading.Lock()


#: OTLP's status code of a span that ended in error (``STATUS_CODE_ERROR``).
STATUS_ERROR = 2


def span_line(
    name: str,
    trace_id: str,
    span_id: str,
    parent_id: str,
    error: str | None = None,
    events: list[str] | None = None,
) -> str:
    line = f"span {name} trace={trace_id} span={span_id} parent={parent_id or '-'}"
    if error is not None:
        line += f"\n  status ERROR: {error} (events: {', '.join(events or []) or 'none'})"
    return line


def log_line(body: str, trace_id: str) -> str:
    return f"log {body} trace={trace_id or '-'}"


def protobuf_lines(path: str, body: bytes) -> list[str]:
    """One printable line per span or log record of a protobuf export request."""
    if path == "/v1/traces":
        traces = ExportTraceServiceRequest.FromString(body)
        return [
            span_line(
                span.name,
                span.trace_id.hex(),
                span.span_id.hex(),
                span.parent_span_id.hex(),
                span.status.message if span.status.code == STATUS_ERROR else None,
                [event.name for event in span.events],
            )
            for resource in traces.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
    logs = ExportLogsServiceRequest.FromString(body)
    return [
        log_line(record.body.string_value, record.trace_id.hex())
        for resource in logs.resource_logs
        for scope in resource.scope_logs
        for record in scope.log_records
    ]


def json_lines(path: str, body: bytes) -> list[str]:
    """The same for an OTLP/JSON export (its IDs are hex strings already)."""
    document: dict[str, Any] = json.loads(body)
    if path == "/v1/traces":
        return [
            span_line(
                span["name"],
                span["traceId"],
                span["spanId"],
                span.get("parentSpanId", ""),
                _json_error(span.get("status", {})),
                [event.get("name", "") for event in span.get("events", [])],
            )
            for resource in document.get("resourceSpans", [])
            for scope in resource.get("scopeSpans", [])
            for span in scope.get("spans", [])
        ]
    return [
        log_line(record.get("body", {}).get("stringValue", ""), record.get("traceId", ""))
        for resource in document.get("resourceLogs", [])
        for scope in resource.get("scopeLogs", [])
        for record in scope.get("logRecords", [])
    ]


def _json_error(status: dict[str, Any]) -> str | None:
    """The message of an OTLP/JSON span status that is an error (its code as a number or as
    the enum's name), else None."""
    if status.get("code") in (STATUS_ERROR, "STATUS_CODE_ERROR"):
        return str(status.get("message", ""))
    return None


class Collector(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path not in SIGNALS:
            self.send_error(404, f"no OTLP signal at {self.path}")
            return
        try:
            is_json = self.headers.get("Content-Type", "").startswith("application/json")
            printed = (json_lines if is_json else protobuf_lines)(self.path, body)
        except Exception as error:  # a malformed export: say so, keep serving
            self.send_error(400, f"cannot decode the export: {error}")
            return
        with PRINTING:
            sys.stdout.write("".join(f"{line}\n" for line in printed))
            sys.stdout.flush()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the spans are the output; no access log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318, help="0 picks a free port")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Collector)
    print(f"OTLP stub listening on http://{args.host}:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops it quietly
        server.serve_forever()


if __name__ == "__main__":
    main()
