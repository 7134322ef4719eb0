"""Roles through the client: the enqueue options that name the identity a workflow runs as
(checked against its required roles when it runs), the user filter, and the command line's
``--user`` filter and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from dbos import DBOS, DBOSException, Queue
from dbos.error import DBOSNotAuthorizedError
from dbos_client import DBOSClient, EnqueueOptions

Launch = Callable[..., None]


def test_enqueue_options_name_the_identity_and_the_cli_shows_it(
    launch: Launch, dbos_system_database_url: str
) -> None:
    queue = Queue("client_roles")

    @DBOS.workflow(name="client-roles.guarded")
    @DBOS.required_roles(["admin", "ops"])
    def guarded(x: int) -> list[Any]:
        return [x, DBOS.authenticated_user, DBOS.assumed_role]

    launch()
    with DBOSClient(dbos_system_database_url) as client:

        def opts(**options: Any) -> EnqueueOptions:
            options = {"workflow_name": "client-roles.guarded", "queue_name": queue.name, **options}
            return cast(EnqueueOptions, options)

        ok = client.enqueue(
            opts(workflow_id="ok", authenticated_user="ops-bot", authenticated_roles=["ops"]), 1
        )
        assert ok.get_result(timeout_seconds=30) == [1, "ops-bot", "ops"]
        refused = client.enqueue(opts(workflow_id="refused", authenticated_user="guest"), 2)
        with pytest.raises(DBOSNotAuthorizedError):
            refused.get_result(timeout_seconds=30)
        status = client.get_workflow_status("ok")
        assert status is not None
        assert (status.authenticated_user, status.authenticated_roles, status.assumed_role) == (
            "ops-bot",
            ["ops"],
            None,  # stored at enqueue: the role is assumed when it runs (as DBOS Transact)
        )
        found = client.list_workflows(user=["guest", "nobody"])
        assert [s.workflow_id for s in found] == ["refused"]
        for bad, message in (
            ({"authenticated_roles": "ops"}, "authenticated_roles"),
            ({"authenticated_roles": ["ops", 1]}, "authenticated_roles"),
            ({"authenticated_user": 7}, "authenticated_user"),
        ):
            with pytest.raises(DBOSException, match=message):
                client.enqueue(opts(**bad), 3)

    command = Path(sys.executable).with_name("dbos")
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url}
    listed = subprocess.run(
        [str(command), "workflow", "list", "--user", "ops-bot", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    (shown,) = json.loads(listed.stdout)
    assert (shown["workflow_id"], shown["authenticated_user"], shown["authenticated_roles"]) == (
        "ok",
        "ops-bot",
        ["ops"],
    )
