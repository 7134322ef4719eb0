"""One datasource transaction, written once for sync and async SQLAlchemy sessions.

Inside a workflow a transaction is a recorded operation (`recorded_operation`): it takes its
operation ID from the skeleton, replays the workflow's step record if there is one, and else
runs an *attempt*: in one database transaction of the application database, read this
operation's checkpoint row (an earlier execution committed it: that is the outcome), or run
the function, then insert the checkpoint row, and commit both. The step record follows in
the system database. A crash between the two commits leaves the checkpoint row to answer the
next execution, so the application's writes are made exactly once.

The attempt is a generator of effects (`CallBody`, `Sleep`), so the same code drives a
`Session` (whose methods return results) and an `AsyncSession` (whose methods return
coroutines, which the async driver awaits)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from .._base.errors import DBOSException, DBOSTransactionRetriesExceeded
from .._base.serialization import Codec
from .._engine.context import current_step, current_workflow
from .._engine.effects import CallBody, Procedure, Sleep
from .._engine.operations import Produced, recorded_operation
from .._engine.outcome import now_ms
from ..storage._records import StepRecord
from . import registry

_FIRST_WAIT_S = 0.001
_BACKOFF = 1.5
_MAX_WAIT_S = 2.0
#: Attempts a transaction gets when each one fails on a serialization conflict.
DEFAULT_MAX_ATTEMPTS = 50

#: The session of the datasource transaction running in this thread or task, and its owner.
current_session: ContextVar[tuple[object, Any] | None] = ContextVar(
    "dbos_datasource_session", default=None
)


@dataclass(frozen=True)
class Committed:
    """The function ran and its transaction committed (with its checkpoint row, inside a
    workflow); `output` is its value encoded (None outside a workflow)."""

    value: Any
    output: str | None


@dataclass(frozen=True)
class Found:
    """An earlier execution committed this operation: its encoded output or error."""

    output: str | None
    error: str | None


@dataclass(frozen=True)
class Failed:
    """The function (or its commit) raised; the transaction was rolled back."""

    error: Exception


Attempt = Committed | Found | Failed


@dataclass(frozen=True)
class TransactionSpec:
    """What one call of a transaction function needs, from its datasource and decorator."""

    owner: Any  # the datasource
    name: str
    function: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    isolation_level: str | None
    max_attempts: int
    table: sa.Table
    is_conflict: Callable[[BaseException], bool]
    make_session: Callable[[], Any]


def is_postgres_conflict(exc: BaseException) -> bool:
    """A Postgres serialization failure (40001) or deadlock (40P01): worth a new attempt."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in (
        "40001",
        "40P01",
    )


def is_sqlite_conflict(exc: BaseException) -> bool:
    """A SQLite database or table locked by another writer past the busy timeout."""
    if not isinstance(exc, DBAPIError):
        return False
    text = str(exc.orig).lower()
    return "database is locked" in text or "database table is locked" in text


def _insert(table: sa.Table, dialect_name: str, values: dict[str, Any]) -> Any:
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    return (
        dialect.insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["workflow_id", "step_id"])
        .returning(table.c.step_id)
    )


class _AlreadyRecorded(Exception):
    """Another execution committed this operation's checkpoint row while this attempt ran."""


