"""A rolling deploy with real processes (issue 11, item 4, test (d)): v1 processes run
orders; v2 processes, whose code prices orders differently under ``DBOS.patch``, are rolled
out; one v1 process dies (SIGKILL) and the other is stopped; what v1 left is stranded, seen
with ``dbos workflow stranded`` and in the v2 processes' logs, and moved to v2 with ``dbos
workflow move``. Every order finishes once, on the branch its history calls for: the orders
that priced under v1 keep v1's price, those that had not started take v2's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbos.storage import SystemStorage, WorkflowQuery
from dbos_client import DBOSClient, EnqueueOptions

APP = Path(__file__).parent / "apps" / "deploy_app.py"
DBOS_COMMAND = Path(sys.executable).parent / "dbos"
# Short, so that a killed process's orders are taken over quickly; not 2 s: on a loaded
# machine a live process's renewal came late, another process took over a workflow it was
# running, and the two executions' race over a message left the order waiting (a takeover
# race of recv, recorded as a finding in session 12's note; not what this test is about).
LEASE_S = 5.0
pytestmark = pytest.mark.slow


class App:
    """One app process: its executor ID, code version and log file."""

    def __init__(self, url: str, workdir: Path, executor: str, code: str) -> None:
        self.workdir, self.executor, self.code = workdir, executor, code
        self.log = workdir / f"log-{executor}.txt"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(APP), url, str(workdir), executor, code],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "LEASE_S": str(LEASE_S)},
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def ready(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        return (self.workdir / f"ready-{self.pid}").exists()

    def stop(self) -> None:
        """A clean stop, as a deploy tool's SIGTERM handler would do it."""
        (self.workdir / f"stop-{self.executor}").touch()
        assert self.process.wait(timeout=60) == 0, self.log.read_text()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def wait_until(condition: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def effects(workdir: Path) -> list[tuple[str, str, int, str]]:
    log = workdir / "effects.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [(e, o, int(p), c) for e, o, p, c in (line.split() for line in lines)]


def priced(workdir: Path) -> dict[str, tuple[str, int]]:
    """Each order that priced: how, and in which process."""
    return {o: (e, p) for e, o, p, _ in effects(workdir) if e.startswith("price-")}


def dbos_cli(url: str, *args: str) -> Any:
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": url}
    result = subprocess.run(
        [str(DBOS_COMMAND), *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def enqueue(client: DBOSClient, order_ids: list[str], version: str | None) -> None:
    for order_id in order_ids:
        options: EnqueueOptions = {
            "workflow_name": "deploy_app.order",
            "queue_name": "orders",
            "workflow_id": order_id,
        }
        if version is not None:
            options["app_version"] = version
        client.enqueue(options, order_id)


OLD = [f"old-{n}" for n in range(8)]
NEW = [f"new-{n}" for n in range(3)]


def roll_out(url: str, workdir: Path, client: DBOSClient, apps: list[App]) -> set[str]:
    """Steps 1 and 2: v1 processes take v1 orders, two each at a time (each priced order
    waits for the warehouse); then v2 rolls out. It is the latest version now, so it alone
    takes the version-less orders, and v1's queued orders are not its to take. Returns the
    orders priced under v1."""
    v1 = [App(url, workdir, f"v1-{n}", "v1") for n in "ab"]
    apps += v1
    wait_until(lambda: all(app.ready() for app in v1))
    enqueue(client, OLD, "v1")
    wait_until(lambda: len(priced(workdir)) == 4)
    in_flight = set(priced(workdir))
    v2 = [App(url, workdir, f"v2-{n}", "v2") for n in "ab"]
    apps += v2
    wait_until(lambda: all(app.ready() for app in v2))
    enqueue(client, NEW, None)
    wait_until(lambda: set(NEW) <= set(priced(workdir)))
    now_priced = priced(workdir)
    assert set(now_priced) == in_flight | set(NEW)
    for order_id in NEW:
        how, pid = now_priced[order_id]
        assert how == "price-by-weight" and pid in {app.pid for app in v2}
    return in_flight


def lose_v1(url: str, storage: SystemStorage, v1: list[App], v2: list[App]) -> None:
    """Steps 3 and 4: a v1 process dies, and the other v1 process takes its orders over (a
    v2 one never does): back onto their queue, since the survivor runs its
    ``worker_concurrency`` (2) already, its own two orders waiting for the warehouse. Then the
    last v1 process is stopped. What it leaves, and the queued v1 orders, are stranded: v2
    processes warn, and never take them over."""
    dead, survivor = v1
    query = WorkflowQuery(executor_id=dead.executor, statuses=("PENDING",))
    dead_orders = {row.workflow_id for row in storage.list_workflows(query)}
    assert len(dead_orders) == 2
    dead.kill()

    def taken_over() -> bool:
        rows = [storage.get_workflow(o) for o in dead_orders]
        return all(
            row is not None
            and (row.status, row.executor_id, row.recovery_attempts) == ("ENQUEUED", None, 2)
            for row in rows
        )

    wait_until(taken_over, timeout=LEASE_S * 2 + 60)
    mine = WorkflowQuery(executor_id=survivor.executor, statuses=("PENDING",))
    assert len(storage.list_workflows(mine)) == 2  # within its limit, not four
    assert dbos_cli(url, "workflow", "stranded")["stranded"] == []
    survivor.stop()
    wait_until(lambda: all("are stranded" in app.log.read_text() for app in v2))
    # The test's leases last 2 s: on a loaded machine a renewal can be late, and the v2
    # processes look gone for a moment (seen once with three Postgres suites side by side).
    reports: list[dict[str, Any]] = []

    def served_by_v2() -> bool:
        reports.append(dbos_cli(url, "workflow", "stranded"))
        return bool(reports[-1]["served_versions"] == ["v2"])

    wait_until(served_by_v2, timeout=30)
    report = reports[-1]
    (count,) = report["stranded"]
    assert (count["application_version"], count["pending"], count["enqueued"]) == ("v1", 2, 6)
    listed = dbos_cli(url, "workflow", "list", "--stranded")
    assert sorted(w["workflow_id"] for w in listed) == sorted(OLD)
    for row in storage.list_workflows(WorkflowQuery(workflow_ids=tuple(OLD))):
        assert row.application_version == "v1"
        if row.status == "PENDING":
            assert row.executor_id is not None and row.executor_id.startswith("v1-")
    log = v2[0].log.read_text().splitlines()
    warning = next(line for line in log if "are stranded" in line)
    assert "'v1': 2 pending, 6 enqueued" in warning and "--to-version v2" in warning


def test_a_rolling_deploy_strands_nothing_and_runs_every_order_once_on_its_branch(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    url = dbos_system_database_url
    if not url.startswith("postgresql"):
        pytest.skip("several processes share one system database on Postgres only")
    client = DBOSClient(url)
    apps: list[App] = []
    try:
        in_flight = roll_out(url, tmp_path, client, apps)
        lose_v1(url, dbos_storage, apps[:2], apps[2:])
        # 5. Moved to v2: the orders priced under v1 keep v1's price (the patch sees their
        # history); those that never started take v2's.
        moved = dbos_cli(url, "workflow", "move", "--from-version", "v1", "--to-version", "v2")
        assert sorted(r["workflow_id"] for r in moved) == sorted(OLD)
        assert all(r["outcome"] == "moved" and r["ok"] for r in moved)
        assert dbos_cli(url, "workflow", "stranded")["stranded"] == []
        for order_id in OLD + NEW:
            client.send(order_id, "go", topic="ship")
        results = {o: client.retrieve_workflow(o).get_result() for o in OLD + NEW}
        for app in apps[2:]:
            app.stop()
    finally:
        client.destroy()
        for app in apps:
            if app.process.poll() is None:
                app.kill()
    expected = {o: "priced by count" if o in in_flight else "priced by weight" for o in results}
    assert results == expected
    happened = effects(tmp_path)
    # Every step of every order ran once: nothing ran twice across the kill, the stop and
    # the move.
    for event in ("reserve", "ship"):
        assert Counter(o for e, o, _, _ in happened if e == event) == dict.fromkeys(OLD + NEW, 1)
    prices = Counter(o for e, o, _, _ in happened if e.startswith("price-"))
    assert prices == dict.fromkeys(OLD + NEW, 1)
    for order_id in OLD + NEW:
        codes = {c for e, o, _, c in happened if o == order_id and e == "ship"}
        assert codes == {"v2"}, f"{order_id} shipped by a v2 process"
        steps = [step.function_name for step in dbos_storage.load_steps(order_id)]
        patched = "DBOS.patch-price-by-weight" in steps
        assert patched == (order_id not in in_flight), steps
