"""Application versions (DBOS Transact 3.4's API): a launched process registers the version
it serves; the latest is the last registered unless another is promoted; a process that does
not run the latest says so at launch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from dbos import DBOS, DBOSConfigError, DBOSException, DBOSNotLaunchedError

Launch = Callable[..., None]


def _names() -> list[str]:
    return [version["version_name"] for version in DBOS.list_application_versions()]


def test_launch_registers_the_version_it_serves(launch: Launch) -> None:
    launch()
    (version,) = DBOS.list_application_versions()
    assert version["version_name"] == DBOS.application_version
    assert version["application_name"] == "test-app"
    assert version["version_timestamp"] == version["created_at"] > 0
    assert DBOS.get_latest_application_version() == version
    launch()  # a restart of the same version registers nothing new
    assert DBOS.list_application_versions() == [version]


def test_the_latest_is_the_last_registered_unless_another_is_promoted(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    launch(application_version="v1")
    launch(application_version="v2")
    assert _names() == ["v2", "v1"]
    assert DBOS.get_latest_application_version()["version_name"] == "v2"
    DBOS.set_latest_application_version("v1")  # a rollback
    assert _names() == ["v1", "v2"]
    caplog.set_level(logging.WARNING, logger="dbos")
    launch(application_version="v2")
    assert "runs application version 'v2', which is not the latest: the latest is 'v1'" in (
        caplog.text
    )
    assert _names() == ["v1", "v2"]


def test_set_latest_refuses_an_unknown_or_bad_version(launch: Launch) -> None:
    launch(application_version="v1")
    with pytest.raises(DBOSException, match="no application version 'v9' is registered"):
        DBOS.set_latest_application_version("v9")
    with pytest.raises(DBOSException, match="non-empty string"):
        DBOS.set_latest_application_version("")
    assert _names() == ["v1"]


def test_async_forms(launch: Launch) -> None:
    launch(application_version="v1")
    launch(application_version="v2")

    async def main() -> tuple[list[str], str]:
        await DBOS.set_latest_application_version_async("v1")
        listed = await DBOS.list_application_versions_async()
        latest = await DBOS.get_latest_application_version_async()
        return [v["version_name"] for v in listed], latest["version_name"]

    assert asyncio.run(main()) == (["v1", "v2"], "v1")


def test_a_management_launch_registers_no_version(dbos_system_database_url: str) -> None:
    DBOS.destroy()
    DBOS(
        config={
            "name": "test-app",
            "system_database_url": dbos_system_database_url,
            "application_version": "script",
        }
    )
    DBOS.launch(management_only=True)
    try:
        assert DBOS.list_application_versions() == []
        with pytest.raises(DBOSException, match="no application versions are registered"):
            DBOS.get_latest_application_version()
    finally:
        DBOS.destroy()


def test_enable_patching_pins_the_version_unless_one_is_set(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dbos")
    launch(enable_patching=True)
    assert DBOS.application_version == "PATCHING_ENABLED"
    assert "enable_patching'] is deprecated" in caplog.text
    launch(enable_patching=True, application_version="v7")
    assert DBOS.application_version == "v7"
    with pytest.raises(DBOSConfigError, match="enable_patching'] must be a bool"):
        launch(enable_patching="yes")


def test_application_version_before_launch_is_known_only_when_configured(
    dbos_system_database_url: str,
) -> None:
    DBOS.destroy()
    with pytest.raises(DBOSNotLaunchedError):
        _ = DBOS.application_version
    DBOS(config={"name": "test-app", "system_database_url": dbos_system_database_url})
    with pytest.raises(DBOSNotLaunchedError):
        _ = DBOS.application_version  # the default hash is fixed at launch
    DBOS.destroy()
    DBOS(
        config={
            "name": "test-app",
            "system_database_url": dbos_system_database_url,
            "application_version": "v5",
        }
    )
    try:
        assert DBOS.application_version == "v5"
    finally:
        DBOS.destroy()
