"""The class-workflow conformance suite (issue 12, item 1): a workflow row's `class_name` and
`config_name` are stored, read back by every call that returns rows, and copied by a fork,
through the protocol only. Run it from a test module with
``from dbos_testing.conformance.classes import *``."""

from __future__ import annotations

from dataclasses import replace

from dbos import SystemStorage
from dbos.storage import (
    ClaimRequest,
    ForkRequest,
    NewWorkflow,
    QueueSpec,
    WorkflowQuery,
    WorkflowStatusString,
)

ENQUEUED = WorkflowStatusString.ENQUEUED.value
NAME = "Shop.checkout"

__all__ = [
    "test_a_method_row_keeps_its_class_and_instance",
    "test_a_function_row_has_neither",
    "test_claims_and_recoveries_return_the_class_and_instance",
    "test_a_fork_keeps_the_class_and_instance",
]


def method_workflow(workflow_id: str, **overrides: object) -> NewWorkflow:
    workflow = NewWorkflow(
        workflow_id=workflow_id,
        name=NAME,
        inputs='{"args":[],"kwargs":{}}',
        executor_id="ex",
        application_version="v1",
        created_at_ms=1_000,
        class_name="Shop",
        config_name="north",
    )
    return replace(workflow, **overrides)  # type: ignore[arg-type]


def test_a_method_row_keeps_its_class_and_instance(dbos_storage: SystemStorage) -> None:
    init = dbos_storage.create_workflow(method_workflow("m"))
    assert (init.row.class_name, init.row.config_name) == ("Shop", "north")
    # The insert-or-get of an existing row returns what the first insert stored.
    again = dbos_storage.create_workflow(method_workflow("m", class_name="Other"))
    assert not again.created
    assert (again.row.class_name, again.row.config_name) == ("Shop", "north")
    row = dbos_storage.get_workflow("m")
    assert row is not None and (row.class_name, row.config_name) == ("Shop", "north")
    (listed,) = dbos_storage.list_workflows(WorkflowQuery(workflow_ids=("m",)))
    assert (listed.class_name, listed.config_name) == ("Shop", "north")
    # A listing that skips payloads still carries them: they are not payloads.
    (light,) = dbos_storage.list_workflows(
        WorkflowQuery(workflow_ids=("m",), load_inputs=False, load_output=False)
    )
    assert (light.class_name, light.config_name) == ("Shop", "north")


def test_a_function_row_has_neither(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(method_workflow("f", class_name=None, config_name=None))
    # A class method records its class only.
    dbos_storage.create_workflow(method_workflow("c", config_name=None))
    rows = {r.workflow_id: r for r in dbos_storage.list_workflows(WorkflowQuery())}
    assert (rows["f"].class_name, rows["f"].config_name) == (None, None)
    assert (rows["c"].class_name, rows["c"].config_name) == ("Shop", None)


def test_claims_and_recoveries_return_the_class_and_instance(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(
        method_workflow("queued", status=ENQUEUED, queue_name="q", executor_id=None)
    )
    dbos_storage.create_workflow(method_workflow("pending"))
    request = ClaimRequest(QueueSpec("q"), "ex", "v1", 1, (NAME,), 50, None)
    (claimed,) = dbos_storage.claim_queued(request)
    assert (claimed.workflow_id, claimed.class_name, claimed.config_name) == (
        "queued",
        "Shop",
        "north",
    )
    recovered = {r.workflow_id: r for r in dbos_storage.recover_pending("ex", "v1")}
    assert (recovered["pending"].class_name, recovered["pending"].config_name) == (
        "Shop",
        "north",
    )


def test_a_fork_keeps_the_class_and_instance(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(method_workflow("original"))
    forked = dbos_storage.fork_workflow(ForkRequest("original", "forked", 0, "q", None, 2_000))
    assert (forked.class_name, forked.config_name) == ("Shop", "north")
    row = dbos_storage.get_workflow("forked")
    assert row is not None and (row.class_name, row.config_name) == ("Shop", "north")