def attempt(
    spec: TransactionSpec,
    workflow_id: str | None,
    function_id: int | None,
    codec: Codec | None,
    look_first: bool = True,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> Generator[Any, Any, Attempt]:
    """Run the transaction, retrying serialization conflicts up to the budget; with a
    `workflow_id`, write the checkpoint row in the same transaction, and, if `look_first`
    (an earlier execution of the workflow may have committed it), look for it first. Without
    the look, a row committed meanwhile by another execution still conflicts with this one's
    insert: the transaction rolls back and the next attempt looks. `on_retry(failures, error,
    wait_s)` is told of each conflict that is retried."""
    failures = 0
    wait = _FIRST_WAIT_S
    while True:
        session = spec.make_session()
        token = current_session.set((spec.owner, session))
        try:
            options = (
                {} if spec.isolation_level is None else {"isolation_level": spec.isolation_level}
            )
            conn = yield CallBody(session.connection, (), {"execution_options": options})
            if workflow_id is not None and look_first:
                table = spec.table
                query = sa.select(table.c.output, table.c.error).where(
                    table.c.workflow_id == workflow_id, table.c.step_id == function_id
                )
                result = yield CallBody(conn.execute, (query,), {})
                row = result.first()
                if row is not None:
                    yield CallBody(session.rollback, (), {})
                    return Found(row[0], row[1])
            value = yield CallBody(spec.function, spec.args, spec.kwargs)
            output = None
            if workflow_id is not None:
                assert codec is not None
                # Flushed first, so that the recorded value holds generated keys and defaults.
                yield CallBody(session.flush, (), {})
                output = codec.encode_value(value, f"the return value of transaction {spec.name!r}")
                values = {
                    "workflow_id": workflow_id,
                    "step_id": function_id,
                    "output": output,
                    "error": None,
                    "serialization": None,
                    "created_at": now_ms(),
                }
                inserted = yield CallBody(
                    conn.execute, (_insert(spec.table, conn.dialect.name, values),), {}
                )
                if inserted.first() is None:
                    raise _AlreadyRecorded
            yield CallBody(session.commit, (), {})
            return Committed(value, output)
        except _AlreadyRecorded:
            yield CallBody(session.rollback, (), {})
            look_first = True
            continue  # the next attempt finds the row
        except Exception as exc:
            yield CallBody(session.rollback, (), {})
            if not spec.is_conflict(exc):
                return Failed(exc)
            failures += 1
            if failures >= spec.max_attempts:
                return Failed(DBOSTransactionRetriesExceeded(spec.name, failures, str(exc)))
            if on_retry is not None:
                on_retry(failures, exc, wait)
            yield Sleep(wait)
            wait = min(wait * _BACKOFF, _MAX_WAIT_S)
        finally:
            current_session.reset(token)
            yield CallBody(session.close, (), {})


def transaction_procedure(spec: TransactionSpec) -> Procedure[Any]:
    """Run a transaction function: a recorded operation inside a workflow; a plain database
    transaction outside one, or inside a step (as in DBOS Transact 3.4, it is then part of
    the step, made again if the step runs again)."""
    context = current_workflow()
    if context is None or current_step() is not None:
        outcome = yield from attempt(spec, None, None, None)
        if isinstance(outcome, Failed):
            raise outcome.error
        assert isinstance(outcome, Committed)
        return outcome.value
    registry.note_use(context.workflow_id, spec.owner)
    recorder = context.recorder
    ran: list[tuple[StepRecord, Attempt]] = []

    def run(function_ids: list[int]) -> Generator[Any, Any, Produced]:
        function_id = function_ids[0]
        recorder.hooks.before_step(context.workflow_id, function_id, spec.name)
        started = now_ms()
        # A first execution cannot find a checkpoint row of its own: it skips the look (one
        # round trip of the application database per transaction).
        outcome = yield from attempt(
            spec,
            context.workflow_id,
            function_id,
            recorder.codec,
            look_first=not context.first_execution,
            on_retry=lambda failures, exc, wait: recorder.hooks.step_retry(
                context.workflow_id, function_id, spec.name, failures, exc, wait
            ),
        )
        if isinstance(outcome, Failed):
            error: str | None = recorder.codec.encode_error(
                outcome.error,
                f"transaction {spec.name!r} of workflow {context.workflow_id!r}",
            )
            output = None
        else:
            output, error = outcome.output, (outcome.error if isinstance(outcome, Found) else None)
        record = StepRecord(
            context.workflow_id, function_id, spec.name, output, error, started, now_ms()
        )
        ran.append((record, outcome))
        return Produced(record)

    # Kind "transaction": listed and traced as a step, as DBOS Transact 3.4 runs it.
    stored = yield from recorded_operation(context, spec.name, run, kind="transaction")
    if ran and stored is ran[0][0]:
        outcome = ran[0][1]
        if isinstance(outcome, Committed):
            return outcome.value
        if isinstance(outcome, Failed):
            raise outcome.error
    return recorder.replay_result(stored)


def session_of(owner: object, kind: str) -> Any:
    """The session of `owner`'s transaction running here.

    Raises:
        DBOSException: no transaction of this datasource runs in this thread or task.
    """
    found = current_session.get()
    if found is None or found[0] is not owner:
        raise DBOSException(
            f"sql_session() is only available inside a transaction function of this "
            f"{kind} (one decorated with its @transaction)"
        )
    return found[1]
