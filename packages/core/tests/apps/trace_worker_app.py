"""A queue worker that traces, for the cross-process trace test.

Usage: python trace_worker_app.py DATABASE_URL WORKDIR

Writes every finished span to WORKDIR/spans.jsonl (name, trace and span IDs in hex, parent
span ID) and runs queue "traced" until WORKDIR/stop exists.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from dbos import DBOS, Queue

URL, WORKDIR = sys.argv[1], Path(sys.argv[2])
Queue("traced", polling_interval_sec=0.05)


class FileExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with (WORKDIR / "spans.jsonl").open("a") as out:
            for span in spans:
                parent = span.parent
                out.write(
                    json.dumps(
                        {
                            "name": span.name,
                            "trace_id": f"{span.context.trace_id:032x}",
                            "span_id": f"{span.context.span_id:016x}",
                            "parent_span_id": None if parent is None else f"{parent.span_id:016x}",
                        }
                    )
                    + "\n"
                )
        return SpanExportResult.SUCCESS


@DBOS.step(name="trace_worker_app.double")
def double(x: int) -> int:
    return 2 * x


@DBOS.workflow(name="trace_worker_app.work")
def work(x: int) -> int:
    return double(x)


if __name__ == "__main__":
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(FileExporter()))
    trace.set_tracer_provider(provider)
    DBOS(
        config={
            "name": "trace-worker",
            "system_database_url": URL,
            "enable_otlp": True,
            "application_version": "trace-v1",
        }
    )
    DBOS.launch()
    (WORKDIR / "ready").touch()
    deadline = time.monotonic() + 120
    while not (WORKDIR / "stop").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    DBOS.destroy()
