"""Small URL helpers shared by core and the backends (no driver imports)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def url_scheme(url: str) -> str:
    """The scheme without a driver suffix: ``postgresql+psycopg`` gives ``postgresql``."""
    scheme = urlsplit(url).scheme.lower()
    return scheme.split("+", 1)[0]


def mask_password(url: str) -> str:
    """`url` with its password replaced by ``***`` so it can be logged or shown."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
