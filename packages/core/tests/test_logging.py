"""Logging out of the box: a default handler on stderr that the app's own setup replaces,
the launch and recoveries at INFO, every workflow ending in ERROR at ERROR, DEBUG details."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from dbos import DBOS, Queue
from dbos._engine.registry import clear_scheduled
from dbos._logging import DefaultHandler, configure_logging
from dbos_testing import CrashPlan, SimulatedCrash

Launch = Callable[..., None]
APP = Path(__file__).parent / "apps" / "log_app.py"
SECRET = "s3cret-pw-42"
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"


def _with_password(url: str) -> str:
    """`url` with a password (the test servers trust any)."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return url
    port = "" if parts.port is None else f":{parts.port}"
    netloc = f"{parts.username}:{SECRET}@{parts.hostname or ''}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def run_app(url: str, mode: str) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, str(APP), _with_password(url), mode],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip(), done.stderr


def test_default_handler_prints_launch_and_failed_queued_workflow(
    dbos_system_database_url: str,
) -> None:
    workflow_id, stderr = run_app(dbos_system_database_url, "default")
    launch = re.findall(
        rf"^{TIME} INFO +dbos: DBOS \S+ launching: system database (\S+), executor local, "
        r"application version \S+$",
        stderr,
        re.MULTILINE,
    )
    assert len(launch) == 1, stderr
    assert SECRET not in stderr
    if not dbos_system_database_url.startswith("sqlite"):
        assert ":***@" in launch[0]
    failed = re.findall(
        rf"^{TIME} ERROR +dbos: workflow {workflow_id} \(log_app\.charge\) ended in ERROR: "
        r"ValueError: card declined for order 7$",
        stderr,
        re.MULTILINE,
    )
    assert len(failed) == 1, stderr
    assert "Traceback" in stderr  # the failure's traceback follows its line


@pytest.mark.parametrize("mode", ["basic-before", "basic-after"])
def test_app_logging_config_gets_each_line_once(dbos_system_database_url: str, mode: str) -> None:
    workflow_id, stderr = run_app(dbos_system_database_url, mode)
    launches = [line for line in stderr.splitlines() if "launching: system database" in line]
    assert len(launches) == 1, stderr
    assert launches[0].startswith("APP|INFO|dbos|DBOS ")  # the app's format, not ours
    failures = [line for line in stderr.splitlines() if f"workflow {workflow_id} (" in line]
    assert failures == [
        f"APP|ERROR|dbos|workflow {workflow_id} (log_app.charge) ended in ERROR: "
        "ValueError: card declined for order 7"
    ], stderr


# --- in process --------------------------------------------------------------------------------


def _errors_about(caplog: pytest.LogCaptureFixture, workflow_id: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "dbos"
        and record.levelno == logging.ERROR
        and f"workflow {workflow_id} (" in record.getMessage()
    ]


def _wait_for_error(caplog: pytest.LogCaptureFixture, workflow_id: str) -> logging.LogRecord:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = _errors_about(caplog, workflow_id)
        if found:
            time.sleep(0.1)  # a second line, if any, would come now
            found = _errors_about(caplog, workflow_id)
            assert len(found) == 1, [r.getMessage() for r in found]
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no ERROR line for workflow {workflow_id}")


