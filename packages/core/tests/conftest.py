from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest

from dbos import DBOS, DBOSConfig

Launch = Callable[..., None]


@pytest.fixture
def launch(dbos_system_database_url: str) -> Iterator[Launch]:
    """Launch (or relaunch, as after a restart) a DBOS instance on the test's database."""

    def _launch(**config: Any) -> None:
        DBOS.destroy()
        settings = {"name": "test-app", "system_database_url": dbos_system_database_url}
        DBOS(config=cast(DBOSConfig, {**settings, **config}))
        DBOS.launch()

    yield _launch
    DBOS.destroy()
