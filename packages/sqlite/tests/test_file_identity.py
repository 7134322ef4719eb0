"""The database file deleted or replaced under a running app: writes fail, naming the file."""

from __future__ import annotations

import logging
import os
import pickle
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dbos import DBOS, DBOSConnectionError, DBOSStorageError, Queue
from dbos_sqlite import SQLiteFileChangedError, SQLiteStorage


@pytest.fixture
def app_db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "app.sqlite"
    DBOS.destroy()
    DBOS(config={"name": "identity-app", "system_database_url": f"sqlite:///{path}"})
    yield path
    DBOS.destroy()


def _delete(path: Path) -> None:
    os.unlink(path)


def _replace(path: Path) -> None:
    other = path.with_name("other.sqlite")
    sqlite3.connect(other).close()
    os.replace(other, path)


CHANGES: dict[str, Callable[[Path], None]] = {"deleted": _delete, "replaced": _replace}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_workflow_after_the_file_changed_fails_naming_it(app_db: Path, change: str) -> None:
    @DBOS.step()
    def one_step() -> int:
        return 1

    @DBOS.workflow()
    def work() -> int:
        return one_step()

    DBOS.launch()
    assert work() == 1  # the file is in place: all is well
    CHANGES[change](app_db)
    with pytest.raises(SQLiteFileChangedError, match=change) as caught:
        work()
    assert str(app_db) in str(caught.value)
    assert not isinstance(caught.value, DBOSConnectionError)  # never retried as an outage


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_running_workflow_does_not_end_success(app_db: Path, change: str) -> None:
    """The file changes between two steps of a running workflow: its next checkpoint fails
    and the caller gets the error, not a SUCCESS that was written nowhere."""
    reached, go_on = threading.Event(), threading.Event()

    @DBOS.step()
    def first() -> str:
        return "first"

    @DBOS.step()
    def second() -> str:
        return "second"

    @DBOS.workflow()
    def two_steps() -> str:
        first()
        reached.set()
        go_on.wait(10)
        return second()

    DBOS.launch()
    handle = DBOS.start_workflow(two_steps)
    assert reached.wait(10)
    CHANGES[change](app_db)
    go_on.set()
    with pytest.raises(SQLiteFileChangedError, match=str(app_db.name)):
        handle.get_result()


def test_storage_refuses_writes_after_the_file_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    storage = SQLiteStorage(f"sqlite:///{path}")
    storage.setup()
    try:
        os.unlink(path)
        with pytest.raises(DBOSStorageError, match="deleted"):
            storage.cancel_expired(0)
    finally:
        storage.close()


def test_changing_directory_is_not_a_changed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative URL is resolved when the file is opened: the app may chdir afterwards."""
    monkeypatch.chdir(tmp_path)
    storage = SQLiteStorage("sqlite:///relative.sqlite")
    storage.setup()
    try:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        assert storage.cancel_expired(0) == []  # a write transaction, still on the file
        os.unlink(tmp_path / "relative.sqlite")
        with pytest.raises(SQLiteFileChangedError, match=str(tmp_path / "relative.sqlite")):
            storage.cancel_expired(0)
    finally:
        storage.close()


def test_the_error_survives_pickling() -> None:
    """Errors are recorded and read back elsewhere (see `DBOSException`)."""
    error = SQLiteFileChangedError("/data/app.sqlite", "deleted")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.path) == (type(error), str(error), error.path)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_background_services_report_a_changed_file_once_and_stop(
    app_db: Path, change: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: 'WARNING queue worker could not claim tasks, retrying' every second until
    shutdown. A fatal storage error is logged once at ERROR, and the services stop."""
    Queue("idle-queue", polling_interval_sec=0.05)
    DBOS.launch()
    caplog.set_level(logging.INFO, logger="dbos")
    CHANGES[change](app_db)
    time.sleep(2.5)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, caplog.text
    assert "queue worker stopped" in errors[0].getMessage() and change in errors[0].getMessage()
    assert not [r for r in caplog.records if r.levelno == logging.WARNING], caplog.text
