"""`DBOS.asyncio_wait` (DBOS Transact 3.4): `asyncio.wait` whose outcome a workflow records.
`wait_first` is `Facade`'s (`management/_facade.py`), shared with `DBOSClient`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from ._engine.wait_first import durable_asyncio_wait


class WaitingAPI:
    """Waiting on several awaitables inside a workflow, deterministically."""

    @classmethod
    async def asyncio_wait(
        cls,
        fs: list[Awaitable[Any]],
        *,
        timeout: float | None = None,
        return_when: str = asyncio.ALL_COMPLETED,
    ) -> tuple[set[asyncio.Task[Any]], set[asyncio.Task[Any]]]:
        """Durable `asyncio.wait` (DBOS semantics): wrap each of `fs` in a task, wait as
        `asyncio.wait(timeout=..., return_when=...)` does, and return ``(done, pending)``.

        In a workflow body, which positions of `fs` were done is recorded as an operation
        (``DBOS.asyncio_wait``), so a recovered workflow gets the same split (it waits for the
        recorded-done ones, whose own recorded steps replay at once); pass the awaitables in
        the same order on every execution. Outside a workflow it is `asyncio.wait`.

        Raises:
            ValueError: as `asyncio.wait` does (an empty `fs`, an unknown `return_when`).
            DBOSWorkflowCancelledError: the workflow was cancelled before the wait began.
        """
        if not fs:
            raise ValueError("asyncio_wait needs at least one awaitable")
        if return_when not in (
            asyncio.ALL_COMPLETED,
            asyncio.FIRST_COMPLETED,
            asyncio.FIRST_EXCEPTION,
        ):
            raise ValueError(f"asyncio_wait: invalid return_when {return_when!r}")
        done, pending = await durable_asyncio_wait(fs, timeout, return_when)
        return done, pending  # type: ignore[return-value]  # ensure_future made Tasks
