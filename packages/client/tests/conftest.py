from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest

from dbos import DBOS, DBOSConfig

Launch = Callable[..., None]


@pytest.fixture
def launch(dbos_system_database_url: str) -> Iterator[Launch]:
    """Launch (or relaunch) the app's DBOS instance on the test's database."""

    def _launch(**config: Any) -> None:
        DBOS.destroy()
        settings = {"name": "client-test-app", "system_database_url": dbos_system_database_url}
        DBOS(config=cast(DBOSConfig, {**settings, **config}))
        DBOS.launch()

    yield _launch
    DBOS.destroy()


SetCreatedAt = Callable[[str, int], None]


@pytest.fixture
def set_created_at(dbos_system_database_url: str) -> SetCreatedAt:
    """Backdate a workflow (test setup the API has no call for)."""

    def _set(workflow_id: str, created_at_ms: int) -> None:
        run_sql(
            dbos_system_database_url,
            "UPDATE dbos.workflow_status SET created_at = %s WHERE workflow_id = %s",
            (created_at_ms, workflow_id),
        )

    return _set


def run_sql(url: str, statement: str, params: tuple[object, ...]) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.execute(statement.replace("%s", "?").replace("dbos.", ""), params)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement, params)
