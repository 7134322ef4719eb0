"""The public names of dbos_sqlite."""

from __future__ import annotations

import dbos_sqlite


def test_public_names_are_pinned() -> None:
    # Adding or removing a public name is an API change: update this list on purpose.
    assert dbos_sqlite.__all__ == [
        "SQLiteFileChangedError",
        "SQLiteSettings",
        "SQLiteStorage",
        "parse_sqlite_url",
    ]
    for name in dbos_sqlite.__all__:
        assert hasattr(dbos_sqlite, name), name
