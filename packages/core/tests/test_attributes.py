"""Workflow attributes (DBOS Transact 3.4's `SetWorkflowAttributes`,
`update_workflow_attributes` and the ``attributes`` listing filter), on every backend."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSNonExistentWorkflowError,
    Queue,
    SetWorkflowAttributes,
    SetWorkflowID,
    SystemStorage,
)

Launch = Callable[..., None]


def _attributes(workflow_id: str) -> dict[str, Any] | None:
    status = DBOS.get_workflow_status(workflow_id)
    assert status is not None
    return status.attributes


def test_attributes_are_stored_with_started_and_enqueued_workflows(launch: Launch) -> None:
    queue = Queue("attributes_queue")

    @DBOS.workflow()
    def work() -> None:
        pass

    launch()
    attributes = {"customer": "acme", "tier": 2, "tags": ["a", "b"], "geo": {"eu": True}}
    with SetWorkflowAttributes(attributes):
        with SetWorkflowID("started"):
            work()
        with SetWorkflowID("enqueued"):
            queue.enqueue(work).get_result()
    with SetWorkflowID("plain"):
        work()
    assert _attributes("started") == attributes
    assert _attributes("enqueued") == attributes
    assert _attributes("plain") is None
    (listed,) = DBOS.list_workflows(workflow_ids=["started"])
    assert listed.attributes == attributes


def test_children_do_not_inherit_attributes(launch: Launch) -> None:
    @DBOS.workflow()
    def child() -> None:
        pass

    @DBOS.workflow()
    def parent() -> None:
        with SetWorkflowID("plain-child"):
            child()
        with SetWorkflowID("tagged-child"), SetWorkflowAttributes({"own": 1}):
            child()

    launch()
    with SetWorkflowID("parent"), SetWorkflowAttributes({"parent": True}):
        parent()
    assert _attributes("parent") == {"parent": True}
    assert _attributes("plain-child") is None
    assert _attributes("tagged-child") == {"own": 1}


def test_update_replaces_merges_and_clears(launch: Launch) -> None:
    @DBOS.workflow()
    def work() -> None:
        pass

    launch()
    with SetWorkflowID("wf"), SetWorkflowAttributes({"keep": 1, "nested": {"a": 1}}):
        work()
    before = DBOS.get_workflow_status("wf")
    DBOS.update_workflow_attributes("wf", {"nested": {"b": 2}, "gone": None}, merge=True)
    assert _attributes("wf") == {"keep": 1, "nested": {"b": 2}, "gone": None}
    after = DBOS.get_workflow_status("wf")
    assert before is not None and after is not None and after.updated_at >= before.updated_at
    DBOS.update_workflow_attributes("wf", {"only": "this"})
    assert _attributes("wf") == {"only": "this"}
    DBOS.update_workflow_attributes("wf", None)
    assert _attributes("wf") is None


def test_bad_attributes_and_updates_are_refused_clearly(launch: Launch) -> None:
    @DBOS.workflow()
    def work() -> None:
        pass

    launch()
    with pytest.raises(DBOSException, match="attribute 'when' is not JSON-serializable"):
        SetWorkflowAttributes({"when": object()})
    with pytest.raises(
        DBOSException, match=r"attribute 'nan' is not JSON-serializable \(nan has no JSON form\)"
    ):
        SetWorkflowAttributes({"nan": math.nan})
    with pytest.raises(DBOSException, match="attribute keys must be strings"):
        SetWorkflowAttributes({1: "x"})  # type: ignore[dict-item]
    with pytest.raises(DBOSException, match="must be a dict"):
        SetWorkflowAttributes(["x"])  # type: ignore[arg-type]
    with SetWorkflowID("wf"):
        work()
    with pytest.raises(DBOSException, match="merge=True needs a dict"):
        DBOS.update_workflow_attributes("wf", None, merge=True)
    with pytest.raises(DBOSException, match="not JSON-serializable"):
        DBOS.update_workflow_attributes("wf", {"t": (1, 2)})
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.update_workflow_attributes("missing", {"a": 1})
    with pytest.raises(DBOSException, match="attributes filter"):
        DBOS.list_workflows(attributes={"s": {1, 2}})
    assert _attributes("wf") is None


def test_an_update_inside_a_workflow_is_recorded_and_not_repeated(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    @DBOS.workflow()
    def target() -> None:
        pass

    @DBOS.step()
    def after() -> str:
        return "after"

    @DBOS.workflow()
    def updater(value: int) -> str:
        DBOS.update_workflow_attributes("target", {"by": value}, merge=True)
        return after()

    launch()
    with SetWorkflowID("target"):
        target()
    with SetWorkflowID("updater"):
        assert updater(1) == "after"
    steps = dbos_storage.load_steps("updater")
    assert [step.function_name for step in steps] == [
        "DBOS.updateWorkflowAttributes",
        after.__qualname__,
    ]
    DBOS.update_workflow_attributes("target", {"by": "outside"})
    # A re-run past the update replays it: the later change stands.
    assert DBOS.fork_workflow("updater", 2).get_result() == "after"
    assert _attributes("target") == {"by": "outside"}
    # A re-run from the start runs it again.
    assert DBOS.fork_workflow("updater", 1).get_result() == "after"
    assert _attributes("target") == {"by": 1}


def test_the_attributes_filter_matches_by_containment(launch: Launch) -> None:
    @DBOS.workflow()
    def work() -> None:
        pass

    launch()
    for workflow_id, attributes in (
        ("red-eu", {"team": "red", "regions": ["eu", "us"], "meta": {"v": 1, "w": 2}}),
        ("red-us", {"team": "red", "regions": ["us"]}),
        ("blue", {"team": "blue"}),
        ("none", None),
    ):
        with SetWorkflowID(workflow_id), SetWorkflowAttributes(attributes):
            work()

    def ids(**filters: Any) -> list[str]:
        return sorted(status.workflow_id for status in DBOS.list_workflows(**filters))

    assert ids(attributes={"team": "red"}) == ["red-eu", "red-us"]
    assert ids(attributes={"team": "red", "regions": ["eu"]}) == ["red-eu"]
    assert ids(attributes={"meta": {"v": 1}}) == ["red-eu"]
    assert ids(attributes={"team": "green"}) == []
    assert ids(attributes={}) == ["blue", "red-eu", "red-us"]
    assert ids(attributes={"team": "red"}, workflow_id_prefix="red-u") == ["red-us"]


def test_async_forms(launch: Launch) -> None:
    @DBOS.workflow()
    async def work() -> None:
        pass

    launch()

    async def scenario() -> None:
        with SetWorkflowID("async"), SetWorkflowAttributes({"a": 1}):
            await (await DBOS.start_workflow_async(work)).get_result()
        await DBOS.update_workflow_attributes_async("async", {"b": 2}, merge=True)
        found = await DBOS.list_workflows_async(attributes={"b": 2})
        assert [status.workflow_id for status in found] == ["async"]
        assert found[0].attributes == {"a": 1, "b": 2}

    asyncio.run(scenario())


def test_a_fork_keeps_the_attributes(launch: Launch) -> None:
    @DBOS.workflow()
    def work() -> str:
        return "done"

    launch()
    with SetWorkflowID("original"), SetWorkflowAttributes({"customer": "acme"}):
        work()
    forked = DBOS.fork_workflow("original", 1)
    assert forked.get_result() == "done"
    assert _attributes(forked.workflow_id) == {"customer": "acme"}


def test_the_policies_and_attributes_example_runs(dbos_system_database_url: str) -> None:
    """examples/policies_and_attributes.py, in its own process, on the test's backend."""
    example = Path(__file__).resolve().parents[3] / "examples" / "policies_and_attributes.py"
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
    out = run.stdout
    assert out.count("charging 500 cents for order-1") == 1
    assert "charging 999" not in out
    assert "again: charged order-1" in out
    assert "refused: order-1 is SUCCESS" in out
    assert "same refund: True" in out
    assert "refund: refunded order-1 (damaged)" in out
    attributes = "[('customer', 'acme'), ('refund', 'damaged'), ('region', 'eu')]"
    assert f"attributes: {attributes}" in out
    assert "acme orders refunded as damaged: ['order-1']" in out
