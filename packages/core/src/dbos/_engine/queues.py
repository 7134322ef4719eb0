"""The queues this process declared, and the enqueue options in effect: what the queue worker
reads. The public `Queue` and `SetEnqueueOptions` (in `dbos._queue`) write them."""

from __future__ import annotations

import threading
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from .._base.errors import DBOSConfigError, DBOSException
from ..storage._queue_records import StoredQueue

DEFAULT_POLLING_INTERVAL_S = 1.0
#: The queue every launched process works on besides the app's own: forked workflows, and
#: workflows resumed from outside the app (`DBOSClient`, the `dbos` command), wait on it for
#: a process that has their code. Its tasks may have recorded steps, so they are replayed.
INTERNAL_QUEUE_NAME = "dbos.internal"


class DeclaredQueue(Protocol):
    """A queue declared in this process (the public `Queue` is one): the settings it declares,
    which launch stores."""

    @property
    def name(self) -> str: ...

    @property
    def declared(self) -> StoredQueue: ...


_queues_lock = threading.Lock()
_queues: dict[str, DeclaredQueue] = {}


def declared_settings(queue: StoredQueue) -> dict[str, object]:
    """A queue's settings under the names `Queue(...)` takes them by: a rate limit as
    ``limiter`` / ``partition_limiter`` (``{"limit": n, "period": seconds}``, or None)."""

    def limiter(limit: int | None, period: float | None) -> object:
        return None if limit is None else {"limit": limit, "period": period}

    return {
        "concurrency": queue.concurrency,
        "worker_concurrency": queue.worker_concurrency,
        "limiter": limiter(queue.rate_limit_max, queue.rate_limit_period_sec),
        "priority_enabled": queue.priority_enabled,
        "partition_queue": queue.partition_queue,
        "partition_concurrency": queue.partition_concurrency,
        "partition_worker_concurrency": queue.partition_worker_concurrency,
        "partition_limiter": limiter(
            queue.partition_rate_limit_max, queue.partition_rate_limit_period_sec
        ),
        "polling_interval_sec": queue.polling_interval_sec,
    }


def declare_queue(queue: DeclaredQueue) -> None:
    """Add `queue`; declaring one name again is fine only with the same limits.

    Raises:
        DBOSConfigError: the name is declared already with other settings; the message
            names each setting that differs, with the value of both declarations.
    """
    with _queues_lock:
        existing = _queues.get(queue.name)
        if existing is not None and existing.declared.settings() != queue.declared.settings():
            before = declared_settings(existing.declared)
            after = declared_settings(queue.declared)
            changed = [key for key in before if before[key] != after[key]]
            then = ", ".join(f"{key}={before[key]!r}" for key in changed)
            now = ", ".join(f"{key}={after[key]!r}" for key in changed)
            raise DBOSConfigError(
                f"queue {queue.name!r} is already declared with {then}; this declaration says "
                f"{now} (declare each queue once; to change its settings live, use its setters "
                "such as set_concurrency)"
            )
        _queues[queue.name] = queue


def declared_queues() -> list[DeclaredQueue]:
    with _queues_lock:
        return list(_queues.values())


def find_declared_queue(name: str) -> DeclaredQueue | None:
    with _queues_lock:
        return _queues.get(name)


def clear_queues() -> None:
    global _listening
    with _queues_lock:
        _queues.clear()
        _listening = None


#: The queues this process works on (`DBOS.listen_queues`); None: every stored queue.
_listening: frozenset[str] | None = None


def listen_to(names: frozenset[str] | None) -> None:
    """Set the queues this process works on (None: every stored queue)."""
    global _listening
    with _queues_lock:
        _listening = names


def listened_queues() -> frozenset[str] | None:
    with _queues_lock:
        return _listening


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


def check_partition_fit(
    name: str, partitioned: bool, partition_key: str | None, subject: str, remedy: str
) -> None:
    """Refuse a task (`subject`: "tasks", "a fork") without a partition key on partitioned
    queue `name`, or with one on a queue that is not partitioned; `remedy` says how to give
    the key.

    Raises:
        DBOSException: the key does not fit the queue.
    """
    if partitioned and partition_key is None:
        raise DBOSException(f"queue {name!r} is partitioned: {remedy}")
    if partition_key is not None and not partitioned:
        raise DBOSException(
            f"queue {name!r} was not declared with partition_queue=True, so {subject} on it "
            f"cannot have a partition key (got {partition_key!r})"
        )
