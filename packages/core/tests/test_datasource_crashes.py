"""Exactly once under SIGKILL (issue 14, item 2): the app runs datasource transactions in a
real subprocess that is killed, then a new process recovers the workflow. The application's
rows and a log of body runs say what ran."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from dbos_client import DBOSClient

APP = Path(__file__).parent / "apps" / "datasource_app.py"
pytestmark = pytest.mark.slow


def start(
    system_url: str, app_url: str, workdir: Path, mode: str, flavour: str
) -> subprocess.Popen[str]:
    args = [sys.executable, str(APP), system_url, app_url, str(workdir), mode]
    return subprocess.Popen(
        args + (["async"] if flavour == "async" else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def run_until_reached_then_kill(process: subprocess.Popen[str], workdir: Path) -> None:
    deadline = time.monotonic() + 60
    while not (workdir / "reached").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the app never reached the kill point: {process.communicate()}")
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL


def app_rows(app_url: str) -> list[str]:
    engine = sa.create_engine(app_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text("SELECT item FROM orders ORDER BY id"))]
    finally:
        engine.dispose()


def runs(workdir: Path) -> Counter[str]:
    return Counter(line.split()[0] for line in (workdir / "effects.log").read_text().splitlines())


@pytest.fixture
def orders_table(app_database_url: str) -> str:
    engine = sa.create_engine(app_database_url.replace("postgresql://", "postgresql+psycopg://"))
    key = "INTEGER" if app_database_url.startswith("sqlite") else "SERIAL"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE orders (id {key} PRIMARY KEY, item TEXT NOT NULL)"))
    engine.dispose()
    return app_database_url


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_killed_after_the_commit_the_transaction_is_not_run_again(
    dbos_system_database_url: str, orders_table: str, tmp_path: Path, flavour: str
) -> None:
    first = start(dbos_system_database_url, orders_table, tmp_path, "kill_after_commit", flavour)
    run_until_reached_then_kill(first, tmp_path)
    # B committed (its row and its checkpoint row), but its step was never recorded.
    assert app_rows(orders_table) == ["A", "B"]
    assert runs(tmp_path) == Counter({"A": 1, "B": 1})

    second = start(dbos_system_database_url, orders_table, tmp_path, "recover", flavour)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["result"] == ["added A", "added B"]
    # Recovery took B's result from its checkpoint row: B's body did not run again.
    assert runs(tmp_path) == Counter({"A": 1, "B": 1})
    assert app_rows(orders_table) == ["A", "B"]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_killed_before_the_commit_the_transaction_runs_once_more(
    dbos_system_database_url: str, orders_table: str, tmp_path: Path, flavour: str
) -> None:
    first = start(dbos_system_database_url, orders_table, tmp_path, "kill_in_tx", flavour)
    run_until_reached_then_kill(first, tmp_path)
    # B's write died with its transaction.
    assert app_rows(orders_table) == ["A"]
    assert runs(tmp_path) == Counter({"A": 1, "B": 1})

    second = start(dbos_system_database_url, orders_table, tmp_path, "recover", flavour)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["result"] == ["added A", "added B"]
    # A was recorded and replayed; B ran once more, and its row exists once.
    assert runs(tmp_path) == Counter({"A": 1, "B": 2})
    assert app_rows(orders_table) == ["A", "B"]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_requeued_after_a_kill_after_the_commit_the_transaction_is_not_run_again(
    dbos_system_database_url: str, orders_table: str, tmp_path: Path, flavour: str
) -> None:
    # B is the workflow's first operation: after the kill, the system database holds nothing
    # of it, only the application database holds B's row and checkpoint row.
    first = start(
        dbos_system_database_url, orders_table, tmp_path, "kill_first_after_commit", flavour
    )
    run_until_reached_then_kill(first, tmp_path)
    assert app_rows(orders_table) == ["B"]
    # An operator cancels it and resumes it onto the queue; a worker claims it with no
    # recorded operation, which must not be taken for a first execution.
    client = DBOSClient(system_database_url=dbos_system_database_url)
    try:
        client.cancel_workflow("just-b")
        client.resume_workflow("just-b")
    finally:
        client.destroy()
    second = start(dbos_system_database_url, orders_table, tmp_path, "serve_just_b", flavour)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["result"] == ["added B"]
    assert runs(tmp_path) == Counter({"B": 1})
    assert app_rows(orders_table) == ["B"]
