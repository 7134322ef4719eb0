"""The calls `DBOS` shares with `DBOSClient` (`dbos.management.Facade`) reach `DBOS` through
its metaclass: they behave as the classmethods they replaced (on the class, on the instance
`DBOS(config=...)` returns, in `dir`), with `DBOS`'s own rules."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from dbos import DBOS, DBOSException, DBOSNotLaunchedError, SetWorkflowID
from dbos.management import Facade

Launch = Callable[..., None]
SHARED = [name for name in vars(Facade) if not name.startswith("_")]


def test_the_shared_calls_answer_on_the_class_the_instance_and_in_dir(launch: Launch) -> None:
    launch()
    instance = DBOS._instance
    assert instance is not None
    for name in SHARED:
        assert getattr(instance, name) == getattr(DBOS, name)
        assert name in dir(DBOS)
    with pytest.raises(AttributeError, match="no_such_call"):
        instance.no_such_call  # type: ignore[attr-defined]  # noqa: B018


def test_they_need_a_launched_dbos() -> None:
    DBOS.destroy()
    with pytest.raises(DBOSNotLaunchedError):
        DBOS.list_workflows()
    with pytest.raises(DBOSNotLaunchedError):
        asyncio.run(DBOS.get_workflow_status_async("w"))


def test_errors_name_dbos_as_the_caller(launch: Launch) -> None:
    launch()
    with pytest.raises(DBOSException, match=r"^DBOS\.get_event timeout_seconds"):
        DBOS.get_event("w", "k", timeout_seconds=-1)


def test_dbos_lists_from_async_code_too(launch: Launch) -> None:
    @DBOS.workflow()
    def noted(x: int) -> int:
        return x

    launch()
    with SetWorkflowID("noted-1"):
        noted(1)

    async def listed() -> tuple[list[str], list[str]]:
        workflows = await DBOS.list_workflows_async(name=noted.__qualname__)
        queued = await DBOS.list_queued_workflows_async()
        return [w.workflow_id for w in workflows], [w.workflow_id for w in queued]

    assert asyncio.run(listed()) == (["noted-1"], [])
