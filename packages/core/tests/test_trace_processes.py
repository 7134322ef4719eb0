"""A trace continued across processes (issue 16): a workflow enqueued inside
`PropagateOtelContext` in one process and run by a queue worker in another (a real
subprocess) gets a workflow span in the enqueuer's trace, parented to the enqueuing span."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from dbos import DBOS, PropagateOtelContext

APP = Path(__file__).parent / "apps" / "trace_worker_app.py"
pytestmark = pytest.mark.slow


@DBOS.workflow(name="trace_worker_app.work")
def work(x: int) -> int:  # the worker's workflow, registered here only to enqueue it by name
    raise AssertionError("runs in the worker process only")


def wait_for(path: Path, worker: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else b""
        assert time.monotonic() < deadline, f"timed out waiting for {path.name}"
        time.sleep(0.05)


def test_a_worker_process_continues_the_enqueuers_trace(
    dbos_system_database_url: str, tmp_path: Path
) -> None:
    worker = subprocess.Popen(
        [sys.executable, str(APP), dbos_system_database_url, str(tmp_path)],
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(tmp_path / "ready", worker)
        DBOS.destroy()
        DBOS(
            config={
                "name": "trace-enqueuer",
                "system_database_url": dbos_system_database_url,
                "application_version": "trace-v1",
            }
        )
        DBOS.launch(management_only=True)  # no queue worker here: the subprocess runs it
        tracer = TracerProvider().get_tracer("enqueuer")
        with tracer.start_as_current_span("enqueue request") as request, PropagateOtelContext():
            handle = DBOS.enqueue_workflow("traced", work, 21)
        assert handle.get_result() == 42
        context = request.get_span_context()
        deadline = time.monotonic() + 30
        spans: list[dict[str, str]] = []
        while time.monotonic() < deadline:
            written = tmp_path / "spans.jsonl"
            lines = written.read_text().splitlines() if written.exists() else []
            spans = [json.loads(line) for line in lines]
            if {"trace_worker_app.work", "trace_worker_app.double"} <= {s["name"] for s in spans}:
                break
            time.sleep(0.05)
        by_name = {span["name"]: span for span in spans}
        workflow, step = by_name["trace_worker_app.work"], by_name["trace_worker_app.double"]
        assert workflow["trace_id"] == f"{context.trace_id:032x}"
        assert workflow["parent_span_id"] == f"{context.span_id:016x}"
        assert step["trace_id"] == workflow["trace_id"]
        assert step["parent_span_id"] == workflow["span_id"]
    finally:
        DBOS.destroy()
        (tmp_path / "stop").touch()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
