"""A storage wrapper that counts the calls made through it, for this repository's own tests of
how many storage calls a piece of work makes (private: not part of dbos_testing's API)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dbos import SystemStorage


class CountingStorage:
    """Passes every call through to the real storage and counts it."""

    def __init__(self, inner: SystemStorage) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attribute(*args, **kwargs)

        return counted


def count_engine_calls() -> CountingStorage:
    """Wrap the launched engine's storage in a counter: the engine's own calls and those of
    its recorded operations (its `Recorder`) go through it from now on."""
    from dbos import DBOS

    engine = DBOS._launched_engine()
    counter = CountingStorage(engine.storage)
    engine.storage = engine.recorder.storage = counter
    return counter
