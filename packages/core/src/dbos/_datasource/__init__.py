"""Datasources: exactly-once transactions in the application's own database, on SQLAlchemy
(DBOS Transact 3.4's `SQLAlchemyDatasource` and `AsyncSQLAlchemyDatasource`).

A room above the engine: it records each transaction through the engine's recorded-operation
skeleton, and writes the transaction's own checkpoint row in the application database in the
same transaction as the application's writes. Only `registry` is importable without
SQLAlchemy; the other modules need the ``dbos-core[sqlalchemy]`` extra."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """`DatasourceOptions`, where DBOS Transact 3.4 has it (``from dbos._datasource import
    DatasourceOptions``), loaded on first use: it needs SQLAlchemy."""
    if name == "DatasourceOptions":
        from .base import DatasourceOptions

        return DatasourceOptions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
