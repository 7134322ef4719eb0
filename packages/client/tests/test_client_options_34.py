"""`DBOSClient`'s constructor takes every keyword of DBOS Transact 3.4's (a user's trial found
``use_listen_notify=False`` and others refused with `TypeError`): those that mean something
here act (pool size, LISTEN, timeouts, an engine's URL), the others are accepted and
documented as unused, and ``sharding=True`` is refused by name. `DBOS` takes 3.4's
``conductor_url`` / ``conductor_key`` arguments as its config keys: with a WARNING."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import sqlalchemy

from dbos import DBOS, DBOSConfigError, EnqueueOptions, Queue
from dbos_client import DBOSClient

Launch = Callable[..., None]

options_queue = Queue("client_options_34")


@DBOS.workflow(name="co34.double")
def double(x: int) -> int:
    return 2 * x


def test_every_34_keyword_is_accepted_and_the_client_works(
    launch: Launch, dbos_system_database_url: str
) -> None:
    launch()
    with DBOSClient(
        system_database_url=dbos_system_database_url,
        system_database_pool_size=2,
        system_database_polling_concurrency=3,
        use_listen_notify=False,
        lazy=True,
        observability_query_timeout_sec=5.0,
        sys_db_idle_transaction_timeout_sec=None,
        sharding=False,
        retry_connection_errors=True,
        application_name="co34",
    ) as client:
        options: EnqueueOptions = {
            "workflow_name": "co34.double",
            "queue_name": "client_options_34",
        }
        assert client.enqueue(options, 21).get_result() == 42
        assert [w.status for w in client.list_workflows(name="co34.double")] == ["SUCCESS"]


def test_an_engines_url_is_used(launch: Launch, dbos_system_database_url: str) -> None:
    launch()
    engine = sqlalchemy.create_engine(
        dbos_system_database_url.replace("postgresql://", "postgresql+psycopg://")
    )
    try:
        with DBOSClient(system_database_engine=engine) as client:
            assert client.list_workflows(name="co34.nothing") == []
    finally:
        engine.dispose()
    with pytest.raises(DBOSConfigError, match="system_database_engine must be a SQLAlchemy"):
        DBOSClient(system_database_engine="not an engine")


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"sharding": True}, "sharded system databases are not provided"),
        ({"system_database_pool_size": 0}, "system_database_pool_size must be a positive int"),
    ],
)
def test_what_cannot_be_done_is_refused_by_name(
    dbos_system_database_url: str, keywords: dict[str, object], message: str
) -> None:
    with pytest.raises(DBOSConfigError, match=message):
        DBOSClient(dbos_system_database_url, **keywords)  # type: ignore[arg-type]


def test_dbos_takes_34s_conductor_arguments_with_a_warning(
    dbos_system_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dbos")
    DBOS(
        config={"name": "co34", "system_database_url": dbos_system_database_url},
        conductor_key="a-key",
        conductor_url="wss://example.invalid",
    )
    try:
        DBOS.launch()
        assert "config['conductor_key'] asks for a connection to DBOS Conductor" in caplog.text
        assert "config['conductor_url'] asks for a connection to DBOS Conductor" in caplog.text
    finally:
        DBOS.destroy()
