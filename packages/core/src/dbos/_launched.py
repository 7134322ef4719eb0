"""The engine of the launched `DBOS` instance, for the public modules that act on it (`DBOS`,
`Queue`) without importing one another."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._base.errors import DBOSNotLaunchedError

if TYPE_CHECKING:
    from ._engine.engine import Engine

_engine: Engine | None = None


def set_launched_engine(engine: Engine | None) -> None:
    global _engine
    _engine = engine


def launched_engine() -> Engine:
    """The launched engine. Raises `DBOSNotLaunchedError` before `DBOS.launch()` and after
    `DBOS.destroy()`."""
    engine = _engine
    if engine is None:
        raise DBOSNotLaunchedError(
            "DBOS is not launched: call DBOS(config={...}) and DBOS.launch() first"
        )
    return engine


def engine_if_launched() -> Engine | None:
    """The launched engine, or None before `DBOS.launch()` and after `DBOS.destroy()`."""
    return _engine
