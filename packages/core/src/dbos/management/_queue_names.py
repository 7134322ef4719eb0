"""Whether a queue named for work to wait on is declared anywhere: in this process, or by
any process (declared queues are stored at launch), or DBOS's internal queue. Work enqueued
on a queue no process declares waits until one does; `DBOS.create_schedule` refuses such a
queue (DBOS Transact 3.4), the other calls that name one warn (ours)."""

from __future__ import annotations

import logging

from .._base.errors import DBOSException
from .._engine.effects import Blocking, Procedure
from .._engine.queues import INTERNAL_QUEUE_NAME, find_declared_queue
from ..storage._protocol import SystemStorage
from ..storage._queue_records import StoredQueue

logger = logging.getLogger("dbos")


def queue_declared(storage: SystemStorage, name: str) -> Procedure[bool]:
    """True if queue `name` is DBOS's internal queue, declared in this process or stored."""
    if name == INTERNAL_QUEUE_NAME or find_declared_queue(name) is not None:
        return True
    stored: StoredQueue | None = yield Blocking(storage.get_queue, (name,))
    return stored is not None


def queue_settings(storage: SystemStorage, name: str) -> Procedure[StoredQueue | None]:
    """The settings queue `name` is declared with: this process's declaration, else the
    stored one (one read), else None (no process declares it)."""
    declared = find_declared_queue(name)
    if declared is not None:
        return declared.declared
    stored: StoredQueue | None = yield Blocking(storage.get_queue, (name,))
    return stored


def require_declared_queue(storage: SystemStorage, name: str, where: str) -> Procedure[None]:
    """Raise `DBOSException` (prefixed with `where`) unless queue `name` is declared."""
    if not (yield from queue_declared(storage, name)):
        raise DBOSException(
            f"{where}queue {name!r} is not declared: declare it (Queue(...) or "
            "DBOS.register_queue) before using it in a schedule"
        )


def warn_if_undeclared_queue(
    storage: SystemStorage, name: str, context: str, waiter: str
) -> Procedure[None]:
    """Log a WARNING if queue `name` is not declared: "`context`: queue ... is not declared
    ...; `waiter` waits until a process declares it"."""
    if not (yield from queue_declared(storage, name)):
        log_undeclared_queue(name, context, waiter)


def log_undeclared_queue(name: str, context: str, waiter: str) -> None:
    """The WARNING of `warn_if_undeclared_queue`, for a caller that has looked already."""
    logger.warning(
        "%s: queue %r is not declared by any process (no stored queue has that name); "
        "%s waits until a process declares it",
        context,
        name,
        waiter,
    )
