"""`DBOSClient`'s forms of DBOS Transact 3.4's lifecycle keywords (``cancel_children``, a
resume's ``queue_name``, ``shard_key``), and the ``dbos workflow`` options that reach them
(``--cancel-children``, ``--queue``: ours), against an app running in this process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSException,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
    WorkflowHandle,
    WorkflowHandleAsync,
)
from dbos_client import DBOSClient

from .test_cli import dbos_cli, ok

Launch = Callable[..., None]

later = Queue("ck_later")
served = Queue("ck_served")
RAN: list[str] = []


@DBOS.workflow(name="ck.target")
def target(tag: str) -> str:
    RAN.append(tag)
    return tag


def enqueue_later(workflow_id: str) -> None:
    with SetEnqueueOptions(delay_seconds=3600), SetWorkflowID(workflow_id):
        later.enqueue(target, workflow_id)


@DBOS.workflow(name="ck.middle")
def middle(prefix: str) -> str:
    enqueue_later(f"{prefix}-grandchild")
    return "middle"


@DBOS.workflow(name="ck.root")
def root(prefix: str) -> str:
    enqueue_later(f"{prefix}-child")
    with SetWorkflowID(f"{prefix}-middle"):
        DBOS.start_workflow(middle, prefix).get_result()
    return "root"


def make_tree(prefix: str) -> None:
    """root (SUCCESS) -> child (waiting); root -> middle (SUCCESS) -> grandchild (waiting)."""
    with SetWorkflowID(prefix):
        root(prefix)


def tree(client: DBOSClient, prefix: str) -> list[str]:
    found = []
    for suffix in ("", "-child", "-middle", "-grandchild"):
        status = client.get_workflow_status(prefix + suffix)
        assert status is not None
        found.append(status.status)
    return found


CASCADED = ["SUCCESS", "CANCELLED", "SUCCESS", "CANCELLED"]


@pytest.mark.parametrize("form", ["one", "many", "async one", "async many"])
def test_a_client_cancels_a_whole_tree(
    launch: Launch, dbos_system_database_url: str, form: str
) -> None:
    launch()
    prefix = f"ck-{form.replace(' ', '-')}"
    make_tree(prefix)
    with DBOSClient(dbos_system_database_url) as client:
        client.cancel_workflow(prefix)  # finished, no cascade: nothing changes
        assert tree(client, prefix) == ["SUCCESS", "ENQUEUED", "SUCCESS", "ENQUEUED"]
        if form == "one":
            client.cancel_workflow(prefix, cancel_children=True)
        elif form == "many":
            client.cancel_workflows([prefix], cancel_children=True)
        elif form == "async one":
            asyncio.run(client.cancel_workflow_async(prefix, cancel_children=True))
        else:
            asyncio.run(client.cancel_workflows_async([prefix], cancel_children=True))
        assert tree(client, prefix) == CASCADED


@pytest.mark.parametrize("form", ["one", "many", "async one", "async many"])
def test_a_client_resumes_onto_a_named_queue(
    launch: Launch, dbos_system_database_url: str, form: str
) -> None:
    launch()
    workflow_id = f"ck-resume-{form.replace(' ', '-')}"
    enqueue_later(workflow_id)
    with DBOSClient(dbos_system_database_url) as client:
        client.cancel_workflow(workflow_id)
        handle: WorkflowHandle[Any] | WorkflowHandleAsync[Any]
        if form == "one":
            handle = client.resume_workflow(workflow_id, queue_name=served.name)
        elif form == "many":
            (handle,) = client.resume_workflows([workflow_id], queue_name=served.name)
        elif form == "async one":
            handle = asyncio.run(client.resume_workflow_async(workflow_id, queue_name=served.name))
        else:
            (handle,) = asyncio.run(
                client.resume_workflows_async([workflow_id], queue_name=served.name)
            )
        assert handle.workflow_id == workflow_id
        # The app's worker for that queue runs it (the client only puts it there).
        assert client.retrieve_workflow(workflow_id).get_result() == workflow_id
        status = client.get_workflow_status(workflow_id)
        assert status is not None and status.queue_name == served.name
    assert RAN.count(workflow_id) == 1


def test_a_client_refuses_a_shard_key(launch: Launch, dbos_system_database_url: str) -> None:
    launch()
    enqueue_later("ck-sk")
    with DBOSClient(dbos_system_database_url) as client:
        calls: list[tuple[str, Callable[[], object]]] = [
            ("cancel_workflow", lambda: client.cancel_workflow("ck-sk", shard_key="a")),
            ("cancel_workflows", lambda: client.cancel_workflows(["ck-sk"], shard_key="a")),
            ("resume_workflow", lambda: client.resume_workflow("ck-sk", shard_key="a")),
            (
                "resume_workflow",
                lambda: asyncio.run(client.resume_workflow_async("ck-sk", shard_key="a")),
            ),
            ("delete_workflow", lambda: client.delete_workflow("ck-sk", shard_key="a")),
            (
                "delete_workflows",
                lambda: asyncio.run(client.delete_workflows_async(["ck-sk"], shard_key="a")),
            ),
        ]
        for name, call in calls:
            with pytest.raises(DBOSException, match=f"{name}: shard_key is not supported"):
                call()
        status = client.get_workflow_status("ck-sk")
        assert status is not None and status.status == "ENQUEUED"
        client.cancel_workflow("ck-sk", shard_key=None)


@pytest.mark.slow
def test_the_cli_cancels_descendants_and_resumes_onto_a_queue(
    launch: Launch, dbos_system_database_url: str
) -> None:
    url = dbos_system_database_url
    launch()
    make_tree("cli")
    cancel = dbos_cli("workflow", "cancel", "cli", "--cancel-children", "--json", url=url)
    # The root had finished (reported, exit 1); its waiting descendants are cancelled.
    assert cancel.returncode == 1
    assert json.loads(cancel.stdout) == [
        {"workflow_id": "cli", "outcome": "already_finished", "status": "SUCCESS", "ok": False},
        {
            "workflow_id": "cli-child",
            "outcome": "cancelled_child",
            "status": "CANCELLED",
            "ok": True,
        },
        {
            "workflow_id": "cli-grandchild",
            "outcome": "cancelled_child",
            "status": "CANCELLED",
            "ok": True,
        },
    ]
    resume = dbos_cli("workflow", "resume", "cli-child", "--queue", served.name, "--json", url=url)
    assert json.loads(ok(resume)) == [
        {"workflow_id": "cli-child", "outcome": "resumed", "status": "ENQUEUED", "ok": True}
    ]
    assert DBOS.retrieve_workflow("cli-child").get_result() == "cli-child"
    status = DBOS.get_workflow_status("cli-child")
    assert status is not None and status.queue_name == served.name
    unfit = dbos_cli("workflow", "resume", "cli-grandchild", "--queue", " ", url=url)
    assert unfit.returncode == 1 and "queue_name must be a non-empty string" in unfit.stderr
