"""Bad input gets a clear error that names the problem, and stored data stays intact."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from dbos import (
    DBOS,
    DBOSConfigError,
    DBOSConnectionError,
    DBOSException,
    DBOSNotLaunchedError,
    DBOSSerializationError,
    DBOSUnexpectedStepError,
    DBOSWorkflowConflictIDError,
    SetWorkflowID,
    SystemStorage,
)
from dbos.storage._records import NewWorkflow

Launch = Callable[..., None]


def test_unserializable_input_is_refused_before_anything_is_stored(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    @DBOS.workflow()
    def takes_lock(lock: object) -> None:
        pass

    launch()
    with (
        SetWorkflowID("never"),
        pytest.raises(DBOSSerializationError, match=r"argument 'lock' \(position 0\)"),
    ):
        DBOS.start_workflow(takes_lock, threading.Lock())
    assert dbos_storage.get_workflow("never") is None


def test_unserializable_result_fails_the_workflow_clearly(launch: Launch) -> None:
    @DBOS.workflow()
    def returns_lock() -> object:
        return threading.Lock()

    launch()
    with (
        SetWorkflowID("lock-result"),
        pytest.raises(DBOSSerializationError, match="return value of workflow"),
    ):
        DBOS.start_workflow(returns_lock).get_result()
    status = DBOS.get_workflow_status("lock-result")
    assert status is not None and status.status == "ERROR"


def test_starting_an_undecorated_function_is_refused(launch: Launch) -> None:
    def plain() -> None:
        pass

    launch()
    with pytest.raises(DBOSException, match="not a workflow; decorate it"):
        DBOS.start_workflow(plain)


def test_one_id_for_two_different_workflows_is_refused(launch: Launch) -> None:
    @DBOS.workflow()
    def first() -> int:
        return 1

    @DBOS.workflow()
    def second() -> int:
        return 2

    launch()
    with SetWorkflowID("shared"):
        assert first() == 1
    with SetWorkflowID("shared"), pytest.raises(DBOSWorkflowConflictIDError, match="shared"):
        second()
    assert DBOS.retrieve_workflow("shared").get_result() == 1


def test_calling_a_workflow_before_launch_says_so() -> None:
    @DBOS.workflow()
    def early() -> None:
        pass

    DBOS.destroy()
    with pytest.raises(DBOSNotLaunchedError, match=r"DBOS\.launch"):
        early()


def test_changed_workflow_code_is_detected_on_replay(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    @DBOS.step()
    def step_a() -> int:
        return 1

    @DBOS.workflow(name="evolving")
    def evolving() -> int:
        return step_a()

    launch()
    # A recorded history whose first operation was another step.
    dbos_storage.create_workflow(
        NewWorkflow("replayed", "evolving", '{"args":[],"kwargs":{}}', "other", "v", 0)
    )
    from dbos.storage._records import StepRecord

    dbos_storage.record_step(StepRecord("replayed", 1, "some_other_step", "1", None, 0, 0))
    with SetWorkflowID("replayed"):
        DBOS.start_workflow(evolving)  # PENDING elsewhere: this process only waits
    launch(executor_id="other", application_version="v")  # recovery replays it here
    with pytest.raises(DBOSUnexpectedStepError, match="some_other_step"):
        DBOS.retrieve_workflow("replayed").get_result()


def test_unregistered_workflow_at_recovery_is_reported_and_kept(
    launch: Launch, dbos_storage: SystemStorage, caplog: pytest.LogCaptureFixture
) -> None:
    dbos_storage.create_workflow(
        NewWorkflow("orphan", "no.such.workflow", '{"args":[],"kwargs":{}}', "local", "v1", 0)
    )
    launch(application_version="v1")
    assert "no.such.workflow" in caplog.text and "not registered" in caplog.text
    row = dbos_storage.get_workflow("orphan")
    assert row is not None and row.status == "PENDING"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://user:top@secret@host/db", "percent-encode"),
        ("localhost:5432", "must be a URL"),
    ],
)
def test_bad_urls_are_refused_at_configuration(url: str, message: str) -> None:
    with pytest.raises(DBOSConfigError, match=message) as info:
        DBOS(config={"name": "bad-url", "system_database_url": url})
    assert "secret" not in str(info.value)


def test_a_scheme_no_backend_handles_is_refused_at_launch() -> None:
    # Which schemes work is the installed backends' call (a plugin may add any), so an
    # unknown scheme is refused when launch asks them, naming it and masking the password.
    DBOS(config={"name": "bad-scheme", "system_database_url": "mysql://user:topsecret@h/db"})
    try:
        with pytest.raises(DBOSConfigError, match=r"no installed storage backend.*'mysql'") as info:
            DBOS.launch()
        assert "topsecret" not in str(info.value)
    finally:
        DBOS.destroy()


def test_unreachable_postgres_fails_launch_clearly() -> None:
    pytest.importorskip("dbos_postgres", reason="needs the Postgres backend installed")
    DBOS(
        config={
            "name": "unreachable",
            "system_database_url": "postgresql://user:topsecret@127.0.0.1:1/db?connect_timeout=2",
        }
    )
    try:
        with pytest.raises(DBOSConnectionError) as info:
            DBOS.launch()
        assert "topsecret" not in str(info.value)
        assert "127.0.0.1" in str(info.value)
    finally:
        DBOS.destroy()


def test_a_postgres_url_without_the_backend_names_what_to_install() -> None:
    if importlib.util.find_spec("dbos_postgres") is not None:
        pytest.skip("the Postgres backend is installed here (nox -s core_without_driver runs this)")
    DBOS(config={"name": "no-backend", "system_database_url": "postgresql://u:secret@h/db"})
    try:
        with pytest.raises(DBOSConfigError, match="dbos-postgres") as info:
            DBOS.launch()
        assert "secret" not in str(info.value)
    finally:
        DBOS.destroy()


def test_missing_sqlite_directory_fails_launch_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing-dir/app.sqlite"
    DBOS(config={"name": "missing", "system_database_url": url})
    try:
        with pytest.raises((DBOSConnectionError, DBOSConfigError), match="missing-dir"):
            DBOS.launch()
    finally:
        DBOS.destroy()
