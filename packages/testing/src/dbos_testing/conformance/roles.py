"""The roles conformance suite: the identity a workflow runs as (authenticated user, granted
roles as JSON text, assumed role) stored with a new workflow and read back by every call that
returns workflow rows (get, list, recovery, a queue claim, a fork), and the listing filter on
the authenticated user; tested through the `SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.roles import *  # noqa: F403
"""

from __future__ import annotations

from dbos import SystemStorage
from dbos.storage import ClaimRequest, ForkRequest, QueueSpec, WorkflowQuery, WorkflowRow

from .storage import new_workflow

__all__ = [
    "test_the_identity_is_stored_with_a_new_workflow",
    "test_recovery_and_claims_return_the_identity",
    "test_fork_keeps_the_identity",
    "test_the_user_filter_finds_a_users_workflows",
]

_ALICE = {
    "authenticated_user": "alice",
    "authenticated_roles": '["admin", "user"]',
    "assumed_role": "admin",
}


def _identity(row: WorkflowRow | None) -> tuple[str | None, str | None, str | None]:
    assert row is not None
    return row.authenticated_user, row.authenticated_roles, row.assumed_role


def _alice() -> tuple[str, str, str]:
    return ("alice", '["admin", "user"]', "admin")


def test_the_identity_is_stored_with_a_new_workflow(dbos_storage: SystemStorage) -> None:
    init = dbos_storage.create_workflow(new_workflow("a", **_ALICE))
    assert init.created and _identity(init.row) == _alice()
    assert _identity(dbos_storage.get_workflow("a")) == _alice()
    dbos_storage.create_workflow(new_workflow("anonymous"))
    assert _identity(dbos_storage.get_workflow("anonymous")) == (None, None, None)
    # An empty list of roles is kept as such: it is not "no authentication information".
    dbos_storage.create_workflow(new_workflow("no-roles", authenticated_roles="[]"))
    assert _identity(dbos_storage.get_workflow("no-roles")) == (None, "[]", None)
    # A second create of the ID returns the stored identity, not the new one.
    again = dbos_storage.create_workflow(new_workflow("a", authenticated_user="mallory"))
    assert not again.created and _identity(again.row) == _alice()
    light = WorkflowQuery(workflow_ids=("a",), load_inputs=False, load_output=False)
    (listed,) = dbos_storage.list_workflows(light)
    assert _identity(listed) == _alice()


def test_recovery_and_claims_return_the_identity(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("pending", **_ALICE))
    (recovered,) = dbos_storage.recover_pending("executor-a", "v1")
    assert recovered.workflow_id == "pending" and _identity(recovered) == _alice()
    task = new_workflow(
        "task",
        name="module.task",
        executor_id=None,
        queue_name="q",
        status="ENQUEUED",
        **_ALICE,
    )
    dbos_storage.create_workflow(task)
    claimed = dbos_storage.claim_queued(
        ClaimRequest(QueueSpec("q"), "worker-1", "v1", 5, ("module.task",), 1_700_000_000_001)
    )
    assert [row.workflow_id for row in claimed] == ["task"]
    assert _identity(claimed[0]) == _alice()


def test_fork_keeps_the_identity(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("a", **_ALICE))
    forked = dbos_storage.fork_workflow(
        ForkRequest(
            workflow_id="a",
            forked_workflow_id="a-fork",
            start_step=0,
            queue_name="forks",
            application_version=None,
            now_ms=5_000,
        )
    )
    assert _identity(forked) == _alice()
    assert _identity(dbos_storage.get_workflow("a-fork")) == _alice()


def test_the_user_filter_finds_a_users_workflows(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("a1", **_ALICE))
    dbos_storage.create_workflow(new_workflow("a2", authenticated_user="alice"))
    dbos_storage.create_workflow(new_workflow("b", authenticated_user="bob"))
    dbos_storage.create_workflow(new_workflow("nobody"))

    def ids(user: str | tuple[str, ...]) -> list[str]:
        query = WorkflowQuery(authenticated_user=user)
        return sorted(row.workflow_id for row in dbos_storage.list_workflows(query))

    assert ids("alice") == ["a1", "a2"]
    assert ids(("alice", "bob")) == ["a1", "a2", "b"]
    assert ids(()) == []
    assert ids("carol") == []
