from __future__ import annotations

from typing import Any

import pytest

from dbos import DBOSConfigError
from dbos._config import resolve


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
        ({"name": "a", "system_database_url": "mysql://u:pw@h/db"}, "unsupported scheme 'mysql'"),
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
        resolve({"name": "a", "system_database_url": "mysql://user:hunter2@host/db"})
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)


def test_the_retry_budget_is_a_number_of_seconds() -> None:
    assert resolve({"name": "a"}).retry_timeout_s == 60.0
    assert resolve({"name": "a", "sys_db_retry_timeout_sec": 5}).retry_timeout_s == 5.0
    assert resolve({"name": "a", "sys_db_retry_timeout_sec": 0}).retry_timeout_s == 0.0
    for bad in (-1, float("nan"), float("inf"), True, "30"):
        with pytest.raises(DBOSConfigError, match="sys_db_retry_timeout_sec"):
            resolve({"name": "a", "sys_db_retry_timeout_sec": bad})  # type: ignore[typeddict-item]
