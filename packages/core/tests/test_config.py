from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from dbos import DBOS, DBOSConfigError, DBOSMigrationError, hookimpl
from dbos._config import _KNOWN_KEYS, resolve
from dbos._logging import DefaultHandler
from dbos.plugins import plugin_manager
from dbos.storage import Message
from dbos_testing import storage_for_url

Launch = Callable[..., None]


def test_defaults_to_an_sqlite_file_named_after_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBOS_SYSTEM_DATABASE_URL", raising=False)
    monkeypatch.delenv("DBOS__VMID", raising=False)
    settings = resolve({"name": "shop"})
    assert settings.system_database_url == "sqlite:///shop.sqlite"
    assert settings.executor_id == "local"
    assert settings.system_schema == "dbos"


def test_environment_url_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBOS_SYSTEM_DATABASE_URL", "postgresql://u:secret@h/db")
    assert resolve({"name": "shop"}).system_database_url == "postgresql://u:secret@h/db"
    explicit = resolve({"name": "shop", "system_database_url": "sqlite:///x.sqlite"})
    assert explicit.system_database_url == "sqlite:///x.sqlite"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "config\\['name'\\] is required"),
        ({"name": ""}, "non-empty"),
        ({"name": "has space"}, "may only use"),
        ({"name": "a", "system_databse_url": "x"}, "unknown config key.*system_databse_url"),
        ({"name": "a", "system_database_url": "postgresql://u:p@w@h/db"}, "percent-encode"),
        ({"name": "a", "system_database_url": "not a url"}, "must be a URL"),
        ({"name": "a", "system_database_url": " sqlite:///x.db"}, "starts or ends with white"),
        ({"name": "a", "system_database_url": "sqlite:///x.db\n"}, "starts or ends with white"),
        ({"name": "a", "sys_db_pool_size": 0}, "sys_db_pool_size"),
        ({"name": "a", "log_level": "LOUD"}, "log_level"),
        ({"name": "a", "strict_serialization": "yes"}, "strict_serialization"),
    ],
)
def test_bad_config_names_the_problem(config: dict[str, Any], message: str) -> None:
    with pytest.raises(DBOSConfigError, match=message):
        resolve(config)  # type: ignore[arg-type]


def test_errors_never_show_a_password() -> None:
    with pytest.raises(DBOSConfigError) as info:
        resolve({"name": "a", "system_database_url": "postgresql://user:hunter2@[::1/db"})
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)


# The OTLP and admin server keys are honoured now (test_tracing.py, test_admin_server.py).
_SERVICE_KEYS: dict[str, Any] = {
    "conductor_key": "key-value",
    "conductor_url": "wss://conductor.example",
}


def _service_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("dbos") and r.levelno == logging.WARNING and "provide yet" in r.message
    ]


@pytest.mark.parametrize(("key", "value"), sorted(_SERVICE_KEYS.items()))
def test_a_key_asking_for_a_missing_service_warns_once_per_launch(
    launch: Launch, caplog: pytest.LogCaptureFixture, key: str, value: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="dbos")
    launch(**{key: value})
    DBOS.launch()  # idempotent: not a second launch, so no second warning
    warnings = _service_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert f"config[{key!r}]" in warnings[0]
    assert "conductor" not in key or "key-value" not in warnings[0]


@pytest.mark.parametrize(
    "config",
    [
        {"enable_otlp": False, "run_admin_server": False, "admin_port": 3001},
        {"otlp_traces_endpoints": [], "otlp_logs_endpoints": [], "otlp_attributes": {}},
        {"db_engine_kwargs": {"pool_size": 3}},
    ],
)
def test_keys_that_ask_for_no_missing_service_do_not_warn(
    launch: Launch, caplog: pytest.LogCaptureFixture, config: dict[str, Any]
) -> None:
    caplog.set_level(logging.DEBUG, logger="dbos")
    launch(**config)
    assert _service_warnings(caplog) == []


