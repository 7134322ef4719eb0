"""Waiting `DBOS` calls refused in a coroutine (DBOS Transact 3.4 semantics: its
``check_async``, narrowed).

A call that waits, made in a coroutine, holds the event loop for as long as it waits: a
`DBOS.sleep` in an async workflow stalls every other task of the loop, and a wait
(`DBOS.get_event`, `DBOS.recv`, `DBOS.get_result`, `DBOS.wait_first`, `DBOS.read_stream`)
for something the same loop must run never sees it happen (it times out, or waits
forever). The `_async` form of each waits without blocking.

DBOS Transact 3.4 refuses every blocking call (listings, sends, management too) wherever an
event loop is running in the thread. Ours refuses only the waits, and only in an asyncio task:
a short database call does not hold a loop for long, and a thread whose loop runs without a
task at hand (Playwright's sync API, a callback the loop calls) is not async code.
`DBOSClient`'s calls are not checked, as in DBOS Transact.
"""

from __future__ import annotations

import asyncio


def refuse_on_running_loop(call: str) -> None:
    """Raise if this is a coroutine's code (an asyncio task is running in this thread).

    Args:
        call: The call's public name (``sleep``, ``get_event``...), for the message.

    Raises:
        RuntimeError: called in an asyncio task (DBOS Transact 3.4 raises `RuntimeError`
            too); the message names ``DBOS.<call>_async``.
    """
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop running in this thread
        return
    if task is None:
        return
    raise RuntimeError(
        f"DBOS.{call}() waits, and it was called in a coroutine, where it would hold the "
        f"event loop: use `await DBOS.{call}_async(...)` there instead"
    )
