"""What the engine's background services (the queue worker, the scheduler) get from it: a
narrow port, not the engine itself, so each service's dependencies are its constructor's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..storage._protocol import SystemStorage


@dataclass(frozen=True)
class BackgroundPort:
    """The storage and identity a background service works with, and how it reports errors.

    `failed(service, error)` says whether `error` is fatal (then every background service
    stops, and the calling one must end its loop); other errors are the service's to report
    and retry."""

    storage: SystemStorage
    executor_id: str
    application_version: str
    failed: Callable[[str, BaseException], bool]
