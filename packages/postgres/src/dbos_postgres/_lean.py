"""The hottest statements run on libpq directly, below psycopg's cursor layer.

A plain step costs one statement, and psycopg's cursor path (query conversion, parameter
dumping, its prepared-statement cache, result loaders) spent about 0.03 ms of client CPU on
each, as much as the rest of a step's bookkeeping (measured on the record_step insert: 0.037
ms of CPU a statement through `Connection.execute`, 0.009 ms through `PGconn.exec_prepared`).
Statements here are few and their parameters simple (text, integers, booleans, NULL), so they
are sent in text format, prepared once per connection under a name of ours, and their results
decoded by column type. Everything else goes through psycopg as usual.

Errors are psycopg's own classes (`psycopg.errors.error_from_result`), so callers handle them
exactly as they handle a failed `execute`; a lost connection raises
`psycopg.OperationalError`, and the pool discards the connection when it comes back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import psycopg
from psycopg import pq
from psycopg.errors import error_from_result

#: Text-format decoders by type OID; any other type comes back as its text.
_DECODERS: dict[int, Callable[[bytes], Any]] = {
    16: lambda value: value == b"t",  # bool
    20: int,  # int8
    21: int,  # int2
    23: int,  # int4
}

_PLACEHOLDER = re.compile(rb"%\((\w+)\)s|%%")
#: SQLSTATE of "prepared statement does not exist" (a connection reset by a proxy).
_NOT_PREPARED = b"26000"


class LeanStatement:
    """One statement of queries.sql run through `PGconn.exec_prepared`.

    `query` uses psycopg's named placeholders (``%(name)s``); they become ``$1``, ``$2``, ...
    in order of first appearance, and the server infers each one's type from where it is used
    (a placeholder whose type the statement leaves open needs a cast, as ``%(x)s::text IS
    NULL`` has). Parameter values are str, int, bool or None."""

    def __init__(self, name: str, query: bytes) -> None:
        order: list[str] = []

        def number(match: re.Match[bytes]) -> bytes:
            if match.group(0) == b"%%":
                return b"%"
            param = match.group(1).decode()
            if param not in order:
                order.append(param)
            return b"$%d" % (order.index(param) + 1)

        self.name = f"dbos_lean_{name}".encode()
        self.sql = _PLACEHOLDER.sub(number, query)
        self.params = tuple(order)
        # The column names and decoders of its results, read from the first one: a statement's
        # result columns never change (create_workflow's 36 cost 8 us a call to read again).
        self._columns: tuple[tuple[bytes, ...], list[Callable[[bytes], Any]]] | None = None

    def rows(
        self, connection: psycopg.Connection[Any], params: Mapping[str, Any]
    ) -> tuple[tuple[bytes, ...], list[tuple[Any, ...]]]:
        """Run the statement on `connection` (autocommit, or inside a transaction the caller
        opened) and return (column names, decoded rows). Raises psycopg's error for a failed
        statement, `psycopg.OperationalError` for a lost connection."""
        # NULL is a None parameter to libpq (psycopg's own annotation leaves it out).
        values = cast("list[bytes]", [_encode(params[name]) for name in self.params])
        pgconn = connection.pgconn
        prepared: set[bytes] | None = getattr(connection, "lean_prepared", None)
        if prepared is None:
            prepared = set()
            connection.lean_prepared = prepared  # type: ignore[attr-defined]
        if self.name not in prepared:
            self._prepare(pgconn)
            prepared.add(self.name)
        result = pgconn.exec_prepared(self.name, values)
        if (
            result.status == pq.ExecStatus.FATAL_ERROR
            and result.error_field(pq.DiagnosticField.SQLSTATE) == _NOT_PREPARED
        ):
            # The server forgot it (a pooler's reset): prepare it again, and run it once more
            # unless the failure aborted the caller's transaction (then the caller fails).
            prepared.discard(self.name)
            if pgconn.transaction_status == pq.TransactionStatus.IDLE:
                self._prepare(pgconn)
                prepared.add(self.name)
                result = pgconn.exec_prepared(self.name, values)
        return self._decoded(pgconn, result)

    def _decoded(
        self, pgconn: pq.abc.PGconn, result: pq.abc.PGresult
    ) -> tuple[tuple[bytes, ...], list[tuple[Any, ...]]]:
        status = result.status
        if status == pq.ExecStatus.COMMAND_OK:
            return (), []
        if status != pq.ExecStatus.TUPLES_OK:
            raise _error(pgconn, result)
        columns = self._columns
        width = result.nfields
        if columns is None or len(columns[0]) != width:
            columns = self._columns = _columns(result)
        names, decoders = columns
        get = result.get_value
        rows: list[tuple[Any, ...]] = []
        for row in range(result.ntuples):
            decoded = [
                None if (raw := get(row, column)) is None else decoders[column](raw)
                for column in range(width)
            ]
            rows.append(tuple(decoded))
        return names, rows

    def _prepare(self, pgconn: pq.abc.PGconn) -> None:
        result = pgconn.prepare(self.name, self.sql)
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise _error(pgconn, result)


def _encode(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, int):
        return b"%d" % value
    raise TypeError(f"a lean statement takes str, int, bool or None, not {type(value).__name__}")


def _columns(result: pq.abc.PGresult) -> tuple[tuple[bytes, ...], list[Callable[[bytes], Any]]]:
    """The column names of `result` and the decoder of each column's text."""
    width = result.nfields
    names = tuple([result.fname(column) or b"" for column in range(width)])
    decoders = [_DECODERS.get(result.ftype(column), _text) for column in range(width)]
    return names, decoders


def _text(value: bytes) -> str:
    return value.decode()


def _error(pgconn: pq.abc.PGconn, result: pq.abc.PGresult) -> psycopg.Error:
    if pgconn.status != pq.ConnStatus.OK:
        message = pgconn.error_message.decode(errors="replace").strip()
        return psycopg.OperationalError(f"the connection was lost: {message}")
    return error_from_result(result)


#: The statements of queries.sql that run lean: a plain step's checkpoint, a workflow's
#: creation and a lone finish (five of a three-step workflow's five round trips).
LEAN_QUERIES = ("record_step", "create_workflow", "finish_workflow")


def lean_statements(queries: Mapping[str, bytes]) -> dict[str, LeanStatement]:
    """`LEAN_QUERIES`, ready to run (nothing is sent to a server here)."""
    return {name: LeanStatement(name, queries[name]) for name in LEAN_QUERIES}


def first(rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """The first row of a result, or None."""
    return rows[0] if rows else None
