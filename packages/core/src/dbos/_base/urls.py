"""Small URL helpers shared by core and the backends (no driver imports)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .errors import DBOSConfigError
from .secrets import mask_password

__all__ = ["mask_password", "url_scheme", "validate_schema_name", "validate_url"]


def url_scheme(url: str) -> str:
    """The scheme without a driver suffix: ``postgresql+psycopg`` gives ``postgresql``."""
    scheme = urlsplit(url).scheme.lower()
    return scheme.split("+", 1)[0]


#: The longest schema name, in bytes: Postgres names (identifiers and notification channels)
#: hold 63 bytes, and the backend's channels add ``dbos_`` and ``_wake`` to the schema's name.
MAX_SCHEMA_NAME_BYTES = 52


def validate_schema_name(schema: object, source: str = "system schema name") -> str:
    """Return `schema` if it can name the system tables' schema: any non-empty text of at most
    52 bytes (UTF-8) without a NUL or control character. Names that need quoting in SQL
    (mixed case, ``-``, spaces, quotes) are fine: backends quote the name wherever they use it,
    as DBOS Transact accepts such names too.

    Raises:
        DBOSConfigError: It cannot; the message names `source`.
    """
    if not isinstance(schema, str) or not schema:
        raise DBOSConfigError(f"{source} must be a non-empty string, got {schema!r}")
    if any(ord(char) < 32 or ord(char) == 127 for char in schema):
        raise DBOSConfigError(f"{source} {schema!r} contains a control character")
    if len(schema.encode()) > MAX_SCHEMA_NAME_BYTES:
        raise DBOSConfigError(
            f"{source} {schema!r} is longer than {MAX_SCHEMA_NAME_BYTES} bytes (Postgres names "
            "hold 63 bytes, and the notification channels add 11 to the schema's name)"
        )
    return schema


def validate_url(url: str, source: str) -> str:
    """Check that `url` is a URL that names its host unambiguously; `source` names where it
    came from. Whether its scheme is supported is for the installed backends to say, at
    launch (`dbos.plugins.backend_for_url`)."""
    if not isinstance(url, str) or "://" not in url:
        raise DBOSConfigError(
            f"{source} must be a URL such as postgresql://user@host:5432/db or "
            f"sqlite:///app.sqlite; got {mask_password(str(url))!r}"
        )
    if url != url.strip():
        # Masking drops the whitespace, so the refusal must say it (a user's trial).
        raise DBOSConfigError(
            f"{source} starts or ends with whitespace (a space, tab or newline): "
            f"{mask_password(url)!r}"
        )
    try:
        parts = urlsplit(url)  # not .port: libpq's multi-host form h1:5432,h2:5432 is fine
    except ValueError as exc:
        raise DBOSConfigError(
            f"{source} is not a valid URL ({exc}): {mask_password(url)!r}"
        ) from None
    if parts.netloc.count("@") > 1:
        # libpq splits user:password@host at the first '@', Python at the last: the two
        # would disagree on the host, and the password's tail would show up as a host name.
        raise DBOSConfigError(
            f"{source} has more than one '@' before the host ({mask_password(url)!r}): "
            "percent-encode '@' in the user name or password as %40"
        )
    # Which schemes work is up to the installed backends (`backend_for_url` says what to install).
    return url


def sqlalchemy_engine_url(engine: Any, source: str) -> str | None:
    """The URL (password included) of a SQLAlchemy engine that DBOS Transact takes as its
    ``system_database_engine`` (here its URL is all that is used); None for None.

    Raises:
        DBOSConfigError: `engine` is not None and has no URL to read; the message names
            `source`.
    """
    if engine is None:
        return None
    url = getattr(engine, "url", None)
    render = getattr(url, "render_as_string", None)
    if not callable(render):
        raise DBOSConfigError(
            f"{source} must be a SQLAlchemy Engine (its URL is used), got {type(engine).__name__}"
        )
    return str(render(hide_password=False))
