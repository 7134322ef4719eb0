from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from dbos._engine.effects import Blocking, CallBody, Procedure, Sleep, run_async, run_sync


def _procedure(log: list[str]) -> Procedure[int]:
    thread = yield Blocking(threading.get_ident)
    log.append("blocking" if thread else "")
    value: int = yield CallBody(lambda a, b: a + b, (2,), {"b": 3})
    yield Sleep(0)
    try:
        yield CallBody(_fail, (), {})
    except ValueError as exc:
        log.append(f"caught {exc}")
    return value * 10


def _fail() -> None:
    raise ValueError("boom")


async def _async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


def test_sync_and_async_drivers_run_the_same_procedure() -> None:
    sync_log: list[str] = []
    async_log: list[str] = []
    assert run_sync(_procedure(sync_log)) == 50
    assert asyncio.run(run_async(_procedure(async_log))) == 50
    assert sync_log == async_log == ["blocking", "caught boom"]


def test_async_driver_awaits_coroutine_bodies() -> None:
    def procedure() -> Procedure[Any]:
        return (yield CallBody(_async_add, (1, 2), {}))

    assert asyncio.run(run_async(procedure())) == 3


def test_uncaught_errors_propagate() -> None:
    def procedure() -> Procedure[None]:
        yield CallBody(_fail, (), {})

    with pytest.raises(ValueError, match="boom"):
        run_sync(procedure())
