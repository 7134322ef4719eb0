"""Decorated functions keep their signatures for type checkers (checked by `nox -s typecheck`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # mypy checks as Python 3.10 (the lowest supported), whose `typing` has no assert_type;
    # a stand-in defined here would make every check pass, so mypy reads typing_extensions'.
    from typing_extensions import assert_type
else:  # at run time the checks are mypy's, not the test's

    def assert_type(value: Any, _: Any) -> Any:
        return value


from dbos import (
    DBOS,
    DBOSConfiguredInstance,
    StepReservation,
    StepStatus,
    WorkflowHandle,
    WorkflowHandleAsync,
)


@DBOS.step()
def typed_step(x: int, label: str = "") -> str:
    return f"{label}{x}"


@DBOS.workflow()
def typed_workflow(x: int) -> list[str]:
    return [typed_step(x, label="n")]


@DBOS.workflow()
async def typed_async_workflow(x: int) -> float:
    return x / 2


@DBOS.step(timeout_seconds=1.0, should_retry=lambda exc: True, retries_allowed=True)
async def typed_timed_step(x: int) -> bytes:
    return bytes(x)


def plain_function(x: int, label: str = "") -> tuple[int, str]:
    return x, label


async def plain_coroutine(x: int) -> set[int]:
    return {x}


def test_signatures_survive_decoration() -> None:
    # Only type checking matters here; nothing runs against a database.
    assert typed_workflow.__name__ == "typed_workflow"
    assert typed_step.__wrapped__.__name__ == "typed_step"  # type: ignore[attr-defined]


def _only_type_checked() -> None:  # never called: mypy checks the types below
    assert_type(typed_step(1), str)
    assert_type(typed_workflow(1), list[str])
    assert_type(DBOS.start_workflow(typed_workflow, 1), WorkflowHandle[list[str]])
    assert_type(DBOS.start_workflow(typed_async_workflow, 1), WorkflowHandle[float])

    async def uses_async() -> None:
        handle = await DBOS.start_workflow_async(typed_async_workflow, 1)
        assert_type(handle, WorkflowHandleAsync[float])
        assert_type(await typed_async_workflow(2), float)

    assert_type(DBOS.run_step(None, plain_function, 1, label="a"), tuple[int, str])
    assert_type(DBOS.run_step({"name": "c"}, plain_coroutine, 1), set[int])
    assert_type(DBOS.enqueue_workflow("q", typed_workflow, 1), WorkflowHandle[list[str]])
    assert_type(DBOS.enqueue_workflow("q", typed_async_workflow, 1), WorkflowHandle[float])
    assert_type(DBOS.step_status, StepStatus | None)
    reservation = DBOS.reserve_step()
    assert_type(reservation, StepReservation)
    assert_type(reservation.run(None, plain_function, 2), tuple[int, str])

    async def uses_async_steps() -> None:
        assert_type(await typed_timed_step(1), bytes)
        assert_type(await DBOS.run_step_async(None, plain_coroutine, 1), set[int])
        assert_type(await DBOS.run_step_async(None, plain_function, 1), tuple[int, str])
        assert_type(await reservation.run_async(None, plain_coroutine, 1), set[int])
        handle = await DBOS.enqueue_workflow_async("q", typed_async_workflow, 1)
        assert_type(handle, WorkflowHandleAsync[float])


@DBOS.dbos_class()
class TypedShop(DBOSConfiguredInstance):
    def __init__(self, region: str) -> None:
        super().__init__(region)

    @DBOS.workflow()
    def order(self, item: str, quantity: int = 1) -> dict[str, int]:
        return {item: quantity}

    @classmethod
    @DBOS.workflow()
    def catalog(cls, page: int) -> list[str]:
        return [str(page)]

    @staticmethod
    @DBOS.step()
    def price(item: str) -> float:
        return float(len(item))


def test_class_decoration_keeps_the_class() -> None:
    assert TypedShop.__name__ == "TypedShop"
    assert TypedShop.order.__name__ == "order"


def _methods_type_checked(shop: TypedShop) -> None:  # never called: mypy checks the types
    assert_type(shop.order("x", quantity=2), dict[str, int])
    assert_type(TypedShop.catalog(1), list[str])
    assert_type(TypedShop.price("x"), float)
    assert_type(DBOS.start_workflow(shop.order, "x"), WorkflowHandle[dict[str, int]])
    assert_type(DBOS.start_workflow(TypedShop.catalog, 2), WorkflowHandle[list[str]])


@DBOS.workflow()
@DBOS.required_roles(["admin"])
def typed_guarded(x: int, *, note: str = "") -> tuple[int, str]:
    return x, note


@DBOS.required_roles(["admin"])
@DBOS.workflow()
async def typed_guarded_async(x: int) -> bytes:
    return bytes(x)


@DBOS.required_roles(["admin"])
def typed_checked_plain(x: int) -> str:
    return str(x)


@DBOS.default_required_roles(["user"])
class TypedVault(DBOSConfiguredInstance):
    @DBOS.step()
    def peek(self, slot: int) -> bool:
        return slot > 0


def test_roles_decoration_keeps_names() -> None:
    assert typed_guarded.__name__ == "typed_guarded"
    assert typed_checked_plain.__name__ == "typed_checked_plain"
    assert TypedVault.__name__ == "TypedVault"


async def _roles_type_checked(vault: TypedVault) -> None:  # never called: mypy checks the types
    assert_type(typed_guarded(1, note="n"), tuple[int, str])
    assert_type(await typed_guarded_async(1), bytes)
    assert_type(typed_checked_plain(2), str)
    assert_type(vault.peek(3), bool)
    assert_type(DBOS.authenticated_user, str | None)
    assert_type(DBOS.authenticated_roles, list[str] | None)
    assert_type(DBOS.assumed_role, str | None)
