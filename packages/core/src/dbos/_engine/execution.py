"""What the engine keeps about one execution in this process: the `ActiveWorkflow` that local
waiters share, where an enqueued workflow waits (`QueuePlacement`), what starting decided
(`Started`), and the event loop thread for async workflows started from sync code."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .outcome import Outcome
from .registry import WorkflowRegistration
from .slots import QueueSlot


class ActiveWorkflow:
    """A workflow executing (or about to) in this process.

    `run` is claimed exactly once: by the background worker it was submitted to, or by a
    thread that waits for the result before that worker got to it (which then runs it inline
    instead of blocking a pool thread on another).
    """

    def __init__(self, workflow_id: str) -> None:
        self.workflow_id = workflow_id
        self.future: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
        #: The queue slot this execution holds, if it is a queued task (see `slots`).
        self.slot: QueueSlot | None = None
        self._run: Callable[[], Outcome] | None = None
        self._lock = threading.Lock()

    def set_run(self, run: Callable[[], Outcome]) -> None:
        with self._lock:
            self._run = run

    def claim(self) -> Callable[[], Outcome] | None:
        with self._lock:
            run, self._run = self._run, None
            return run


@dataclass(frozen=True)
class QueuePlacement:
    """Where and how an enqueued workflow waits for a worker."""

    queue_name: str
    priority: int = 0
    deduplication_id: str | None = None
    delay_until_ms: int | None = None
    application_version: str | None = None
    partition_key: str | None = None
    #: What a refused duplicate does (`starting.DUPLICATION_POLICIES`); None: the default.
    duplication_policy: str | None = None


@dataclass(frozen=True)
class Started:
    """The result of starting a workflow: run it here (`fresh` or not), or wait for it."""

    workflow_id: str
    active: ActiveWorkflow | None
    registration: WorkflowRegistration
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    must_run: bool
    fresh: bool = True
    #: The queue slot of a claimed or recovered queued task, released if it does not run.
    slot: QueueSlot | None = None
    deadline_ms: int | None = None


class LoopThread:
    """An event loop in a daemon thread, for async workflows started from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="dbos-async-workflows", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
