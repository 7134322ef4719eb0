"""The `dbos` command, run as a real subprocess (the installed console script) against a real
database on every backend."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from dbos import DBOS, DBOSNonExistentWorkflowError, SetWorkflowID

Launch = Callable[..., None]
DBOS_COMMAND = Path(sys.executable).parent / "dbos"
pytestmark = pytest.mark.slow


class Outage(Exception):
    pass


def dbos_cli(
    *args: str, url: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DBOS_SYSTEM_DATABASE_URL"}
    if url is not None:
        env["DBOS_SYSTEM_DATABASE_URL"] = url
    return subprocess.run(
        [str(DBOS_COMMAND), *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))


def table_rows(text: str) -> list[list[str]]:
    """The body of a table the command printed, split into cells (two or more spaces apart)."""
    lines = text.splitlines()
    return [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]


def assert_no_password(url: str, result: subprocess.CompletedProcess[str]) -> None:
    password = urlsplit(url).password
    if password:
        assert password not in result.stdout + result.stderr


@pytest.fixture
def outage_app(launch: Launch) -> Counter[str]:
    """An app with two workflows that failed on an outage at step 2, and one that worked."""
    runs: Counter[str] = Counter()
    down = {"on": True}

    @DBOS.step()
    def load(x: int) -> int:
        runs["load"] += 1
        return x

    @DBOS.step()
    def compute(x: int) -> int:
        runs["compute"] += 1
        return x * 3

    @DBOS.step()
    def publish(x: int) -> str:
        runs["publish"] += 1
        if down["on"]:
            raise Outage("publisher unreachable")
        return f"published {x}"

    @DBOS.workflow(name="report")
    def report(x: int) -> str:
        return publish(compute(load(x)))

    @DBOS.workflow(name="noop")
    def noop() -> str:
        return "fine"

    launch()
    for index in (1, 2):
        with SetWorkflowID(f"report-{index}"), pytest.raises(Outage):
            report(index)
    with SetWorkflowID("noop-1"):
        noop()
    down["on"] = False
    runs.clear()
    return runs


def test_workflow_list_get_and_steps(
    outage_app: Counter[str], dbos_system_database_url: str
) -> None:
    url = dbos_system_database_url
    table = dbos_cli("workflow", "list", url=url)
    lines = ok(table).splitlines()
    assert lines[0].split()[:3] == ["WORKFLOW", "ID", "STATUS"]
    assert [line.split()[0] for line in lines[1:]] == ["noop-1", "report-2", "report-1"]
    assert_no_password(url, table)

    listed = as_json(dbos_cli("workflow", "list", "--status", "ERROR", "--sort-asc", "--json",
                              "--load-output", url=url))  # fmt: skip
    assert [w["workflow_id"] for w in listed] == ["report-1", "report-2"]
    assert listed[0]["error"]["type"].endswith("Outage")
    assert listed[0]["error"]["message"] == "publisher unreachable"
    filtered = as_json(dbos_cli("--db-url", url, "workflow", "list", "--name", "noop", "--json"))
    assert [w["workflow_id"] for w in filtered] == ["noop-1"]
    assert as_json(dbos_cli("workflow", "list", "--prefix", "rep", "--limit", "1", "--json",
                            url=url))[0]["workflow_id"] == "report-2"  # fmt: skip
    assert as_json(dbos_cli("workflow", "list", "--end-time", "2000-01-01T00:00:00Z", "--json",
                            url=url)) == []  # fmt: skip
    assert len(as_json(dbos_cli("workflow", "list", "--start-time", "1h", "--json", url=url))) == 3
    both = as_json(dbos_cli("workflow", "list", "--prefix", "noop", "--prefix", "report-1",
                            "--json", url=url))  # fmt: skip
    assert sorted(w["workflow_id"] for w in both) == ["noop-1", "report-1"]
    assert len(as_json(dbos_cli("workflow", "list", "--no-parent", "--json", url=url))) == 3
    assert as_json(dbos_cli("workflow", "list", "--has-parent", "--json", url=url)) == []
    assert as_json(dbos_cli("workflow", "list", "--parent", "report-1", "--json", url=url)) == []

    details = as_json(dbos_cli("workflow", "get", "report-1", "--json", url=url))
    assert (details["status"], details["name"], details["input"]) == (
        "ERROR",
        "report",
        {"args": [1], "kwargs": {}},
    )
    assert details["completed_at"] is not None and details["forked_from"] is None
    assert (details["was_forked_from"], details["workflow_timeout_ms"]) == (False, None)
    assert "publisher unreachable" in ok(dbos_cli("workflow", "get", "report-1", url=url))

    steps = as_json(dbos_cli("workflow", "steps", "report-1", "--json", url=url))
    assert [s["step_id"] for s in steps] == [1, 2, 3]
    assert [s["output"] for s in steps[:2]] == [1, 3]
    assert steps[2]["error"]["message"] == "publisher unreachable"
    assert "Traceback" in steps[2]["error"]["traceback"]
    page = as_json(dbos_cli("workflow", "steps", "report-1", "--offset", "1", "--limit", "1",
                            "--json", url=url))  # fmt: skip
    assert [(s["step_id"], s["output"]) for s in page] == [(2, 3)]
    bare = as_json(dbos_cli("workflow", "steps", "report-1", "--no-output", "--json", url=url))
    assert [(s["step_id"], s["output"], s["error"]) for s in bare] == [
        (1, None, None),
        (2, None, None),
        (3, None, None),
    ]
    steps_table = ok(dbos_cli("workflow", "steps", "report-1", url=url)).splitlines()
    assert steps_table[0].startswith("STEP")
    assert "raised" in steps_table[3] and "publisher unreachable" in steps_table[3]


def test_fork_resume_cancel_delete(outage_app: Counter[str], dbos_system_database_url: str) -> None:
    url = dbos_system_database_url
    forked = as_json(dbos_cli("workflow", "fork", "report-1", "--step", "3", "--json",
                              "--forked-id", "report-1-retry", url=url))  # fmt: skip
    assert forked == {"workflow_id": "report-1-retry"}
    assert DBOS.retrieve_workflow("report-1-retry").get_result(timeout_seconds=30) == "published 3"
    assert outage_app == Counter(publish=1)  # steps 1 and 2 were reused, not run
    taken = dbos_cli("workflow", "fork", "report-1", "--step", "3",
                     "--forked-id", "report-1-retry", url=url)  # fmt: skip
    assert taken.returncode == 1
    assert "workflow ID 'report-1-retry' is already taken" in taken.stderr, taken.stderr
    assert "cannot be reused" not in taken.stderr  # not the same name on both sides
    # No --step: from the first step (as DBOS Transact's default, 1), nothing reused.
    new_id = ok(dbos_cli("workflow", "fork", "report-2", url=url)).strip()
    assert DBOS.retrieve_workflow(new_id).get_result(timeout_seconds=30) == "published 6"
    assert outage_app == Counter(publish=2, load=1, compute=1)

    # A step past the last one replays every recorded step (as in DBOS Transact): the
    # recorded error at step 3 again, and nothing runs.
    past = ok(dbos_cli("workflow", "fork", "report-1", "--step", "4", url=url)).strip()
    with pytest.raises(Outage):
        DBOS.retrieve_workflow(past).get_result(timeout_seconds=30)
    assert outage_app == Counter(publish=2, load=1, compute=1)
    forks = as_json(dbos_cli("workflow", "list", "--forked-from", "report-1", "--json", url=url))
    assert sorted(w["workflow_id"] for w in forks) == sorted(["report-1-retry", past])
    assert all(w["forked_from"] == "report-1" for w in forks)
    originals = as_json(dbos_cli("workflow", "list", "--was-forked-from", "--json", url=url))
    assert [w["workflow_id"] for w in originals] == ["report-2", "report-1"]
    assert all(w["was_forked_from"] for w in originals)
    assert as_json(dbos_cli("workflow", "list", "--app", "nobody", "--json", url=url)) == []
    mine = as_json(dbos_cli("workflow", "list", "--app", "client-test-app", "--json", url=url))
    assert mine and {w["application_name"] for w in mine} == {"client-test-app"}
    ok(dbos_cli("workflow", "delete", past, url=url))

    # An unknown ID: clear errors, exit code 1.
    for command in (("get", "nope"), ("steps", "nope")):
        missing = dbos_cli("workflow", *command, url=url)
        assert missing.returncode == 1, command
        assert "workflow 'nope' does not exist" in missing.stderr
    for action in ("cancel", "delete", "resume"):
        missing = dbos_cli("workflow", action, "nope", url=url)
        assert missing.returncode == 1, action
        assert table_rows(missing.stdout) == [["nope", "not found", "-"]]

    finished = dbos_cli("workflow", "cancel", "noop-1", url=url)  # finished: left as it is
    assert finished.returncode == 1
    assert table_rows(finished.stdout) == [
        ["noop-1", "not cancelled: it had already finished", "SUCCESS"]
    ]
    status = DBOS.get_workflow_status("noop-1")
    assert status is not None and status.status == "SUCCESS"

    ok(dbos_cli("workflow", "delete", "report-1-retry", new_id, url=url))
    remaining = as_json(dbos_cli("workflow", "list", "--json", url=url))
    assert sorted(w["workflow_id"] for w in remaining) == ["noop-1", "report-1", "report-2"]

    # Resume a failed workflow: its recorded error at step 2 is replayed, so it fails again.
    resumed = table_rows(ok(dbos_cli("workflow", "resume", "report-2", url=url)))
    assert resumed[0][:2] == ["report-2", "resumed: queued to continue from its last recorded step"]
    handle = DBOS.retrieve_workflow("report-2")
    with pytest.raises(Outage):
        handle.get_result(timeout_seconds=30)


def test_queue_list_and_unknown_names(launch: Launch, dbos_system_database_url: str) -> None:
    url = dbos_system_database_url
    launch()
    from dbos_client import DBOSClient

    with DBOSClient(url) as client:
        for index in range(3):
            client.enqueue({"workflow_name": "nobody.runs.this", "queue_name": "backlog"}, index)
    listed = as_json(dbos_cli("queue", "tasks", "--json", url=url))
    assert [(w["queue_name"], w["status"]) for w in listed] == [("backlog", "ENQUEUED")] * 3
    assert len(ok(dbos_cli("queue", "tasks", "--queue", "backlog", url=url)).splitlines()) == 4
    unknown = dbos_cli("queue", "tasks", "--queue", "typo", url=url)
    assert unknown.returncode == 1
    assert "no workflow was ever enqueued on a queue named 'typo'" in unknown.stderr
    unknown_name = dbos_cli("workflow", "list", "--name", "typo", url=url)
    assert unknown_name.returncode == 1 and "no workflow named 'typo'" in unknown_name.stderr
    # A lookup miss, not a configuration error: the class a missing schedule gets too.
    for miss in (unknown, unknown_name):
        assert miss.stderr.strip().endswith("(DBOSException)"), miss.stderr


def test_gc_migrate_and_reset(outage_app: Counter[str], dbos_system_database_url: str) -> None:
    url = dbos_system_database_url
    assert "deleted 0 workflow(s)" in ok(dbos_cli("gc", "--before", "2000-01-01", url=url))
    assert len(as_json(dbos_cli("workflow", "list", "--json", url=url))) == 3
    gc = dbos_cli("gc", "--before", "2999-01-01T00:00:00Z", url=url)
    assert "deleted 3 workflow(s)" in ok(gc)
    assert as_json(dbos_cli("workflow", "list", "--json", url=url)) == []
    bad = dbos_cli("gc", "--before", "last tuesday", url=url)
    assert bad.returncode == 2 and "neither an ISO 8601 time" in bad.stderr

    DBOS.destroy()
    refused = dbos_cli("reset", url=url, stdin="n\n")
    assert refused.returncode == 1  # aborted: nothing dropped
    assert as_json(dbos_cli("workflow", "list", "--json", url=url)) == []
    reset = dbos_cli("reset", "--yes", url=url)
    assert_no_password(url, reset)
    ok(reset)
    not_set_up = dbos_cli("workflow", "list", url=url)
    assert not_set_up.returncode == 1 and "dbos migrate" in not_set_up.stderr
    migrated = dbos_cli("migrate", url=url)
    assert re.search(r": applied \d+ migration\(s\) \(", ok(migrated)), migrated.stdout
    assert_no_password(url, migrated)
    assert "no migration to apply" in ok(dbos_cli("migrate", url=url))
    assert as_json(dbos_cli("workflow", "list", "--json", url=url)) == []


def test_connection_and_usage_errors(tmp_path: Path) -> None:
    secret_url = "postgresql://admin:s3cr3t-pw@127.0.0.1:1/app"
    unreachable = dbos_cli("workflow", "list", url=secret_url)
    assert unreachable.returncode == 1
    assert "s3cr3t-pw" not in unreachable.stdout + unreachable.stderr
    assert "admin:***@127.0.0.1:1" in unreachable.stderr
    no_url = dbos_cli("workflow", "list")
    assert no_url.returncode == 2 and "DBOS_SYSTEM_DATABASE_URL" in no_url.stderr
    bad_scheme = dbos_cli("--db-url", "mysql://x@y/z", "workflow", "list")
    assert bad_scheme.returncode == 2 and "no installed storage backend" in bad_scheme.stderr
    for schema in ("bad\nschema", "x" * 53, ""):
        bad_schema = dbos_cli("--schema", schema, "workflow", "list", url=secret_url)
        assert bad_schema.returncode == 2, bad_schema.stderr
        assert "--schema" in bad_schema.stderr and "Traceback" not in bad_schema.stderr
    for command in ("fork", "rewind"):
        bad_step = dbos_cli(
            "workflow", command, "x", "--step", "-1", url=f"sqlite:///{tmp_path}/x.sqlite"
        )
        assert bad_step.returncode == 2 and "--step" in bad_step.stderr
        assert "step IDs count from 1" in bad_step.stderr, bad_step.stderr
        help_text = ok(dbos_cli("workflow", command, "--help"))
        assert "default: 0" not in help_text and "x>=0" not in help_text
        assert "Default: the first step" in " ".join(help_text.split())
    assert "workflow" in ok(dbos_cli("--help"))


def test_cancel_resume_delete_report_each_id_and_fail_if_any_was_not_acted_on(
    outage_app: Counter[str], dbos_system_database_url: str
) -> None:
    url = dbos_system_database_url
    from dbos_client import DBOSClient

    with DBOSClient(url) as client:
        client.enqueue(
            {"workflow_name": "nobody.runs.this", "queue_name": "backlog", "workflow_id": "q-1"}
        )

    cancel = dbos_cli("workflow", "cancel", "q-1", "noop-1", "nope", "q-1", url=url)
    assert cancel.returncode == 1
    assert table_rows(cancel.stdout) == [
        ["q-1", "cancelled", "CANCELLED"],
        ["noop-1", "not cancelled: it had already finished", "SUCCESS"],
        ["nope", "not found", "-"],
    ]
    assert "2 of 3 workflow(s) could not be cancelled: noop-1, nope" in cancel.stderr
    again = dbos_cli("workflow", "cancel", "q-1", "--json", url=url)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == [
        {"workflow_id": "q-1", "outcome": "already_cancelled", "status": "CANCELLED", "ok": True}
    ]

    resume = dbos_cli("workflow", "resume", "q-1", "noop-1", "--json", url=url)
    assert resume.returncode == 1
    assert json.loads(resume.stdout) == [
        {"workflow_id": "q-1", "outcome": "resumed", "status": "ENQUEUED", "ok": True},
        {"workflow_id": "noop-1", "outcome": "not_resumable", "status": "SUCCESS", "ok": False},
    ]
    assert "could not be resumed: noop-1" in resume.stderr
    queued = dbos_cli("workflow", "resume", "q-1", url=url)
    assert table_rows(ok(queued)) == [["q-1", "not resumed: already queued or running", "ENQUEUED"]]

    delete = dbos_cli("workflow", "delete", "q-1", "nope", url=url)
    assert delete.returncode == 1
    assert table_rows(delete.stdout) == [
        ["q-1", "deleted", "(deleted)"],
        ["nope", "not found", "-"],
    ]
    assert "1 of 2 workflow(s) could not be deleted: nope" in delete.stderr
    assert DBOS.get_workflow_status("q-1") is None


def test_version_prints_the_package_versions() -> None:
    from importlib.metadata import version

    shown = ok(dbos_cli("--version")).strip()
    assert shown == f"dbos {version('dbos-client')} (dbos-core {version('dbos-core')})"


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite"
    for command in (("workflow", "list"), ("workflow", "cancel", "x"), ("reset", "--yes")):
        result = dbos_cli("--db-url", f"sqlite:///{missing}", *command)
        assert result.returncode == 1, command
        assert f"the SQLite database file '{missing}' does not exist" in result.stderr
        assert not missing.exists()
    created = ok(dbos_cli("--db-url", f"sqlite:///{missing}", "migrate"))  # migrate creates it
    assert "created, all migrations applied" in created
    assert missing.exists()


def test_step_lists_show_wake_up_times_and_real_wait_durations(
    launch: Launch, dbos_system_database_url: str
) -> None:
    @DBOS.workflow(name="waits")
    def waits() -> str:
        DBOS.sleep(0.3)
        DBOS.get_event("nobody", "nothing", timeout_seconds=0.2)
        got: str = DBOS.recv("topic", timeout_seconds=0.25)
        return str(got)

    launch()
    with SetWorkflowID("waits-1"):
        assert waits() == "None"
    url = dbos_system_database_url
    steps = as_json(dbos_cli("workflow", "steps", "waits-1", "--json", url=url))
    names = [step["function_name"] for step in steps]
    assert names == ["DBOS.sleep", "DBOS.getEvent", "DBOS.sleep", "DBOS.recv", "DBOS.sleep"]
    table = table_rows(ok(dbos_cli("workflow", "steps", "waits-1", url=url)))
    for row, step in zip(table, steps, strict=True):
        if step["function_name"] == "DBOS.sleep":
            assert re.fullmatch(r"wake-up at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row[2]), row
            assert row[2] == f"wake-up at {step['completed_at']}"  # each wait ran to its end
        assert row[-1] != "0 ms", row


def test_dbos_errors_are_named_as_users_import_them(
    launch: Launch, dbos_system_database_url: str
) -> None:
    """`workflow get` and `workflow steps` (table and --json) name our error classes by their
    public module (``dbos.error.X``), not the private one that defines them."""

    @DBOS.step(name="lookup")
    def lookup() -> None:
        DBOS.retrieve_workflow("cli-nowhere")  # raises DBOSNonExistentWorkflowError

    @DBOS.workflow(name="looks_up")
    def looks_up() -> None:
        lookup()

    launch()
    with SetWorkflowID("looks-up-1"), pytest.raises(DBOSNonExistentWorkflowError):
        looks_up()
    url = dbos_system_database_url
    name = "dbos.error.DBOSNonExistentWorkflowError"
    details = as_json(dbos_cli("workflow", "get", "looks-up-1", "--json", url=url))
    assert details["error"]["type"] == name
    assert f"{name}: workflow 'cli-nowhere'" in ok(
        dbos_cli("workflow", "get", "looks-up-1", url=url)
    )
    steps = as_json(dbos_cli("workflow", "steps", "looks-up-1", "--json", url=url))
    assert [step["error"]["type"] for step in steps] == [name]
