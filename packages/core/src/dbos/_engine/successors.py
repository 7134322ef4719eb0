"""Successors on the pool thread: a queued task claimed by a finishing task of its queue runs
next on the thread that finishes, instead of waiting for another pool thread."""

from __future__ import annotations

import logging
import threading

from .execution import ActiveWorkflow

logger = logging.getLogger("dbos")

#: Per pool thread: successors claimed by the workflow it runs, to run next on this thread.
_pool_thread = threading.local()


def successors_here() -> list[ActiveWorkflow] | None:
    """The successors list of the pool thread running this code, or None off the pool."""
    next_up: list[ActiveWorkflow] | None = getattr(_pool_thread, "next_up", None)
    return next_up


def run_claimed(active: ActiveWorkflow) -> None:
    """Run `active` on this pool thread, then each successor it claimed, in order."""
    next_up: list[ActiveWorkflow] = []
    _pool_thread.next_up = next_up
    try:
        current: ActiveWorkflow | None = active
        while current is not None:
            run = current.claim()  # None if a waiter took it over meanwhile
            if run is not None:
                try:
                    run()
                except BaseException as exc:
                    logger.debug(
                        "workflow %s stopped without an outcome: %r", current.workflow_id, exc
                    )
            current = next_up.pop(0) if next_up else None
    finally:
        _pool_thread.next_up = None
