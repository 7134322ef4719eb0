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


# --- the dashboard (`dbos ui`) ------------------------------------------------------------


class UIServer:
    """A dashboard served by a real uvicorn in a thread, on a free loopback port."""

    def __init__(self, url: str, host: str, token: str | None, read_only: bool) -> None:
        import socket
        import threading

        import uvicorn

        from dbos import JsonPickleSerializer
        from dbos_client import DBOSClient
        from dbos_client.ui import Guard, Reader, create_app

        # As `dbos ui` does: a web server never unpickles stored data.
        self.client = DBOSClient(url, serializer=JsonPickleSerializer(strict=True))
        # `bind_as` decides the rules (a non-loopback name needs a token); the socket itself
        # listens on loopback only, as tests must not open ports to the network.
        self.guard = Guard.for_binding(host, token, read_only)
        app = create_app(Reader(self.client), self.guard, self.client.storage.url_for_display)
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self.thread.start()
        import time

        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()
        self.client.destroy()


StartUI = Callable[..., UIServer]


@pytest.fixture
def ui_server(dbos_system_database_url: str) -> Iterator[StartUI]:
    """Start dashboards on the test's database: ``ui_server(host=..., token=...,
    read_only=...)``; each is stopped at teardown."""
    pytest.importorskip("starlette", reason="the dbos-client[ui] extra is not installed")
    started: list[UIServer] = []

    def _start(
        host: str = "127.0.0.1", token: str | None = None, read_only: bool = False
    ) -> UIServer:
        server = UIServer(dbos_system_database_url, host, token, read_only)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.close()
