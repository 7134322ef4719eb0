"""`dbos workflow stranded`, `dbos workflow list --stranded` and `dbos workflow move`, run as
real subprocesses against a real database on every backend, with a launched app serving v2
and workflows left by a v1 that no process serves any more."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dbos import DBOS, SetWorkflowID
from dbos.storage import NewWorkflow, WorkflowStatusString

Launch = Callable[..., None]
DBOS_COMMAND = Path(sys.executable).parent / "dbos"
pytestmark = pytest.mark.slow

ENQUEUED = WorkflowStatusString.ENQUEUED.value
PENDING = WorkflowStatusString.PENDING.value


def dbos_cli(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DBOS_SYSTEM_DATABASE_URL"}
    if url is not None:
        env["DBOS_SYSTEM_DATABASE_URL"] = url
    command = [str(DBOS_COMMAND), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def table_rows(text: str) -> list[list[str]]:
    """The body of a table the command printed, split into cells (two or more spaces apart)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()[1:]]


#: What a moved workflow's status may be by the time the command reads it back.
_AFTER_MOVE = ("ENQUEUED", "PENDING", "SUCCESS")


def test_stranded_workflows_are_counted_listed_and_moved(
    launch: Launch, dbos_system_database_url: str
) -> None:
    url = dbos_system_database_url

    @DBOS.workflow(name="cli_stranded.greet")
    def greet(who: str) -> str:
        return f"hello {who}"

    launch(application_version="v2", process_lease_sec=3600)
    with SetWorkflowID("finished"):
        assert greet("finished") == "hello finished"
    storage = DBOS._launched_engine().storage
    for workflow_id, status, created_at_ms in (("queued", ENQUEUED, 1), ("abandoned", PENDING, 2)):
        storage.create_workflow(
            NewWorkflow(
                workflow_id=workflow_id,
                name="cli_stranded.greet",
                inputs=f'{{"args":["{workflow_id}"],"kwargs":{{}}}}',
                executor_id=None,
                application_version="v1",
                created_at_ms=created_at_ms,
                queue_name="backlog" if status == ENQUEUED else None,
                status=status,
                owner_instance="a-process-that-is-gone",
            )
        )

    counted = ok(dbos_cli("workflow", "stranded", url=url))
    assert table_rows(counted) == [["v1", "1", "1", "1970-01-01T00:00:00.001Z"]]
    report = json.loads(ok(dbos_cli("workflow", "stranded", "--json", url=url)))
    assert report == {
        "stranded": [
            {"application_version": "v1", "pending": 1, "enqueued": 1, "oldest_created_at": 1}
        ],
        "served_versions": ["v2"],
    }
    listed = json.loads(ok(dbos_cli("workflow", "list", "--stranded", "--json", url=url)))
    assert [w["workflow_id"] for w in listed] == ["abandoned", "queued"]

    both = dbos_cli("workflow", "move", "queued", "--from-version", "v1", "--to-version", "v2")
    assert both.returncode == 2 and "either workflow IDs or --from-version" in both.stderr
    unserved = dbos_cli("workflow", "move", "queued", "--to-version", "v9", url=url)
    assert unserved.returncode == 1
    assert "no live process serves application version 'v9'" in unserved.stderr

    moved = dbos_cli(
        "workflow", "move", "abandoned", "finished", "nope", "--to-version", "v2", url=url
    )
    assert moved.returncode == 1
    rows = table_rows(moved.stdout)
    assert [row[:2] for row in rows] == [
        ["abandoned", "moved: queued for the new version's processes"],
        ["finished", "not moved: running in a live process, or finished"],
        ["nope", "not found"],
    ]
    # The status is read after the move: this live v2 process may have claimed it already.
    assert rows[0][2] in _AFTER_MOVE and [row[2] for row in rows[1:]] == ["SUCCESS", "-"]
    assert "2 of 3 workflow(s) could not be moved: finished, nope" in moved.stderr
    assert DBOS.retrieve_workflow("abandoned").get_result() == "hello abandoned"

    rest = json.loads(
        ok(
            dbos_cli(
                "workflow", "move", "--from-version", "v1", "--to-version", "v2", "--json", url=url
            )
        )
    )
    assert [{**entry, "status": None} for entry in rest] == [
        {"workflow_id": "queued", "outcome": "moved", "status": None, "ok": True}
    ]
    assert rest[0]["status"] in _AFTER_MOVE
    nothing = dbos_cli("workflow", "move", "--from-version", "v1", "--to-version", "v2", url=url)
    assert ok(nothing) == "" and "no stranded workflows of version v1" in nothing.stderr
    none_left = dbos_cli("workflow", "stranded", url=url)
    assert ok(none_left) == "" and "no stranded workflows" in none_left.stderr
    assert "versions served by live processes: v2" in none_left.stderr
