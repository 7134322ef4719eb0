"""The workflow-attributes conformance suite: storing attributes with a new workflow,
replacing and merging them, the containment filter of `list_workflows` (with the meaning of
Postgres's ``jsonb @>`` on every backend), the deduplication-ID filter, and forks keeping
attributes; tested through the `SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.attributes import *  # noqa: F403
"""

from __future__ import annotations

import json
import threading
from typing import Any

from dbos import SystemStorage
from dbos.storage import ForkRequest, WorkflowQuery, WorkflowStatusString, json_contains

from .storage import new_workflow

__all__ = [
    "test_attributes_are_stored_with_a_new_workflow",
    "test_update_replaces_clears_and_merges_attributes",
    "test_concurrent_merges_of_different_keys_all_land",
    "test_update_of_a_missing_workflow_reports_it",
    "test_the_containment_filter_means_what_jsonb_contains_means",
    "test_the_containment_filter_combines_with_other_filters_and_limits",
    "test_the_deduplication_id_filter_finds_the_holder",
    "test_fork_keeps_the_attributes",
]


def _attributes(storage: SystemStorage, workflow_id: str) -> Any:
    row = storage.get_workflow(workflow_id)
    assert row is not None
    return None if row.attributes is None else json.loads(row.attributes)


def test_attributes_are_stored_with_a_new_workflow(dbos_storage: SystemStorage) -> None:
    attributes = {"customer": "acme", "n": 3, "tags": ["a", "b"], "nested": {"x": None}}
    init = dbos_storage.create_workflow(new_workflow("a", attributes=json.dumps(attributes)))
    assert init.created and init.row.attributes is not None
    assert json.loads(init.row.attributes) == attributes
    assert _attributes(dbos_storage, "a") == attributes
    dbos_storage.create_workflow(new_workflow("none"))
    assert _attributes(dbos_storage, "none") is None
    (listed,) = dbos_storage.list_workflows(WorkflowQuery(workflow_ids=("a",)))
    assert listed.attributes is not None and json.loads(listed.attributes) == attributes


def test_update_replaces_clears_and_merges_attributes(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("a", attributes='{"keep": 1, "over": 2}'))
    assert dbos_storage.update_workflow_attributes("a", '{"over": {"deep": 3}}', True, 5_000)
    assert _attributes(dbos_storage, "a") == {"keep": 1, "over": {"deep": 3}}
    row = dbos_storage.get_workflow("a")
    assert row is not None and row.updated_at_ms == 5_000
    # A merge overwrites a nested object whole (top-level keys only), and stores null.
    merge = '{"over": {"other": 4}, "z": null}'
    assert dbos_storage.update_workflow_attributes("a", merge, True, 6)
    assert _attributes(dbos_storage, "a") == {"keep": 1, "over": {"other": 4}, "z": None}
    assert dbos_storage.update_workflow_attributes("a", '{"only": true}', False, 7)
    assert _attributes(dbos_storage, "a") == {"only": True}
    assert dbos_storage.update_workflow_attributes("a", None, False, 8)
    assert _attributes(dbos_storage, "a") is None
    # Merging into nothing starts from an empty object.
    assert dbos_storage.update_workflow_attributes("a", '{"k": "v"}', True, 9)
    assert _attributes(dbos_storage, "a") == {"k": "v"}


def test_concurrent_merges_of_different_keys_all_land(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("a", attributes="{}"))
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def merge(index: int) -> None:
        start.wait()
        try:
            for round_ in range(5):
                text = json.dumps({f"k{index}-{round_}": index})
                dbos_storage.update_workflow_attributes("a", text, True, 1)
        except BaseException as exc:  # reported below, with the test's assertion
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _attributes(dbos_storage, "a") == {
        f"k{index}-{round_}": index for index in range(6) for round_ in range(5)
    }


def test_update_of_a_missing_workflow_reports_it(dbos_storage: SystemStorage) -> None:
    assert not dbos_storage.update_workflow_attributes("missing", '{"a": 1}', False, 1)
    assert not dbos_storage.update_workflow_attributes("missing", '{"a": 1}', True, 1)
    assert dbos_storage.get_workflow("missing") is None


