"""`DBOSClient`'s application-version calls: the same definitions as `DBOS`'s, on the versions
the app's processes registered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from dbos import DBOSException
from dbos_client import DBOSClient

Launch = Callable[..., None]


def test_a_client_lists_reads_and_promotes_the_apps_versions(
    launch: Launch, dbos_system_database_url: str
) -> None:
    launch(application_version="v1")
    launch(application_version="v2")
    with DBOSClient(system_database_url=dbos_system_database_url) as client:
        versions = client.list_application_versions()
        assert [v["version_name"] for v in versions] == ["v2", "v1"]
        assert {v["application_name"] for v in versions} == {"client-test-app"}
        assert client.get_latest_application_version() == versions[0]
        client.set_latest_application_version("v1")
        assert client.get_latest_application_version()["version_name"] == "v1"
        with pytest.raises(DBOSException, match="no application version 'v3'"):
            client.set_latest_application_version("v3")

        async def main() -> str:
            await client.set_latest_application_version_async("v2")
            listed = await client.list_application_versions_async()
            assert listed[0] == await client.get_latest_application_version_async()
            return listed[0]["version_name"]

        assert asyncio.run(main()) == "v2"
