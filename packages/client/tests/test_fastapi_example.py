"""examples/fastapi_app runs for real: the OTLP stub and the FastAPI app (uvicorn) in their
own processes, an order placed over HTTP; the stub receives the request's span, the
workflow's and its steps' in one trace (while the app runs: the exporters batch, they do not
wait for shutdown) and the step's log record in that trace; the dashboard then shows the
order, its steps and the app's queue with its stored settings."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import StartUI
from .test_ui_http import request

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "fastapi_app"


class Lines:
    """A subprocess's stdout lines, collected by a thread as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.process = process
        assert process.stdout is not None
        stdout = process.stdout
        self.reader = threading.Thread(target=lambda: self.lines.extend(stdout), daemon=True)
        self.reader.start()

    def wait_for(self, wanted: Any, what: str, timeout: float = 60) -> list[str]:
        deadline = time.monotonic() + timeout
        while not wanted(self.lines):
            if self.process.poll() is not None:
                self.reader.join(timeout=10)  # the process's last lines
                if wanted(self.lines):
                    break
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail(f"{what} did not come; output so far:\n{''.join(self.lines)}")
            time.sleep(0.05)
        return list(self.lines)


def _call(method: str, url: str) -> tuple[int, Any]:
    call = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(call, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def stub() -> Iterator[tuple[str, Lines]]:
    process = subprocess.Popen(
        [sys.executable, "-u", str(EXAMPLE / "otlp_stub.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = Lines(process)
    try:
        first = lines.wait_for(lambda seen: seen, "the stub's first line", 30)[0]
        yield first.rsplit(" ", 1)[1].strip(), lines
    finally:
        process.terminate()
        process.wait(timeout=10)


def _the_failed_order(base: str, spans: Lines) -> None:
    """A failed order: its workflow span ends ERROR with an exception event, and the "ended in
    ERROR" log record is in the same trace."""
    _, placed = _call("POST", f"{base}/orders?item=pen&amount=0")
    failed_id = placed["workflow_id"]
    _, order = _call("GET", f"{base}/orders/{failed_id}?wait=true")
    assert (order["status"], order["error"]) == ("ERROR", "cannot charge 0"), order
    ended = f"log workflow {failed_id} (place_order) ended in ERROR"

    def failed_span(seen: list[str]) -> tuple[dict[str, str], str] | None:
        for line, after in itertools.pairwise(seen):
            if line.startswith("span place_order trace=") and after.startswith(
                "  status ERROR: cannot charge 0"
            ):
                return dict(part.split("=", 1) for part in line.split()[-3:]), after
        return None

    seen = spans.wait_for(
        lambda seen: failed_span(seen) and any(x.startswith(ended) for x in seen),
        "the failed order's span and log record",
    )
    found = failed_span(seen)
    assert found is not None and "(events: exception)" in found[1], found
    ended_line = next(line for line in seen if line.startswith(ended))
    assert ended_line.rstrip().endswith(f"trace={found[0]['trace']}"), ended_line


@pytest.mark.slow
def test_the_fastapi_example(
    dbos_system_database_url: str, stub: tuple[str, Lines], ui_server: StartUI
) -> None:
    pytest.importorskip("fastapi", reason="fastapi is a test tool (nox installs it)")
    collector_url, spans = stub
    env = {
        **os.environ,
        "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url,
        "OTLP_ENDPOINT": collector_url,
        # Export batches every 100 ms (the SDK's default is 5 s), so the spans arrive while
        # the app runs.
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
    }
    command = [sys.executable, "-m", "uvicorn", "shop_api:app", "--app-dir", str(EXAMPLE)]
    app = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", "0"],  # a free port, printed
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = Lines(app)
    try:
        started = out.wait_for(
            lambda seen: any("Uvicorn running on" in line for line in seen), "startup", 120
        )
        assert f"dashboard: dbos ui --db-url {dbos_system_database_url}\n" in started
        running = next(line for line in started if "Uvicorn running on" in line)
        base = running.split("running on ", 1)[1].split()[0]
        status, placed = _call("POST", f"{base}/orders?item=book&amount=12")
        assert status == 200, placed
        workflow_id = placed["workflow_id"]
        status, order = _call("GET", f"{base}/orders/{workflow_id}?wait=true")
        assert (status, order["status"]) == (200, "SUCCESS"), order
        assert order["result"] == "reserved book, charged 12"
        assert _call("GET", f"{base}/orders/no-such-order")[0] == 404

        def span_of(seen: list[str], name: str) -> dict[str, str] | None:
            for line in seen:
                if line.startswith(f"span {name} trace="):
                    return dict(part.split("=", 1) for part in line.split()[-3:])
            return None

        names = ("POST /orders", "place_order", "reserve_stock", "set_event", "charge_card")
        seen = spans.wait_for(
            lambda seen: (
                all(span_of(seen, name) for name in names)
                and any(line.startswith("log reserving book") for line in seen)
            ),
            "the order's spans and log record",
        )
        found = {name: span_of(seen, name) for name in names}
        request_span, workflow = found["POST /orders"], found["place_order"]
        assert request_span is not None and workflow is not None
        # One trace, from the request through the queue to the steps.
        assert {span["trace"] for span in found.values() if span} == {request_span["trace"]}
        for step in ("reserve_stock", "set_event", "charge_card"):
            span = found[step]
            assert span is not None and span["parent"] == workflow["span"], step
        assert f"log reserving book trace={request_span['trace']}\n" in seen

        _the_failed_order(base, spans)
        assert app.poll() is None  # exported while running, not at shutdown

        # The dashboard on the app's system database shows the order and the app's queue.
        server = ui_server()
        listing = request(server, "GET", "/workflows").body
        assert f'data-workflow-id="{workflow_id}"' in listing
        page = request(server, "GET", f"/workflows/{workflow_id}").body
        assert 'id="workflow-status">SUCCESS<' in page
        assert "reserve_stock" in page and "charge_card" in page
        queues = request(server, "GET", "/queues").body
        row = queues.partition('<tr data-queue="orders">')[2].partition("</tr>")[0]
        assert 'data-setting="concurrency">concurrency: 4<' in row
    finally:
        app.send_signal(signal.SIGTERM)
        returncode = app.wait(timeout=30)
    # A graceful stop: the lifespan ran DBOS.destroy() (newer uvicorn versions then exit by
    # the signal they were stopped with, older ones with 0).
    out.wait_for(lambda seen: any("Application shutdown complete" in x for x in seen), "stop")
    assert returncode in (0, -signal.SIGTERM), "".join(out.lines)
