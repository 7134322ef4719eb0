"""Small URL helpers shared by core and the backends (no driver imports)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .errors import DBOSConfigError
from .secrets import mask_password

__all__ = ["mask_password", "url_scheme", "validate_schema_name", "validate_url"]


def url_scheme(url: str) -> str:
    """The scheme without a driver suffix: ``postgresql+psycopg`` gives ``postgresql``."""
    scheme = urlsplit(url).scheme.lower()
    return scheme.split("+", 1)[0]


# Postgres identifiers: anything that would need quoting tricks to be safe to show is refused.
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}\Z")


def validate_schema_name(schema: object, source: str = "system schema name") -> str:
    """Return `schema` if it can name the system tables' schema: a plain Postgres identifier
    (letters, digits, ``_`` and ``$``, at most 63 characters, not starting with a digit).

    Raises:
        DBOSConfigError: It cannot; the message names `source`.
    """
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise DBOSConfigError(
            f"{source} {schema!r} is not a plain Postgres identifier "
            "(letters, digits, _ and $, at most 63 characters, not starting with a digit)"
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
