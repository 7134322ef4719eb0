"""What the admin server and the metrics read of the engine's health: whether each background
service's thread runs, how long ago the lease was renewed, whether a fatal error stopped the
services."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Engine


def _alive(thread: threading.Thread | None) -> bool:
    return thread is not None and thread.is_alive()


def background_alive(engine: Engine) -> dict[str, bool]:
    """Whether each background service's thread is running: ``heartbeat`` (the lease and
    takeovers), ``queue_worker``, and ``scheduler`` when there are scheduled workflows (it
    runs only then)."""
    services = {
        "heartbeat": _alive(engine.liveness._thread),
        "queue_worker": _alive(engine.queue_worker._thread),
    }
    if engine.scheduler._thread is not None:
        services["scheduler"] = _alive(engine.scheduler._thread)
    return services


def lease_age_s(engine: Engine) -> float | None:
    """Seconds since this process last renewed its lease, or None if it never did (a launch
    for management only)."""
    renewed = engine.liveness.last_renewed_s
    return None if renewed is None else time.monotonic() - renewed


def lease_s(engine: Engine) -> float:
    """The lease's length in seconds: a renewal older than this means the heartbeat stalled."""
    return engine.liveness._lease.duration_ms / 1000


def background_failed(engine: Engine) -> bool:
    """Whether a fatal error stopped the background services (`Engine.background_failed`)."""
    return engine._background_failed
