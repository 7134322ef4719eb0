"""Parsing ``sqlite:///path`` URLs (SQLAlchemy style) into connection settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from dbos.storage import DBOSConfigError

_SYNCHRONOUS = ("full", "normal")


@dataclass(frozen=True)
class SQLiteSettings:
    """What an SQLite URL says (see `parse_sqlite_url`): the file's `path` (relative to the
    working directory unless absolute), the ``PRAGMA synchronous`` level (``full`` or
    ``normal``) and the busy timeout `timeout_s` in seconds that writers wait for another
    process's lock."""

    path: Path
    synchronous: str = "full"
    timeout_s: float = 30.0


def parse_sqlite_url(url: str) -> SQLiteSettings:
    """``sqlite:///relative.sqlite`` (from the working directory), ``sqlite:////abs.sqlite``;
    options ``?synchronous=full|normal`` and ``?timeout=<seconds>``."""
    parts = urlsplit(url)
    if parts.scheme.split("+", 1)[0].lower() != "sqlite":
        raise DBOSConfigError(f"not an SQLite URL: {url!r}")
    if parts.netloc:
        raise DBOSConfigError(
            f"SQLite URL {url!r} has a host part; use three slashes for a relative path "
            "(sqlite:///app.sqlite) or four for an absolute one (sqlite:////data/app.sqlite)"
        )
    raw_path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not raw_path:
        raise DBOSConfigError(f"SQLite URL {url!r} names no file (example: sqlite:///app.sqlite)")
    if raw_path == ":memory:" or raw_path.startswith("file::memory:"):
        raise DBOSConfigError(
            f"SQLite URL {url!r} is an in-memory database; durable workflows need a file that "
            "outlives the process (example: sqlite:///app.sqlite)"
        )
    options = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(options) - {"synchronous", "timeout"})
    if unknown:
        raise DBOSConfigError(
            f"SQLite URL {url!r} has unknown option(s) {', '.join(unknown)}; "
            "known: synchronous, timeout"
        )
    synchronous = options.get("synchronous", ["full"])[-1].lower()
    if synchronous not in _SYNCHRONOUS:
        raise DBOSConfigError(
            f"SQLite URL {url!r}: synchronous must be one of {', '.join(_SYNCHRONOUS)}"
        )
    timeout_text = options.get("timeout", ["30"])[-1]
    try:
        timeout_s = float(timeout_text)
    except ValueError:
        timeout_s = -1.0
    if not timeout_s >= 0:
        raise DBOSConfigError(f"SQLite URL {url!r}: timeout must be a number of seconds >= 0")
    return SQLiteSettings(Path(raw_path), synchronous, timeout_s)


def absolute_sqlite_url(url: str, path: Path) -> str:
    """`url` (whose file `parse_sqlite_url` read as `path`) naming that file by its absolute
    path, resolved from the working directory now; `url` itself if the path is absolute."""
    if path.is_absolute():
        return url
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}:///{quote(str(Path.cwd() / path))}{query}"
