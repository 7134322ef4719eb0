"""Blocking `DBOS` calls refused on a running event loop (DBOS Transact 3.4 semantics: its
``check_async``).

A blocking call made in a coroutine holds the event loop until it returns: a `DBOS.sleep`
in an async workflow stalls every other task of the loop, and a wait (`DBOS.get_event`,
`DBOS.recv`, `DBOS.get_result`) for something the same loop must run never sees it happen
(it times out, or waits forever). The `_async` form of each call waits without blocking.
`DBOSClient`'s calls are not checked, as in DBOS Transact.
"""

from __future__ import annotations

import asyncio


def refuse_on_running_loop(call: str) -> None:
    """Raise if this thread's event loop is running.

    Args:
        call: The call's public name (``sleep``, ``list_workflows``...), for the message.

    Raises:
        RuntimeError: an event loop is running in this thread (DBOS Transact 3.4 raises
            `RuntimeError` too); the message names ``DBOS.<call>_async``.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"DBOS.{call}() blocks, and it was called while an event loop is running in this "
        f"thread (async code): use `await DBOS.{call}_async(...)` there instead"
    )
