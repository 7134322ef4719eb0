from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
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


@pytest.fixture
def app_database_url(
    dbos_backend: str, dbos_system_database_url: str, tmp_path: Path
) -> Iterator[str]:
    """An application database for datasource tests, of the kind the system database is: a
    SQLite file, or a fresh database on the test Postgres server (dropped afterwards)."""
    if dbos_backend != "postgres":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    import psycopg
    from psycopg import sql

    from dbos_testing.postgres import drop_database, unique_name, with_database

    name = unique_name("dbos_app")
    with psycopg.connect(dbos_system_database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(dbos_system_database_url, name)
    try:
        yield url
    finally:
        drop_database(dbos_system_database_url, name)
