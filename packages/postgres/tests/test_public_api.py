"""The public names of dbos_postgres."""

from __future__ import annotations

import dbos_postgres


def test_public_names_are_pinned() -> None:
    # Adding or removing a public name is an API change: update this list on purpose.
    assert dbos_postgres.__all__ == ["PostgresStorage"]
    for name in dbos_postgres.__all__:
        assert hasattr(dbos_postgres, name), name
