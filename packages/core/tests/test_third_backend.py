"""The installed plugins alone decide which URLs work: a backend for a new scheme needs no
change in core (issue 10, item 6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dbos import DBOS, DBOSConfigError, SystemStorage
from dbos.plugins import backend_for_url, plugin_manager
from dbos.storage import StorageOptions, hookimpl, url_scheme


class MemoBackend:
    """A "third" backend for ``memo://`` URLs (its storage is the SQLite backend's, on a file
    of the plugin's choosing: what matters here is the routing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.asked: list[str] = []

    @hookimpl
    def dbos_storage_for_url(self, url: str, options: StorageOptions) -> SystemStorage | None:
        if url_scheme(url) != "memo":
            return None
        self.asked.append(url)
        return backend_for_url(f"sqlite:///{self.path}", options)


@pytest.fixture
def memo(tmp_path: Path) -> Iterator[MemoBackend]:
    backend = MemoBackend(tmp_path / "memo.sqlite")
    manager = plugin_manager()
    manager.register(backend, name="memo-test-backend")
    yield backend
    manager.unregister(backend)


@DBOS.workflow()
def doubled(x: int) -> int:
    return 2 * x


def test_a_plugin_for_a_new_scheme_runs_workflows(memo: MemoBackend) -> None:
    DBOS.destroy()
    DBOS(config={"name": "memo-app", "system_database_url": "memo://anywhere/app"})
    try:
        DBOS.launch()
        assert doubled(21) == 42
    finally:
        DBOS.destroy()
    assert memo.asked == ["memo://anywhere/app"]
    assert memo.path.exists()


def test_a_scheme_no_plugin_handles_names_what_is_installed() -> None:
    DBOS.destroy()
    DBOS(config={"name": "nowhere", "system_database_url": "nosuch://user:secret@host/db"})
    try:
        with pytest.raises(DBOSConfigError, match="no installed storage backend") as info:
            DBOS.launch()
    finally:
        DBOS.destroy()
    message = str(info.value)
    assert "'nosuch'" in message and "Installed backends: " in message
    assert "sqlite" in message.split("Installed backends: ")[1]
    assert "secret" not in message
