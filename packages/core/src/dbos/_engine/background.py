"""What the engine's background services (the queue worker, the scheduler, liveness) get from
it: a narrow port, not the engine itself, so each service's dependencies are its constructor's."""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..storage._protocol import SystemStorage


class VersionStanding:
    """Whether this process runs the latest application version, as liveness last read it
    (True until then, and when no version is registered). The queue worker claims tasks
    enqueued without a version only while it does, as DBOS Transact's workers do."""

    def __init__(self) -> None:
        self.is_latest = True


@dataclass(frozen=True)
class BackgroundPort:
    """The storage and identity a background service works with, and how it reports errors.

    `instance_id` is this launch's process instance (see `liveness`), which owns the workflows
    the services claim. `failed(service, error)` says whether `error` is fatal (then every
    background service stops, and the calling one must end its loop); other errors are the
    service's to report and retry. `standing` is shared: liveness writes it, the queue worker
    reads it."""

    storage: SystemStorage
    executor_id: str
    application_version: str
    instance_id: str
    failed: Callable[[str, BaseException], bool]
    standing: VersionStanding = field(default_factory=VersionStanding)


class _Stoppable(Protocol):
    def stop_background(self) -> None: ...

    def release_at_exit(self) -> None: ...


def stop_at_exit(owner: _Stoppable) -> None:
    """Stop `owner`'s (the engine's) background services when the interpreter exits without
    `DBOS.destroy()`, before the thread pools refuse new work.

    `atexit` runs too late (after the pools have shut down, when a queue worker claiming a
    task could no longer start it: the task would stay claimed, and the worker thread would
    die with a traceback). `threading`'s exit hooks run first, in reverse order of
    registration, so ours, registered after `concurrent.futures`', runs before the pools
    stop: workflows already running finish, nothing new is claimed.

    Then, at `atexit` (once the pools' threads have ended), `owner` releases its lease, as
    `DBOS.destroy()` does: whatever the exit leaves PENDING (an async body cut short) is
    taken over by a live process at once, not when the lease would have expired.
    """
    reference = weakref.ref(owner)

    def stop() -> None:
        current = reference()
        if current is not None:
            current.stop_background()

    def release() -> None:
        current = reference()
        if current is not None:
            current.release_at_exit()

    atexit.register(release)
    register = getattr(threading, "_register_atexit", None)
    if register is None:  # not CPython 3.9+: dispatch still hands back what it cannot run
        return
    with contextlib.suppress(RuntimeError):  # the interpreter is already shutting down
        register(stop)