#: (stored attributes, filter, matches): what Postgres's jsonb @> answers for each.
_CONTAINMENT = [
    ({"a": 1, "b": "x"}, {"a": 1}, True),
    ({"a": 1, "b": "x"}, {"a": 1, "b": "x"}, True),
    ({"a": 1}, {"a": 1, "b": "x"}, False),
    ({"a": 1}, {"a": 2}, False),
    ({"a": 1}, {"a": 1.0}, True),
    ({"a": 1}, {"a": "1"}, False),
    ({"a": True}, {"a": 1}, False),
    ({"a": None}, {"a": None}, True),
    ({"a": None}, {"b": None}, False),
    ({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}, True),
    ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, False),
    ({"a": ["x", "y", "z"]}, {"a": ["z", "x"]}, True),
    ({"a": ["x"]}, {"a": ["x", "w"]}, False),
    ({"a": ["x"]}, {"a": "x"}, False),
    ({"a": [["x"], "y"]}, {"a": [["x"]]}, True),
    ({"a": [{"k": 1, "j": 2}]}, {"a": [{"k": 1}]}, True),
    ({"a": 1}, {}, True),
    (None, {}, False),
    (None, {"a": 1}, False),
]


def test_the_containment_filter_means_what_jsonb_contains_means(
    dbos_storage: SystemStorage,
) -> None:
    for index, (stored, wanted, expected) in enumerate(_CONTAINMENT):
        # The pure decision backends without jsonb use agrees with the table too.
        assert (stored is not None and json_contains(stored, wanted)) is expected, (stored, wanted)
        workflow_id = f"wf-{index}"
        text = None if stored is None else json.dumps(stored)
        dbos_storage.create_workflow(new_workflow(workflow_id, attributes=text))
        found = dbos_storage.list_workflows(
            WorkflowQuery(workflow_ids=(workflow_id,), attributes_contain=json.dumps(wanted))
        )
        assert [row.workflow_id for row in found] == ([workflow_id] if expected else []), (
            stored,
            wanted,
        )


def test_the_containment_filter_combines_with_other_filters_and_limits(
    dbos_storage: SystemStorage,
) -> None:
    for index in range(6):
        attributes = {"team": "red" if index % 2 else "blue", "i": index}
        dbos_storage.create_workflow(
            new_workflow(
                f"wf-{index}",
                attributes=json.dumps(attributes),
                created_at_ms=1_000 + index,
                name="other" if index == 5 else "module.workflow",
            )
        )
    red = WorkflowQuery(attributes_contain='{"team": "red"}')
    assert [row.workflow_id for row in dbos_storage.list_workflows(red)] == [
        "wf-1",
        "wf-3",
        "wf-5",
    ]
    named = WorkflowQuery(attributes_contain='{"team": "red"}', name="module.workflow", limit=1)
    assert [row.workflow_id for row in dbos_storage.list_workflows(named)] == ["wf-1"]
    assert dbos_storage.list_workflows(WorkflowQuery(attributes_contain='{"team": "green"}')) == []


def test_the_deduplication_id_filter_finds_the_holder(dbos_storage: SystemStorage) -> None:
    enqueued = WorkflowStatusString.ENQUEUED.value
    for workflow_id, queue in (("a", "q1"), ("b", "q2")):
        dbos_storage.create_workflow(
            new_workflow(
                workflow_id,
                queue_name=queue,
                status=enqueued,
                executor_id=None,
                deduplication_id="same",
            )
        )
    found = dbos_storage.list_workflows(WorkflowQuery(queue_name="q2", deduplication_id="same"))
    assert [row.workflow_id for row in found] == ["b"]
    assert dbos_storage.list_workflows(WorkflowQuery(deduplication_id="other")) == []


def test_fork_keeps_the_attributes(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("a", attributes='{"customer": "acme"}'))
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
    assert forked.attributes is not None and json.loads(forked.attributes) == {"customer": "acme"}
    assert _attributes(dbos_storage, "a-fork") == {"customer": "acme"}