def test_the_retry_budget_is_a_number_of_seconds() -> None:
    assert resolve({"name": "a"}).retry_timeout_s == 60.0
    assert resolve({"name": "a", "sys_db_retry_timeout_sec": 5}).retry_timeout_s == 5.0
    assert resolve({"name": "a", "sys_db_retry_timeout_sec": 0}).retry_timeout_s == 0.0
    for bad in (-1, float("nan"), float("inf"), True, "30"):
        with pytest.raises(DBOSConfigError, match="sys_db_retry_timeout_sec"):
            resolve({"name": "a", "sys_db_retry_timeout_sec": bad})  # type: ignore[typeddict-item]


def test_the_lease_is_a_number_of_seconds_from_1_to_3600() -> None:
    assert resolve({"name": "a"}).lease_s == 20.0
    assert resolve({"name": "a", "process_lease_sec": 2}).lease_s == 2.0
    assert resolve({"name": "a", "process_lease_sec": 3600}).lease_s == 3600.0
    for bad in (0, 0.5, -3, 3601, float("nan"), float("inf"), True, "20", None):
        with pytest.raises(DBOSConfigError, match=r"\['process_lease_sec'\] must be a number"):
            resolve({"name": "a", "process_lease_sec": bad})  # type: ignore[typeddict-item]


#: Every key of DBOS Transact 3.4's `DBOSConfig` (its public TypedDict).
DBOS_34_KEYS = (
    "name", "system_database_url", "sys_db_pool_size", "sys_db_polling_concurrency",
    "db_engine_kwargs", "sys_db_idle_transaction_timeout_sec", "log_level", "otlp_log_level",
    "console_log_level", "otlp_traces_endpoints", "otlp_logs_endpoints", "otlp_attributes",
    "application_version", "executor_id", "dbos_system_schema", "enable_otlp",
    "system_database_engine", "conductor_key", "conductor_url", "conductor_executor_metadata",
    "conductor_metadata_only_mode", "transact_enterprise_key", "auto_upgrade",
    "auto_upgrade_interval_sec", "auto_upgrade_grace_sec", "serializer", "enable_patching",
    "use_listen_notify", "sharding", "run_migrations", "max_executor_threads",
    "notification_listener_polling_interval_sec", "notification_coalesce_sec",
    "observability_query_timeout_sec", "scheduler_polling_interval_sec",
    "kafka_queue_polling_interval_sec", "otel_attribute_format",
)  # fmt: skip


def test_every_dbos_transact_34_key_is_known() -> None:
    assert sorted(set(DBOS_34_KEYS) - _KNOWN_KEYS) == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"run_migrations": "no"}, r"\['run_migrations'\] must be a bool"),
        ({"use_listen_notify": 1}, r"\['use_listen_notify'\] must be a bool"),
        (
            {"notification_listener_polling_interval_sec": 0.0001},
            "must be at least 0.001",
        ),
        ({"observability_query_timeout_sec": 0}, "must be a positive number of seconds"),
        ({"sys_db_idle_transaction_timeout_sec": "60"}, "must be a number of seconds"),
        ({"console_log_level": "LOUD"}, r"\['console_log_level'\] 'LOUD' is not a logging"),
        (
            {"log_level": "WARNING", "console_log_level": "INFO"},
            "less severe than log_level 'WARNING'",
        ),
        ({"system_database_engine": object()}, "must be a SQLAlchemy Engine"),
    ],
)
def test_bad_dbos_transact_keys_name_the_problem(config: dict[str, Any], message: str) -> None:
    with pytest.raises(DBOSConfigError, match=message):
        resolve({"name": "a", **config})  # type: ignore[typeddict-item]


class _FakeUrl:
    """What a SQLAlchemy engine's `url` offers that the config reads (SQLAlchemy is not a
    dependency of core's tests)."""

    def __init__(self, url: str) -> None:
        self._url = url

    def render_as_string(self, hide_password: bool = True) -> str:
        return self._url if not hide_password else self._url.replace("pw", "***")


