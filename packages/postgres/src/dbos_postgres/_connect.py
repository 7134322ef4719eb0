"""Connection details: URL validation, opening connections, creating a missing database."""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dbos.storage import (
    DBOSConfigError,
    DBOSConnectionError,
    mask_password,
    password_secrets,
    scrub_exception,
    scrub_text,
)

from ._sql import queries

DEFAULT_CONNECT_TIMEOUT_S = 10

#: libpq's TCP settings for the system database's connections (none apply over a Unix
#: socket): keepalive probes after 10 s idle, every 5 s, 3 missed is a dead peer; data
#: unacknowledged for 30 s is a dead peer too (Linux).
TCP_DEFAULTS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def normalize_url(url: str) -> str:
    """Drop a SQLAlchemy-style driver suffix (``postgresql+psycopg://`` -> ``postgresql://``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise DBOSConfigError(f"not a Postgres URL: {mask_password(url)!r}")
    base = scheme.split("+", 1)[0].lower()
    if base not in ("postgresql", "postgres"):
        raise DBOSConfigError(f"not a Postgres URL: {mask_password(url)!r}")
    if rest.startswith("/") and "@" in rest.split("?", 1)[0]:
        # Taken as it stands, the user name and password would become a database name, which
        # launch would create (a user's trial): refused, as a mistyped URL.
        raise DBOSConfigError(
            f"the Postgres URL {mask_password(url)!r} has no host but a database name holding "
            "'@': one slash too many? Write postgresql://user:password@host:5432/database"
        )
    return f"postgresql://{rest}"


def conninfo_for(
    url: str,
    application_name: str,
    connect_timeout_s: float,
    idle_transaction_timeout_s: float | None = None,
) -> str:
    """A libpq connection string for `url`, validated, with our defaults added: the
    application name, the connect timeout, TCP keepalives and user timeout (`TCP_DEFAULTS`)
    and, unless `idle_transaction_timeout_s` is None or
    the URL's ``options`` set it already, ``idle_in_transaction_session_timeout``."""
    normalized = normalize_url(url)
    try:
        params: dict[str, Any] = conninfo_to_dict(normalized)
    except psycopg.ProgrammingError as exc:
        # libpq's parse errors quote the string they choke on, password included.
        scrub_exception(exc, url)
        raise DBOSConfigError(
            f"invalid Postgres URL {mask_password(url)!r}: {_reason(exc, url)}"
        ) from exc
    if not params.get("dbname"):
        raise DBOSConfigError(
            f"Postgres URL {mask_password(url)!r} names no database "
            "(example: postgresql://user@localhost:5432/my_app)"
        )
    params.setdefault("application_name", application_name)
    params.setdefault("connect_timeout", max(1, round(connect_timeout_s)))
    # A server that vanishes without a word (a network partition, a host lost) is found
    # within about half a minute instead of TCP's ~15 minutes of retransmissions: a statement
    # waiting on it, even in a libpq call that Ctrl-C cannot interrupt (see `_lean`), fails
    # as a lost connection, which the engine rides out. A URL's own settings win.
    for name, value in TCP_DEFAULTS.items():
        params.setdefault(name, value)
    options = str(params.get("options") or "")
    if idle_transaction_timeout_s is not None and "idle_in_transaction_session_timeout" not in (
        options
    ):
        timeout_ms = max(1, round(idle_transaction_timeout_s * 1000))
        params["options"] = f"{options} -c idle_in_transaction_session_timeout={timeout_ms}".strip()
    return make_conninfo("", **params)


def database_name(conninfo: str) -> str:
    return str(conninfo_to_dict(conninfo)["dbname"])


def connect(conninfo: str, display_url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(conninfo, autocommit=True, **kwargs)
    except psycopg.Error as exc:
        raise DBOSConnectionError(
            f"cannot connect to the system database {display_url!r}: {_reason(exc, conninfo)}"
        ) from scrub_exception(exc, conninfo)


def _reason(exc: BaseException, conninfo: str) -> str:
    """The driver's message on one line, without the connection string's passwords."""
    return scrub_text(" ".join(str(exc).split()), password_secrets(conninfo))


def ensure_database(conninfo: str, display_url: str, schema: str) -> None:
    """Make sure the database exists, creating it if it does not.

    Existence is checked through the server's ``postgres`` database rather than by parsing the
    connection error (which the server may localize). Processes racing to create it are fine.
    """
    try:
        psycopg.connect(conninfo, autocommit=True).close()
        return
    except psycopg.Error as exc:
        first_error = exc
    name = database_name(conninfo)
    maintenance = make_conninfo(conninfo, dbname="postgres")
    try:
        with psycopg.connect(maintenance, autocommit=True) as admin:
            if not admin.execute(queries(schema)["database_exists"], {"name": name}).fetchone():
                # Another process may create it between our check and our CREATE: fine. (A
                # CREATE racing another CREATE fails on pg_database's unique index instead.)
                with contextlib.suppress(
                    psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation
                ):
                    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error:
        raise DBOSConnectionError(
            f"cannot connect to the system database {display_url!r}: "
            f"{_reason(first_error, conninfo)}"
        ) from scrub_exception(first_error, conninfo)
    connect(conninfo, display_url).close()
