"""A process that sends one message inside a span of its own, for the cross-process traced
message test.

Usage: python traced_sender.py DATABASE_URL DESTINATION_ID TOPIC

Sends "from afar" to DESTINATION_ID on TOPIC with a `DBOSClient` (no DBOS app launched, no
span exporter: the trace lives in the message alone) inside the span "remote request", then
prints that span's trace and span IDs as one JSON line (hex).
"""

from __future__ import annotations

import json
import sys

from opentelemetry.sdk.trace import TracerProvider

from dbos_client import DBOSClient

URL, DESTINATION, TOPIC = sys.argv[1:4]

if __name__ == "__main__":
    tracer = TracerProvider().get_tracer("remote-sender")
    with DBOSClient(URL) as client, tracer.start_as_current_span("remote request") as span:
        client.send(DESTINATION, "from afar", TOPIC)
    context = span.get_span_context()
    print(
        json.dumps({"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"})
    )
