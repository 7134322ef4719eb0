"""How `Facade` turns each generator procedure into a blocking method and a coroutine method
with the public name and signature (shared by the Facade and its mixins)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from .._engine.effects import Procedure, run_async, run_sync

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F")


def _public(procedure: Callable[..., Any], wrapper: Callable[..., Any], suffix: str) -> None:
    """Name `wrapper` for the public method it is (``_list_workflows`` makes ``list_workflows``
    and ``list_workflows_async``) and give it the procedure's signature with the result type it
    returns, so that `help()` and `inspect.signature` show what callers pass and get."""
    name = procedure.__name__.lstrip("_") + suffix
    wrapper.__name__ = name
    wrapper.__qualname__ = f"{procedure.__qualname__.rpartition('.')[0]}.{name}"
    signature = inspect.signature(procedure)
    returns = signature.return_annotation
    if isinstance(returns, str) and returns.startswith("Procedure[") and returns.endswith("]"):
        returns = returns[len("Procedure[") : -1]
    wrapper.__signature__ = signature.replace(return_annotation=returns)  # type: ignore[attr-defined]


def sync_form(
    procedure: Callable[Concatenate[F, P], Procedure[R]],
    *,
    waits: bool = False,
) -> Callable[Concatenate[F, P], R]:
    """The blocking method that runs `procedure` in the calling thread. One that `waits`
    (for another workflow's doing, not just a database call) first asks the side's
    `_facade_refuse_blocking`: `DBOS` refuses such a wait in a coroutine."""
    if not waits:

        @functools.wraps(procedure)
        def method(self: F, /, *args: P.args, **kwargs: P.kwargs) -> R:
            return run_sync(procedure(self, *args, **kwargs))

    else:
        name = procedure.__name__.lstrip("_")

        @functools.wraps(procedure)
        def method(self: F, /, *args: P.args, **kwargs: P.kwargs) -> R:
            self._facade_refuse_blocking(name)  # type: ignore[attr-defined]
            return run_sync(procedure(self, *args, **kwargs))

    _public(procedure, method, "")
    return method


def async_form(
    procedure: Callable[Concatenate[F, P], Procedure[R]],
) -> Callable[Concatenate[F, P], Coroutine[Any, Any, R]]:
    """The coroutine method that runs `procedure` without blocking the event loop."""

    @functools.wraps(procedure)
    async def method(self: F, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await run_async(procedure(self, *args, **kwargs))

    _public(procedure, method, "_async")
    return method


def discard(procedure: Procedure[Any]) -> Procedure[None]:
    yield from procedure