def test_background_and_queued_failures_are_logged_once(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Queue("logging-queue", polling_interval_sec=0.05)

    @DBOS.workflow()
    def explode(what: str) -> None:
        raise RuntimeError(f"{what} exploded")

    launch()
    caplog.set_level(logging.INFO, logger="dbos")
    started = DBOS.start_workflow(explode, "background")
    enqueued = queue.enqueue(explode, "queued")
    for handle, what in ((started, "background"), (enqueued, "queued")):
        record = _wait_for_error(caplog, handle.workflow_id)
        assert "explode) ended in ERROR: RuntimeError: " + f"{what} exploded" in record.getMessage()
        assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    with pytest.raises(RuntimeError):
        explode("called")  # the caller gets it; the log line is still written once
    direct = [r for r in caplog.records if "called exploded" in r.getMessage()]
    assert len(direct) == 1 and direct[0].levelno == logging.ERROR


def test_scheduled_failure_is_logged(launch: Launch, caplog: pytest.LogCaptureFixture) -> None:
    ticked = threading.Event()

    @DBOS.scheduled("* * * * * *")
    @DBOS.workflow()
    def failing_tick(scheduled_time: datetime, actual_time: datetime) -> None:
        ticked.set()
        raise KeyError("no such tenant")

    try:
        launch()
        caplog.set_level(logging.INFO, logger="dbos")
        assert ticked.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
            if any("failing_tick) ended in ERROR: KeyError" in line for line in lines):
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the failed tick was not logged")
        assert any(line.startswith("workflow sched-") for line in lines)
    finally:
        DBOS.destroy()
        clear_scheduled()


def test_debug_lines_for_workflows_and_steps(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    @DBOS.step()
    def fetch() -> int:
        return 1

    @DBOS.workflow()
    def pipeline() -> int:
        return fetch() + fetch()

    launch(log_level="DEBUG")
    caplog.set_level(logging.DEBUG, logger="dbos")
    handle = DBOS.start_workflow(pipeline)
    assert handle.get_result() == 2
    wid = handle.workflow_id
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert (
        f"workflow {wid} (test_debug_lines_for_workflows_and_steps.<locals>.pipeline) started"
        in debug
    )
    assert sum(f"workflow {wid}: operation" in line and "fetch" in line for line in debug) == 2
    assert any(
        line.startswith(f"workflow {wid} (") and line.endswith("ended SUCCESS") for line in debug
    )


def test_recovery_is_logged_with_ids(
    launch: Launch, caplog: pytest.LogCaptureFixture, dbos_crash: CrashPlan
) -> None:
    @DBOS.step()
    def only_step() -> int:
        return 1

    @DBOS.workflow()
    def recovered() -> int:
        return only_step()

    launch()
    dbos_crash.after_checkpoint(1)
    handle = DBOS.start_workflow(recovered)
    with pytest.raises(SimulatedCrash):
        handle.get_result()
    caplog.set_level(logging.INFO, logger="dbos")
    launch()  # as after a restart: the workflow is PENDING and recovered
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert f"recovering 1 pending workflow(s): {handle.workflow_id}" in lines
    assert DBOS.retrieve_workflow(handle.workflow_id).get_result() == 1


def test_log_level_config_and_default(launch: Launch) -> None:
    dbos_logger = logging.getLogger("dbos")
    launch(log_level="warning")
    assert dbos_logger.level == logging.WARNING
    launch()  # no log_level: back to DBOS's default, as this library set the last one
    assert dbos_logger.level == logging.INFO
    assert sum(isinstance(h, DefaultHandler) for h in dbos_logger.handlers) == 1
    dbos_logger.setLevel(logging.ERROR)  # the app's own choice is kept
    try:
        launch()
        assert dbos_logger.level == logging.ERROR
    finally:
        dbos_logger.setLevel(logging.NOTSET)


def test_step_retry_warnings_go_through_the_dbos_logger(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    @DBOS.step(retries_allowed=True, interval_seconds=0, max_attempts=2)
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("blip")
        return len(attempts)

    @DBOS.workflow()
    def calls_flaky() -> int:
        return flaky()

    launch()
    caplog.set_level(logging.WARNING, logger="dbos")
    assert calls_flaky() == 2
    warnings = [r for r in caplog.records if "blip" in r.getMessage()]
    assert [(r.name, r.levelno) for r in warnings] == [("dbos", logging.WARNING)]


def test_default_handler_steps_aside_for_the_apps_handlers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In process, with the root logger bare (as in an app that configured nothing): ours
    prints; once the app adds a handler of its own, on `dbos` or on the root, only that one."""
    root, dbos_logger = logging.getLogger(), logging.getLogger("dbos")
    saved = root.handlers[:]
    root.handlers.clear()  # pytest's capture handlers, put back below
    own = logging.StreamHandler(io.StringIO())
    try:
        configure_logging("INFO")
        dbos_logger.info("first line")
        assert re.fullmatch(rf"{TIME} INFO +dbos: first line\n", capsys.readouterr().err)
        dbos_logger.addHandler(own)
        dbos_logger.info("second line")
        dbos_logger.removeHandler(own)
        root.addHandler(own)
        dbos_logger.info("third line")
        assert capsys.readouterr().err == ""
        assert own.stream.getvalue() == "second line\nthird line\n"
    finally:
        dbos_logger.removeHandler(own)
        root.handlers[:] = saved
