"""Roles (DBOS Transact 3.4's required_roles, default_required_roles, DBOSContextSetAuth,
set_authentication and the identity class properties), on every backend: the checks and
their refusals, what a workflow stores and inherits, and recovery after a SIGKILL running as
the stored identity."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSConfiguredInstance,
    DBOSContextSetAuth,
    DBOSException,
    Queue,
    SetWorkflowID,
    SystemStorage,
)
from dbos.error import DBOSNotAuthorizedError
from dbos_client import DBOSClient
from dbos_testing import kill_at_step

Launch = Callable[..., None]
APPS = str(Path(__file__).parent / "apps")


def _with(options: Any, **more: Any) -> Any:
    return {**options, **more}


def identity() -> tuple[str | None, list[str] | None, str | None]:
    return DBOS.authenticated_user, DBOS.authenticated_roles, DBOS.assumed_role


def test_a_direct_call_is_checked_and_assumes_the_first_required_role_granted(
    launch: Launch,
) -> None:
    @DBOS.workflow()
    @DBOS.required_roles(["admin", "user"])
    def guarded() -> Any:
        return identity()

    launch()
    with DBOSContextSetAuth("alice", ["user", "admin"]), SetWorkflowID("ok"):
        # The requirement's order decides, not the grant's.
        assert guarded() == ("alice", ["user", "admin"], "admin")
    with DBOSContextSetAuth("bob", ["user"]), SetWorkflowID("user-only"):
        assert guarded() == ("bob", ["user"], "user")
    status = DBOS.get_workflow_status("ok")
    assert status is not None
    assert (status.authenticated_user, status.authenticated_roles, status.assumed_role) == (
        "alice",
        ["user", "admin"],
        "admin",
    )
    assert identity() == (None, None, None)  # outside any block


def test_a_refused_direct_call_raises_and_starts_nothing(launch: Launch) -> None:
    ran: list[str] = []

    @DBOS.required_roles(["admin"])  # above the workflow decorator: the same requirement
    @DBOS.workflow()
    def guarded() -> None:
        ran.append("ran")

    launch()
    with SetWorkflowID("anonymous"), pytest.raises(DBOSNotAuthorizedError) as no_auth:
        guarded()
    assert str(no_auth.value) == (
        f"Function {guarded.__qualname__} requires a role, but was called in a context "
        "without authentication information"
    )
    with (
        DBOSContextSetAuth("bob", ["user"]),
        SetWorkflowID("bob"),
        pytest.raises(DBOSNotAuthorizedError) as wrong,
    ):
        guarded()
    assert str(wrong.value) == (
        f"Function {guarded.__qualname__} has required roles, but user is not authenticated "
        "for any of them"
    )
    assert wrong.value.msg == str(wrong.value)
    with DBOSContextSetAuth("carol", []), pytest.raises(DBOSNotAuthorizedError):
        guarded()
    assert ran == []
    assert DBOS.list_workflows() == []


def test_a_started_workflow_is_checked_when_it_runs_and_its_refusal_is_its_outcome(
    launch: Launch,
) -> None:
    @DBOS.workflow()
    @DBOS.required_roles(["admin"])
    def guarded() -> str:
        return "ran"

    launch()
    with DBOSContextSetAuth("bob", ["user"]), SetWorkflowID("refused"):
        handle = DBOS.start_workflow(guarded)
    with pytest.raises(DBOSNotAuthorizedError):
        handle.get_result()
    status = handle.get_status()
    assert status.status == "ERROR" and isinstance(status.error, DBOSNotAuthorizedError)
    assert (status.authenticated_user, status.authenticated_roles) == ("bob", ["user"])
    with DBOSContextSetAuth("alice", ["admin"]):
        assert DBOS.start_workflow(guarded).get_result() == "ran"


def test_enqueued_workflows_run_as_their_enqueuer_or_are_refused(launch: Launch) -> None:
    queue = Queue("roles-queue")

    @DBOS.workflow()
    @DBOS.required_roles(["admin"])
    def guarded(x: int) -> Any:
        return [x, *identity()]

    launch()
    with DBOSContextSetAuth("alice", ["admin"]):
        allowed = queue.enqueue(guarded, 1)
    with DBOSContextSetAuth("bob", ["user"]):
        refused = queue.enqueue(guarded, 2)
    assert allowed.get_result() == [1, "alice", ["admin"], "admin"]
    with pytest.raises(DBOSNotAuthorizedError):
        refused.get_result()
    assert refused.get_status().status == "ERROR"
    # enqueue_workflow_with_options: the options' identity, else the caller's.
    options: Any = {"workflow_name": guarded.__qualname__, "queue_name": "roles-queue"}
    with DBOSContextSetAuth("bob", ["user"]):
        named = DBOS.enqueue_workflow_with_options(
            _with(options, authenticated_user="carol", authenticated_roles=["admin"]), 3
        )
        inherited = DBOS.enqueue_workflow_with_options(options, 4)
    assert named.get_result() == [3, "carol", ["admin"], "admin"]
    with pytest.raises(DBOSNotAuthorizedError):
        inherited.get_result()
    assert inherited.get_status().authenticated_user == "bob"


def test_children_inherit_the_identity_and_blocks_inside_a_workflow_change_it(
    launch: Launch,
) -> None:
    queue = Queue("roles-children")

    @DBOS.workflow()
    def child() -> Any:
        return identity()

    @DBOS.workflow()
    @DBOS.required_roles(["admin"])
    def parent() -> Any:
        seen = [identity(), child(), queue.enqueue(child).get_result()]
        with DBOSContextSetAuth("system", ["batch"]):
            seen.append(child())
            seen.append(identity())
        DBOS.set_authentication("delegate", ["user"])
        seen.append(child())
        return seen

    launch()
    with DBOSContextSetAuth("alice", ["admin"]), SetWorkflowID("parent"):
        seen = parent()
    alice = ("alice", ["admin"], "admin")
    assert seen == [
        alice,
        alice,  # a direct child inherits the assumed role too
        alice,  # and so does an enqueued one
        ("system", ["batch"], "admin"),  # a block changes user and roles, not the role
        ("system", ["batch"], "admin"),
        ("delegate", ["user"], "admin"),
    ]
    # The parent's stored identity is the one it started with.
    status = DBOS.get_workflow_status("parent")
    assert status is not None and status.authenticated_user == "alice"
    users = sorted(
        s.authenticated_user or "" for s in DBOS.list_workflows(parent_workflow_id="parent")
    )
    assert users == ["alice", "alice", "delegate", "system"]
    assert [s.workflow_id for s in DBOS.list_workflows(user="system")] != []
    assert {s.authenticated_user for s in DBOS.list_workflows(user=["system", "delegate"])} == {
        "system",
        "delegate",
    }


def test_steps_and_plain_functions_are_checked_at_every_call(launch: Launch) -> None:
    @DBOS.step()
    @DBOS.required_roles(["auditor", "admin"])
    def audited() -> Any:
        return identity()

    @DBOS.required_roles(["admin"])
    def plain() -> Any:
        return identity()

    @DBOS.workflow()
    def caller() -> Any:
        return [audited(), plain(), identity()]

    @DBOS.workflow()
    def refused_caller() -> None:
        audited()

    launch()
    with DBOSContextSetAuth("alice", ["admin"]):
        # The step assumes its role; the workflow around it keeps its own (none).
        assert caller() == [
            ("alice", ["admin"], "admin"),
            ("alice", ["admin"], "admin"),
            ("alice", ["admin"], None),
        ]
        assert audited() == ("alice", ["admin"], "admin")  # outside a workflow, too
    with pytest.raises(DBOSNotAuthorizedError):
        plain()
    with DBOSContextSetAuth("bob", ["user"]), pytest.raises(DBOSNotAuthorizedError):
        refused_caller()


def test_class_default_roles_and_method_overrides(launch: Launch) -> None:
    @DBOS.default_required_roles(["user"])
    class Accounts(DBOSConfiguredInstance):
        def __init__(self) -> None:
            super().__init__("main")

        @DBOS.workflow()
        def balance(self) -> Any:
            return identity()

        @DBOS.workflow()
        @DBOS.required_roles(["admin"])
        def close(self) -> Any:
            return identity()

        @staticmethod
        @DBOS.workflow()
        @DBOS.required_roles([])
        def public() -> str:
            return "open"

    accounts = Accounts()
    launch()
    with DBOSContextSetAuth("bob", ["user"]):
        assert accounts.balance() == ("bob", ["user"], "user")
        with pytest.raises(DBOSNotAuthorizedError):
            accounts.close()
    with DBOSContextSetAuth("alice", ["admin", "user"]):
        assert accounts.close() == ("alice", ["admin", "user"], "admin")
    assert Accounts.public() == "open"
    with pytest.raises(DBOSNotAuthorizedError):
        accounts.balance()


def test_async_workflows_are_checked_and_run_as_their_identity(launch: Launch) -> None:
    @DBOS.required_roles(["admin"])
    @DBOS.workflow()
    async def guarded() -> Any:
        await asyncio.sleep(0)
        return identity()

    launch()
    asyncio.run(_async_checks(guarded))


async def _async_checks(guarded: Callable[[], Any]) -> None:
    async with DBOSContextSetAuth("alice", ["admin"]):
        assert await guarded() == ("alice", ["admin"], "admin")
        handle = await DBOS.start_workflow_async(guarded)
        assert await handle.get_result() == ("alice", ["admin"], "admin")
    with pytest.raises(DBOSNotAuthorizedError):
        await guarded()
    async with DBOSContextSetAuth("bob", ["user"]):
        refused = await DBOS.start_workflow_async(guarded)
    with pytest.raises(DBOSNotAuthorizedError):
        await refused.get_result()


def test_a_fork_and_a_resume_run_as_the_stored_identity(launch: Launch) -> None:
    @DBOS.step()
    def step_one() -> Any:
        return identity()

    @DBOS.workflow()
    @DBOS.required_roles(["admin"])
    def guarded() -> Any:
        return [step_one(), identity()]

    launch()
    with DBOSContextSetAuth("alice", ["admin"]), SetWorkflowID("original"):
        guarded()
    fork = DBOS.fork_workflow("original", 1)  # an anonymous caller forks it
    assert fork.get_result() == [("alice", ["admin"], "admin")] * 2
    status = fork.get_status()
    assert (status.authenticated_user, status.assumed_role) == ("alice", "admin")


def test_dbos_client_enqueue_carries_an_identity(
    launch: Launch, dbos_system_database_url: str
) -> None:
    Queue("roles-client")

    @DBOS.workflow(name="roles.guarded")
    @DBOS.required_roles(["admin"])
    def guarded() -> Any:
        return identity()

    launch()
    client = DBOSClient(system_database_url=dbos_system_database_url)
    try:
        options: Any = {"workflow_name": "roles.guarded", "queue_name": "roles-client"}
        allowed = client.enqueue(
            _with(options, authenticated_user="alice", authenticated_roles=["admin"])
        )
        assert allowed.get_result() == ("alice", ["admin"], "admin")
        status = client.get_workflow_status(allowed.workflow_id)
        assert status is not None and status.authenticated_roles == ["admin"]
        with pytest.raises(DBOSNotAuthorizedError):
            client.enqueue(options).get_result()
        with pytest.raises(DBOSException, match="authenticated_roles"):
            client.enqueue(_with(options, authenticated_roles="admin"))
        assert [s.workflow_id for s in client.list_workflows(user="alice")] == [allowed.workflow_id]
    finally:
        client.destroy()


def test_bad_input_is_refused_with_a_clear_error(launch: Launch) -> None:
    launch()
    with pytest.raises(DBOSException, match="required_roles must be a list"):
        DBOS.required_roles("admin")  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="roles must be a list"):
        DBOSContextSetAuth("alice", "admin")  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="user must be a string"):
        DBOSContextSetAuth(42, ["admin"])  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="outside a workflow"):
        DBOS.set_authentication("alice", ["admin"])
    with DBOSContextSetAuth("alice", ["admin"]):
        DBOS.set_authentication("bob", None)
        assert identity() == ("bob", None, None)
    assert identity() == (None, None, None)
    block = DBOSContextSetAuth("alice", None)
    with block, pytest.raises(DBOSException, match="already active"):
        block.__enter__()


def _app() -> Any:
    if APPS not in sys.path:
        sys.path.insert(0, APPS)
    return importlib.import_module("roles_app")


def _seen(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
@pytest.mark.parametrize("target", ["run_guarded", "run_guarded_async"])
def test_recovery_after_a_sigkill_runs_as_the_stored_identity(
    dbos: type[DBOS],
    dbos_system_database_url: str,
    dbos_storage: SystemStorage,
    tmp_path: Path,
    target: str,
) -> None:
    app = _app()
    importlib.reload(app)  # registered again, whatever an earlier test cleared
    effects = tmp_path / "effects.jsonl"
    run = kill_at_step(
        f"roles_app:{target}",
        str(effects),
        database_url=dbos_system_database_url,
        step=2,  # dies as the second step starts
        workflow_id=f"killed-{target}",
        application_version=DBOS.application_version,
        extra_sys_path=[APPS],
    )
    assert run.returncode == -signal.SIGKILL
    user, roles, assumed = (
        ("alice", ["user", "admin"], "admin")
        if target == "run_guarded"
        else ("bob", ["user"], "user")
    )
    before = {"where": "before", "user": user, "roles": roles, "assumed": assumed}
    assert _seen(effects) == [before]
    row = dbos_storage.get_workflow(f"killed-{target}")
    assert row is not None and row.status == "PENDING" and row.authenticated_user == user

    # This process runs as nobody: the recovered execution runs as the stored identity.
    assert identity() == (None, None, None)
    (handle,) = DBOS.recover_pending_workflows()
    after = {**before, "where": "after"}
    assert handle.get_result() == [before, after, {**before, "where": "body"}]
    assert _seen(effects) == [before, after]  # the first step was replayed, not run again


def test_the_roles_example_runs(dbos_system_database_url: str) -> None:
    """examples/roles.py, in its own process, on the test's backend."""
    example = Path(__file__).resolve().parents[3] / "examples" / "roles.py"
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url}
    run = subprocess.run(
        [sys.executable, str(example)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout.splitlines()
    assert out == [
        "1. sam as support closed acct-1",
        "2. refused at the call: Function Ledger.close has required roles, but user is not "
        "authenticated for any of them",
        "2. the queued request ended ERROR",
        "3. acct-1: 120 EUR, read by ada as auditor",
        "4. ops-bot as admin closed acct-4",
        "5. sam ['viewer', 'support'] support SUCCESS",
        "5. vic ['viewer'] None ERROR",
    ]
