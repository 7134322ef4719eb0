"""`DBOS` and `DBOSClient` share their management and messaging calls through one definition,
`dbos.management.Facade`: neither side may grow its own copy again, and type checkers see the
real signatures on both (`_only_type_checked`, checked by `nox -s typecheck`)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Generator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    # typing_extensions, not typing: mypy checks as Python 3.10 (pyproject), whose typing has
    # no assert_type, and a stand-in defined for it would make every check pass.
    from typing_extensions import assert_type


from dbos import DBOS, Queue, VersionInfo, WorkflowHandle, WorkflowHandleAsync, WorkflowStatus
from dbos.management import Facade, QueueSettings, StepInfo, StrandedCount, WorkflowSchedule
from dbos_client import DBOSClient

# The Facade's own public calls and its mixins' (everything in its MRO but `object`).
SHARED = sorted(
    {name for klass in Facade.__mro__[:-1] for name in vars(klass) if not name.startswith("_")}
)
#: Calls on both sides that are not `Facade`'s, and why: fork's signatures differ (the client
#: takes `application_version` positionally and a `forked_workflow_id`); destroy is each
#: side's own lifecycle; register_queue declares a queue in a `DBOS` process (stored at launch,
#: by default only from the latest application version) but stores it at once from a client
#: (DBOS Transact 3.4's default there: always overwrite); creating and applying schedules take
#: workflow functions in the app and workflow names in a client (DBOS Transact 3.4's two
#: signatures).
OWN_ON_BOTH_SIDES = [
    "apply_schedules",
    "apply_schedules_async",
    "create_schedule",
    "create_schedule_async",
    "destroy",
    "fork_workflow",
    "fork_workflow_async",
    "register_queue",
    "register_queue_async",
]


def _public_names(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_the_facade_holds_every_mirrored_call() -> None:
    assert len(SHARED) == 72
    both = _public_names(DBOS) & _public_names(DBOSClient)
    assert sorted(both - set(SHARED)) == OWN_ON_BOTH_SIDES


@pytest.mark.parametrize("name", SHARED)
def test_both_sides_run_the_one_definition(name: str) -> None:
    home = next(klass for klass in Facade.__mro__ if name in vars(klass))
    definition = vars(home)[name]
    assert getattr(DBOSClient, name) is definition
    assert getattr(DBOS, name).__func__ is definition  # bound to the class, as a classmethod
    # No class on either side defines (and so shadows) it again.
    for cls in (*DBOS.__mro__, *DBOSClient.__mro__):
        assert cls is home or name not in vars(cls), f"{cls.__qualname__} redefines {name}"


@pytest.mark.parametrize("name", SHARED)
def test_help_shows_the_real_parameters_and_result(name: str) -> None:
    method = getattr(DBOS, name)
    assert method.__name__ == name
    assert method.__doc__
    parameters = inspect.signature(method).parameters
    assert "self" not in parameters and "cls" not in parameters
    assert "Procedure" not in str(inspect.signature(method).return_annotation)
    assert inspect.iscoroutinefunction(method) == (
        name.endswith("_async") and name != "read_stream_async"
    )


@pytest.mark.parametrize("name", [name for name in OWN_ON_BOTH_SIDES if name.endswith("_async")])
def test_each_async_form_of_a_client_call_shows_its_parameters(name: str) -> None:
    # `help(client.create_schedule_async)` lists the keywords, not `**kwargs`.
    sync = inspect.signature(getattr(DBOSClient, name.removesuffix("_async"))).parameters
    assert inspect.signature(getattr(DBOSClient, name)).parameters == sync


def test_list_workflows_shows_its_filters() -> None:
    filters = list(inspect.signature(DBOS.list_workflows_async).parameters)
    assert filters[:3] == ["workflow_ids", "status", "start_time"]
    assert filters[-12:] == [
        "sort_desc",
        "load_input",
        "load_output",
        "stranded",
        "attributes",
        "dequeued_after",
        "dequeued_before",
        "was_forked_from",
        "application_name",
        "queues_only",
        "shard_key",
        "parent_shard_key",
    ]


# Never called, as `_only_type_checked`: attributes (DBOS Transact 3.4's).
def _attributes_only_type_checked(side: type[DBOS] | DBOSClient) -> None:
    assert_type(side.update_workflow_attributes("w", {"a": [1]}, merge=True), None)
    assert_type(side.list_workflows(attributes={"a": 1}), list[WorkflowStatus])


# Never called, as `_only_type_checked`: the calls for stranded work (ours).
def _stranded_only_type_checked(side: type[DBOS] | DBOSClient) -> None:
    assert_type(side.list_workflows(stranded=True, app_version="v1"), list[WorkflowStatus])
    assert_type(side.count_stranded_workflows(), list[StrandedCount])
    assert_type(side.move_workflows_to_version(["w"], "v2"), list[str])


# Never called, as `_only_type_checked`: stored queues. `DBOS`'s are `Queue`s, which enqueue
# (DBOS Transact 3.4's `DBOS.retrieve_queue(name).enqueue(...)`); a client's are settings.
async def _queues_only_type_checked(client: DBOSClient) -> None:
    assert_type(DBOS.retrieve_queue("q"), Queue | None)
    assert_type(await DBOS.retrieve_queue_async("q"), Queue | None)
    assert_type(DBOS.list_queues(application_name="app"), list[Queue])
    assert_type(await DBOS.list_queues_async(), list[Queue])
    assert_type(client.retrieve_queue("q"), QueueSettings | None)
    assert_type(client.list_queues(application_name=["a", "b"]), list[QueueSettings])


# Never called, as `_only_type_checked`: stored schedules (DBOS Transact 3.4's).
def _schedules_only_type_checked(side: type[DBOS] | DBOSClient) -> None:
    since = datetime(2026, 1, 1)
    assert_type(side.list_schedules(status="ACTIVE"), list[WorkflowSchedule])
    assert_type(side.get_schedule("s"), WorkflowSchedule | None)
    assert_type(side.pause_schedule("s"), None)
    assert_type(side.backfill_schedule("s", since, since), list[WorkflowHandle[None]])
    assert_type(side.trigger_schedule("s"), WorkflowHandle[None])


# Never called: mypy checks the types. On a union, mypy checks each side's own attribute.
def _only_type_checked(side: type[DBOS] | DBOSClient) -> None:
    since = datetime(2026, 1, 1)
    assert_type(side.retrieve_workflow("w", existing_workflow=False), WorkflowHandle[Any])
    assert_type(side.get_workflow_status("w"), WorkflowStatus | None)
    listed = side.list_workflows(
        workflow_ids=["w"],
        status=["SUCCESS"],
        start_time=since,
        end_time="2026-02-01",
        name="n",
        app_version="v",
        executor_id="e",
        queue_name="q",
        workflow_id_prefix="w",
        limit=1,
        offset=0,
        sort_desc=True,
        load_input=False,
        load_output=False,
    )
    assert_type(listed, list[WorkflowStatus])
    queued = side.list_queued_workflows(
        queue_name="q",
        status="ENQUEUED",
        name="n",
        start_time=since,
        end_time=since,
        limit=1,
        offset=0,
        sort_desc=True,
        load_input=False,
    )
    assert_type(queued, list[WorkflowStatus])
    assert_type(side.list_workflow_steps(listed[0]), list[StepInfo])
    assert_type(side.cancel_workflow("w"), None)
    assert_type(side.cancel_workflows(["w"]), None)
    assert_type(side.resume_workflow("w"), WorkflowHandle[Any])
    assert_type(side.resume_workflows(["w"]), list[WorkflowHandle[Any]])
    assert_type(side.delete_workflow("w", delete_children=True), None)
    assert_type(side.delete_workflows(["w"], delete_children=True), None)
    assert_type(side.garbage_collect(since), int)
    assert_type(side.send("w", {"any": "value"}, topic="t"), None)
    assert_type(side.get_event("w", "k", timeout_seconds=1.5), Any)
    assert_type(side.read_stream("w", "k"), Generator[Any, None, None])
    assert_type(side.list_application_versions(), list[VersionInfo])
    assert_type(side.get_latest_application_version(), VersionInfo)
    assert_type(side.set_latest_application_version("v2"), None)
    # Unused ignores are errors under --strict: these prove mypy sees the parameters.
    side.list_workflows(no_such_filter=1)  # type: ignore[call-arg]
    side.list_workflows(limit="10")  # type: ignore[arg-type]
    side.cancel_workflow(["w"])  # type: ignore[arg-type]

    async def uses_async() -> None:
        handle = await side.retrieve_workflow_async("w")
        assert_type(handle, WorkflowHandleAsync[Any])
        assert_type(await side.get_workflow_status_async("w"), WorkflowStatus | None)
        listed = await side.list_workflows_async(status="ERROR", sort_desc=True, limit=5)
        assert_type(listed, list[WorkflowStatus])
        queued = await side.list_queued_workflows_async(queue_name="q", load_input=False)
        assert_type(queued, list[WorkflowStatus])
        assert_type(await side.list_workflow_steps_async("w"), list[StepInfo])
        assert_type(await side.list_application_versions_async(), list[VersionInfo])
        assert_type(await side.get_latest_application_version_async(), VersionInfo)
        await side.set_latest_application_version_async("v2")
        assert_type(await side.count_stranded_workflows_async(), list[StrandedCount])
        assert_type(await side.move_workflows_to_version_async(["w"], "v2"), list[str])
        await side.cancel_workflow_async("w")
        await side.cancel_workflows_async(["w"])
        assert_type(await side.resume_workflow_async("w"), WorkflowHandleAsync[Any])
        resumed = await side.resume_workflows_async(["w"])
        assert_type(resumed, list[WorkflowHandleAsync[Any]])
        await side.delete_workflow_async("w", delete_children=True)
        await side.delete_workflows_async(["w"])
        assert_type(await side.garbage_collect_async("2026-01-01"), int)
        await side.send_async("w", 1, topic=None)
        assert_type(await side.get_event_async("w", "k", 0), Any)
        assert_type(side.read_stream_async("w", "k"), AsyncGenerator[Any, None])
        await side.list_workflows_async(no_such_filter=1)  # type: ignore[call-arg]