class _EngineLike:
    def __init__(self, url: str) -> None:
        self.url = _FakeUrl(url)


def test_a_system_database_engine_gives_its_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="dbos")
    engine = _EngineLike("postgresql+psycopg://u:pw@db.example:5432/app")
    settings = resolve({"name": "a", "system_database_engine": engine})
    assert settings.system_database_url == "postgresql+psycopg://u:pw@db.example:5432/app"
    assert any("used for its URL only" in r.getMessage() for r in caplog.records)
    same = resolve(
        {
            "name": "a",
            "system_database_engine": engine,
            "system_database_url": "postgresql://u:pw@db.example:5432/app",
        }
    )
    assert same.system_database_url == "postgresql://u:pw@db.example:5432/app"
    with pytest.raises(DBOSConfigError, match="give one of them") as info:
        resolve(
            {
                "name": "a",
                "system_database_engine": engine,
                "system_database_url": "postgresql://u:pw@elsewhere:5432/app",
            }
        )
    assert "pw" not in str(info.value).replace("***", "")


def test_the_console_log_level_sets_the_console_handler(launch: Launch) -> None:
    launch(console_log_level="ERROR")
    handlers = [h for h in logging.getLogger("dbos").handlers if isinstance(h, DefaultHandler)]
    assert [h.level for h in handlers] == [logging.ERROR]
    launch()
    assert [h.level for h in handlers] == [logging.NOTSET]


def test_run_migrations_false_checks_and_changes_nothing(
    launch: Launch, dbos_system_database_url: str
) -> None:
    # Never set up: a Postgres schema lacks every migration; an SQLite file does not exist.
    with pytest.raises(
        (DBOSMigrationError, DBOSConfigError), match=r"lacks \d+ DBOS migration|does not exist"
    ):
        launch(run_migrations=False, dbos_system_schema="never_set_up")
    DBOS.destroy()
    launch()  # migrates

    @DBOS.workflow()
    def hello() -> str:
        return "hi"

    launch(run_migrations=False)
    assert hello() == "hi"


class _CountCalls:
    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.calls = 0

    @hookimpl
    def dbos_storage_call(self, operation: str, attempt: int) -> None:
        if operation == self.operation:
            self.calls += 1


def test_waits_poll_at_the_configured_interval_without_notifications(
    launch: Launch, dbos_system_database_url: str
) -> None:
    @DBOS.workflow()
    def receiver() -> object:
        return DBOS.recv("topic", timeout_seconds=30)

    launch(use_listen_notify=False, notification_listener_polling_interval_sec=0.05)
    counter = _CountCalls("recv")
    plugin_manager().register(counter)
    try:
        handle = DBOS.start_workflow(receiver)
        time.sleep(1.5)  # with the default interval (1 s) this is two or three checks
        assert counter.calls >= 6, counter.calls
        # A write from another storage, as from another process: no in-process wake-up, so
        # only polling finds it.
        other = storage_for_url(dbos_system_database_url)
        try:
            other.send(Message("m-1", handle.workflow_id, "topic", '"hello"', 0))
        finally:
            other.close()
        assert handle.get_result(timeout_seconds=30) == "hello"
    finally:
        plugin_manager().unregister(counter)


def test_configuring_again_before_launch_says_the_new_configuration_wins(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dbos")
    try:
        DBOS(config={"name": "first", "system_database_url": f"sqlite:///{tmp_path}/a.sqlite"})
        DBOS(config={"name": "first", "system_database_url": f"sqlite:///{tmp_path}/a.sqlite"})
        assert "configured again" not in caplog.text  # the same configuration: nothing to say
        DBOS(config={"name": "second", "system_database_url": f"sqlite:///{tmp_path}/b.sqlite"})
        assert (
            "DBOS was configured again before launch: the new configuration (app 'second') "
            "replaces the earlier one (app 'first')"
        ) in caplog.text
    finally:
        DBOS.destroy()
