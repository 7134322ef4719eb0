"""DBOS Transact 3.4's `WorkflowStatus.workflow_timeout_ms`, `delay_until_epoch_ms`,
`was_forked_from` and `application_name` as `DBOS` and `DBOSClient` fill them, and the listing
filters `was_forked_from`, `dequeued_after`/`dequeued_before` and `application_name`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from dbos import DBOS, DBOSConfigError, DBOSException, Queue, SetWorkflowID, SetWorkflowTimeout
from dbos._queue import SetEnqueueOptions
from dbos_client import DBOSClient

Launch = Callable[..., None]


def test_timeout_and_application_name_of_a_start(launch: Launch) -> None:
    @DBOS.workflow()
    def child() -> int:
        return 1

    @DBOS.workflow()
    def parent() -> int:
        return child()

    queue = Queue("timed")
    launch()
    # Enqueued, so the child starts in a worker, outside the `SetWorkflowTimeout` block.
    with SetWorkflowID("timed"), SetWorkflowTimeout(60):
        assert queue.enqueue(parent).get_result(timeout_seconds=30) == 1
    status = DBOS.retrieve_workflow("timed").get_status()
    assert status.workflow_timeout_ms == 60_000
    assert status.workflow_deadline_epoch_ms == status.created_at + 60_000
    assert status.application_name == "test-app"
    assert (status.delay_until_epoch_ms, status.was_forked_from) == (None, False)
    # The child inherits the parent's deadline, but has no timeout of its own (3.4).
    kid = DBOS.retrieve_workflow("timed-1").get_status()
    assert kid.workflow_deadline_epoch_ms == status.workflow_deadline_epoch_ms
    assert (kid.workflow_timeout_ms, kid.application_name) == (None, "test-app")


def test_delay_until_of_a_delayed_enqueue(launch: Launch) -> None:
    queue = Queue("later")

    @DBOS.workflow()
    def task() -> int:
        return 2

    launch()
    before = int(time.time() * 1000)
    with SetWorkflowID("delayed"), SetEnqueueOptions(delay_seconds=3600):
        queue.enqueue(task)
    status = DBOS.retrieve_workflow("delayed").get_status()
    assert status.delay_until_epoch_ms is not None
    assert status.delay_until_epoch_ms >= before + 3_600_000
    assert status.application_name == "test-app"
    DBOS.cancel_workflow("delayed")


def test_was_forked_from_and_its_filter(launch: Launch) -> None:
    @DBOS.workflow()
    def original() -> int:
        return 7

    launch()
    with SetWorkflowID("original"):
        original()
    with SetWorkflowID("untouched"):
        original()
    fork = DBOS.fork_workflow("original", 1)
    assert fork.get_result(timeout_seconds=20) == 7
    assert DBOS.retrieve_workflow("original").get_status().was_forked_from is True
    assert fork.get_status().was_forked_from is False
    assert fork.get_status().application_name == "test-app"
    assert [s.workflow_id for s in DBOS.list_workflows(was_forked_from=True)] == ["original"]

    async def listed() -> list[str]:
        found = await DBOS.list_workflows_async(was_forked_from=False)
        return [s.workflow_id for s in found]

    # Created in the same millisecond, the two tie on created_at and the listing breaks the tie
    # by workflow ID, so only membership is pinned here.
    assert sorted(asyncio.run(listed())) == sorted(["untouched", fork.workflow_id])


def test_dequeue_time_filters(launch: Launch) -> None:
    queue = Queue("work")

    @DBOS.workflow()
    def task(x: int) -> int:
        return x

    @DBOS.workflow()
    def direct() -> int:
        return 0

    launch()
    with SetWorkflowID("direct"):
        direct()
    before = int(time.time() * 1000)
    with SetWorkflowID("queued"):
        assert queue.enqueue(task, 3).get_result(timeout_seconds=30) == 3
    status = DBOS.retrieve_workflow("queued").get_status()
    assert status.dequeued_at is not None and status.dequeued_at >= before
    at = status.dequeued_at

    def ids(**filters: Any) -> list[str]:  # times as epoch ms, which every listing accepts
        return [s.workflow_id for s in DBOS.list_workflows(**filters)]

    assert ids(dequeued_after=at) == ["queued"]
    assert ids(dequeued_before=at - 1) == []
    window: dict[str, Any] = {"dequeued_before": at, "dequeued_after": at}
    done = DBOS.list_queued_workflows(status="SUCCESS", **window)
    assert [s.workflow_id for s in done] == ["queued"]


def test_client_application_name_and_filter(launch: Launch, dbos_system_database_url: str) -> None:
    queue = Queue("shared")

    @DBOS.workflow()
    def task(x: int) -> int:
        return x

    launch()
    with SetWorkflowID("app-own"):
        queue.enqueue(task, 1).get_result(timeout_seconds=30)
    options: Any = {"workflow_name": task.__qualname__, "queue_name": "shared"}
    with DBOSClient(dbos_system_database_url, application_name="billing") as client:
        billing: Any = {**options, "workflow_id": "billing-1", "workflow_timeout": 90}
        handle = client.enqueue(billing)
        status = client.get_workflow_status(handle.workflow_id)
        assert status is not None
        assert (status.application_name, status.workflow_timeout_ms) == ("billing", 90_000)
    with DBOSClient(dbos_system_database_url) as anonymous:
        unnamed: Any = {**options, "workflow_id": "unnamed-1"}
        anonymous.enqueue(unnamed)

        def ids(**filters: Any) -> list[str]:
            return [s.workflow_id for s in anonymous.list_workflows(**filters)]

        # Workflows without an application name belong to every application (3.4).
        assert ids(application_name="billing") == ["billing-1", "unnamed-1"]
        assert ids(application_name=["test-app"]) == ["app-own", "unnamed-1"]
        queued = anonymous.list_queued_workflows(application_name="nobody", status="ENQUEUED")
        assert [s.workflow_id for s in queued] == [
            s.workflow_id
            for s in anonymous.list_workflows(status="ENQUEUED")
            if s.application_name is None
        ]
    DBOS.cancel_workflows(["billing-1", "unnamed-1"])


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"was_forked_from": "yes"}, "was_forked_from must be True, False or None"),
        ({"dequeued_after": "yesterday"}, "dequeued_after 'yesterday' is not an ISO 8601"),
        ({"application_name": 3}, "application_name must be a string or a list"),
    ],
)
def test_bad_filters_are_named(launch: Launch, filters: dict[str, object], message: str) -> None:
    launch()
    with pytest.raises(DBOSException, match=message):
        DBOS.list_workflows(**filters)  # type: ignore[arg-type]


def test_client_refuses_an_empty_application_name(dbos_system_database_url: str) -> None:
    with pytest.raises(DBOSConfigError, match="application_name must be a non-empty string"):
        DBOSClient(dbos_system_database_url, application_name="")
