"""Waiting for a workflow's outcome without holding a connection: shared by the backends.

A finish in this process wakes waiters at once through `FinishSignal`; a finish in another
process is seen by polling with a growing interval (backends with notifications call
`FinishSignal.notify` from their listener, which makes the poll a fallback only).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ._records import WorkflowRow

POLL_START_S = 0.005
POLL_MAX_S = 0.1


class FinishSignal:
    """A generation counter under a condition: bumped whenever some workflow finishes."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait_for_change(self, seen_generation: int, timeout_s: float) -> None:
        with self._condition:
            if self._generation == seen_generation:
                self._condition.wait(timeout_s)


def wait_until_terminal(
    read_row: Callable[[str], WorkflowRow | None],
    signal: FinishSignal,
    workflow_id: str,
    timeout_s: float | None,
    max_poll_s: float = POLL_MAX_S,
) -> WorkflowRow | None:
    """Poll `read_row` until the workflow is terminal (its row) or `timeout_s` passes (None)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    interval = POLL_START_S
    while True:
        generation = signal.generation
        row = read_row(workflow_id)
        if row is not None and row.is_terminal:
            return row
        wait = interval
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            wait = min(wait, remaining)
        signal.wait_for_change(generation, wait)
        interval = min(interval * 1.5, max_poll_s)
