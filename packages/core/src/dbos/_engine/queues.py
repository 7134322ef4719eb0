"""The queues this process declared, and the enqueue options in effect: what the queue worker
reads. The public `Queue` and `SetEnqueueOptions` (in `dbos._queue`) write them."""

from __future__ import annotations

import threading
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from .._base.errors import DBOSConfigError
from ..storage._records import QueueSpec

DEFAULT_POLLING_INTERVAL_S = 1.0
#: The queue every launched process works on besides the app's own: forked workflows, and
#: workflows resumed from outside the app (`DBOSClient`, the `dbos` command), wait on it for
#: a process that has their code. Its tasks may have recorded steps, so they are replayed.
INTERNAL_QUEUE_NAME = "dbos.internal"


class DeclaredQueue(Protocol):
    """A queue as the worker sees it (the public `Queue` is one): its limits and how often to
    poll it."""

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> QueueSpec: ...

    @property
    def polling_interval_sec(self) -> float: ...


_queues_lock = threading.Lock()
_queues: dict[str, DeclaredQueue] = {}


def declare_queue(queue: DeclaredQueue) -> None:
    """Add `queue`; declaring one name again is fine only with the same limits."""
    with _queues_lock:
        existing = _queues.get(queue.name)
        if existing is not None and existing.spec != queue.spec:
            raise DBOSConfigError(
                f"queue {queue.name!r} is already declared with other settings "
                f"({existing.spec}); declare each queue once"
            )
        _queues[queue.name] = queue


def declared_queues() -> list[DeclaredQueue]:
    with _queues_lock:
        return list(_queues.values())


def find_declared_queue(name: str) -> DeclaredQueue | None:
    with _queues_lock:
        return _queues.get(name)


def clear_queues() -> None:
    with _queues_lock:
        _queues.clear()


@dataclass(frozen=True)
class EnqueueOptions:
    deduplication_id: str | None = None
    priority: int | None = None
    queue_partition_key: str | None = None
    delay_seconds: float | None = None
    app_version: str | None = None
    duplication_policy: str | None = None


#: Set by `SetEnqueueOptions` around an enqueue.
ENQUEUE_OPTIONS: ContextVar[EnqueueOptions | None] = ContextVar(
    "dbos_enqueue_options", default=None
)


def current_enqueue_options() -> EnqueueOptions:
    return ENQUEUE_OPTIONS.get() or EnqueueOptions()
