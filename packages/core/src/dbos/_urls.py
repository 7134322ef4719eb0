"""Small URL helpers shared by core and the backends (no driver imports)."""

from __future__ import annotations

from urllib.parse import urlsplit

from ._secrets import mask_password

__all__ = ["mask_password", "url_scheme"]


def url_scheme(url: str) -> str:
    """The scheme without a driver suffix: ``postgresql+psycopg`` gives ``postgresql``."""
    scheme = urlsplit(url).scheme.lower()
    return scheme.split("+", 1)[0]
