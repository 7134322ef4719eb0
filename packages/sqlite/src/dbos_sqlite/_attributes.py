"""Workflow attributes on SQLite, which has no ``jsonb``: the containment filter as a SQL
function registered on every connection, and the merge of an update, done in Python inside
the update's write transaction (SQLite's single writer makes read-merge-write atomic)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from dbos.storage import json_contains

from ._listing import JSON_CONTAINS_SQL


def _contains(stored: str | None, wanted: str | None) -> bool:
    if stored is None or wanted is None:
        return False
    try:
        return json_contains(json.loads(stored), json.loads(wanted))
    except ValueError:  # text that is not JSON (written by hand) contains nothing
        return False


def register_functions(connection: sqlite3.Connection) -> None:
    """Give `connection` the SQL function that ``contains`` filters call."""
    connection.create_function(JSON_CONTAINS_SQL, 2, _contains, deterministic=True)


def merged(stored: str | None, update: str) -> str:
    """`update`'s top-level keys written over the `stored` object (anything stored that is
    not a JSON object counts as an empty one), as JSON text."""
    base: Any = None
    if stored is not None:
        try:
            base = json.loads(stored)
        except ValueError:
            base = None
    if not isinstance(base, dict):
        base = {}
    base.update(json.loads(update))
    return json.dumps(base, separators=(",", ":"))
