from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from dbos import DBOS, DBOSConfigError
from dbos._config import resolve

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


_SERVICE_KEYS: dict[str, Any] = {
    "enable_otlp": True,
    "otlp_traces_endpoints": ["http://collector:4318/v1/traces"],
    "otlp_logs_endpoints": ["http://collector:4318/v1/logs"],
    "otlp_attributes": {"team": "orders"},
    "run_admin_server": True,
    "admin_port": 3001,
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
