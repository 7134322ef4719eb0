"""Enqueue and send inside a transaction the application owns (DBOS Transact 3.4's
`DBOSClient.enqueue_in_transaction`, `send_in_transaction` and `send_bulk_in_transaction`):
the statements run on the caller's SQLAlchemy connection or session, on a Postgres database
that is also the system database, so the app's own writes and the durable work commit
together or not at all.

They call the system schema's SQL functions (``enqueue_workflow``, ``send_message``), so
arguments and messages travel as portable JSON (any JSON value). Everything that can be checked
without the database is checked before the first statement, so bad input leaves the caller's
transaction usable; what the database refuses (an active deduplication ID, an unknown
destination, a connection to another database) aborts the caller's transaction, as any failed
statement does, and is raised as the DBOS error naming it."""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dbos import (
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSQueueDeduplicatedError,
    DBOSWorkflowConflictIDError,
    WorkflowSerializationFormat,
)
from dbos.error import DBOSConflictingWorkflowError
from dbos.management import (
    EnqueueOptions,
    SendMessage,
    check_workflow_id,
    message_trace_carrier,
)
from dbos.storage import load_queries

_QUERIES = load_queries("dbos_client", "in_transaction.sql")
_SUPPORTED = frozenset(
    {
        "workflow_name",
        "queue_name",
        "workflow_id",
        "app_version",
        "workflow_timeout",
        "deduplication_id",
        "priority",
        "delay_seconds",
        "queue_partition_key",
        "class_name",
        "instance_name",
        "serialization_type",
        "duplication_policy",
    }
)


#: The formats accepted for `serialization_type`: what is written is portable JSON either way
#: (DEFAULT, DBOS Transact 3.4's default, is accepted so that code written for 3.4 runs).
_FORMATS = (None, WorkflowSerializationFormat.DEFAULT, WorkflowSerializationFormat.PORTABLE)


def check_format(fmt: object, where: str) -> None:
    """Raises `DBOSException` for a `serialization_type` other than None, DEFAULT or PORTABLE:
    this path writes portable JSON only."""
    if fmt not in _FORMATS and fmt != "portable":
        raise DBOSException(
            f"{where} writes portable JSON; serialization_type {fmt!r} is not supported here "
            "(use None, WorkflowSerializationFormat.DEFAULT or PORTABLE)"
        )


def check_send_options(where: str, send_to_forks: object, shard_key: object) -> bool:
    """`send_to_forks`, checked, after refusing a `shard_key` (DBOS Transact 3.4's sharding,
    which this library does not have).

    Raises:
        DBOSException: a `send_to_forks` that is not a bool, or a `shard_key`.
    """
    if not isinstance(send_to_forks, bool):
        raise DBOSException(f"{where}: send_to_forks must be True or False, got {send_to_forks!r}")
    if shard_key is not None:
        raise DBOSException(f"{where}: shard_key is not supported (there is no sharding)")
    return send_to_forks


def _with_fork_copies(
    conn_or_session: Any, schema: str, params: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`params`, each followed by a copy (with its own message ID) for every workflow forked
    from its destination, recursively, as the caller's transaction sees them."""
    statement = _statement(conn_or_session, "forks_of", schema)
    forks: dict[str, list[str]] = {}
    expanded: list[dict[str, Any]] = []
    for sent in params:
        root = sent["destination_id"]
        if root not in forks:
            rows = conn_or_session.execute(statement, {"root": root}).fetchall()
            forks[root] = [str(row[0]) for row in rows]
        expanded.append(sent)
        for fork_id in forks[root]:
            expanded.append({**sent, "destination_id": fork_id, "message_id": str(uuid.uuid4())})
    return expanded


@contextmanager
def _refusals(
    workflow_id: str | None = None,
    queue_name: str | None = None,
    deduplication_id: str | None = None,
    destination_id: str | None = None,
) -> Iterator[None]:
    """Raise what the database refused as the DBOS error naming it (chained to the driver's);
    the caller's transaction is aborted by then, as by any failed statement."""
    import sqlalchemy as sa

    try:
        yield
    except sa.exc.DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        if state == "23505" and "DBOS queue duplicated" in str(exc.orig):
            raise DBOSQueueDeduplicatedError(
                workflow_id or "", queue_name or "", deduplication_id or ""
            ) from exc
        if state == "23503" and destination_id is not None:
            raise DBOSNonExistentWorkflowError(_missing(exc.orig, destination_id)) from exc
        if state in ("3F000", "42883", "42P01"):
            raise DBOSException(
                "enqueue_in_transaction and send_in_transaction need a connection to the DBOS "
                "system database (which must also be the app's database), migrated by this "
                f"library; this one has no DBOS system schema or functions: {exc.orig}"
            ) from exc
        raise


def _missing(error: object, destinations: str) -> str:
    """The destination a foreign-key refusal names (send_message's detail, or the one of the
    message_keys insert), else `destinations`."""
    detail = str(getattr(getattr(error, "diag", None), "message_detail", None) or "")
    for pattern in (r"^Destination workflow (.*) does not exist$", r"\(destination_id\)=\((.*)\)"):
        found = re.search(pattern, detail)
        if found:
            return found.group(1)
    return destinations


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DBOSException(
            f"{what} must be a JSON value to be written inside a transaction (portable JSON): {exc}"
        ) from exc


def _statement(conn_or_session: Any, name: str, schema: str) -> Any:
    import sqlalchemy as sa

    bind = conn_or_session.get_bind() if hasattr(conn_or_session, "get_bind") else conn_or_session
    dialect = bind.dialect
    if dialect.name != "postgresql":
        raise DBOSException(
            f"enqueue_in_transaction and send_in_transaction need a Postgres connection to the "
            f"system database, got a {dialect.name} one"
        )
    quoted = dialect.identifier_preparer.quote(schema)
    return sa.text(_QUERIES[name].replace("{schema}", quoted))


def enqueue_in(
    conn_or_session: Any,
    schema: str,
    options: EnqueueOptions,
    args: Any,
    kwargs: Any,
    application_name: str | None = None,
) -> str:
    """Enqueue on `conn_or_session`, in its transaction, as application `application_name`
    (stored as the workflow's `WorkflowStatus.application_name`); returns the workflow ID.

    Raises:
        DBOSException: options this path cannot honour, arguments that are not JSON, or a
            connection that is not Postgres.
    """
    unknown = sorted(set(options) - _SUPPORTED)
    if unknown:
        raise DBOSException(
            f"enqueue_in_transaction does not support the option(s) {', '.join(unknown)}; "
            "use enqueue for them"
        )
    if options.get("duplication_policy", "reject") != "reject":
        raise DBOSException(
            "duplication_policy 'return-existing' is not supported by enqueue_in_transaction "
            "(a refused insert aborts the caller's transaction); use enqueue"
        )
    check_format(options.get("serialization_type"), "enqueue_in_transaction")
    for key in ("workflow_name", "queue_name"):
        if not isinstance(options.get(key), str) or not options.get(key):
            raise DBOSException(
                f"enqueue_in_transaction needs options[{key!r}], a non-empty string"
            )
    for key in ("queue_partition_key", "deduplication_id", "app_version", "class_name"):
        value = options.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise DBOSException(
                f"enqueue_in_transaction option {key!r} must be a non-empty string, got {value!r}"
            )
    if options.get("instance_name") is not None and options.get("class_name") is None:
        raise DBOSException(
            "enqueue_in_transaction option 'instance_name' needs 'class_name' too: a "
            "configured instance is found by its class's registered name and its config_name"
        )
    priority = options.get("priority")
    if priority is not None and (
        isinstance(priority, bool) or not isinstance(priority, int) or priority < 0
    ):
        raise DBOSException(
            f"enqueue_in_transaction option 'priority' must be an integer >= 0, got {priority!r}"
        )
    chosen_id = options.get("workflow_id")
    if chosen_id is not None:
        check_workflow_id(chosen_id, "enqueue_in_transaction option 'workflow_id'")
    workflow_id = chosen_id or str(uuid.uuid4())
    timeout = options.get("workflow_timeout")
    delay = options.get("delay_seconds")
    for value, what in ((timeout, "workflow_timeout"), (delay, "delay_seconds")):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise DBOSException(f"{what} must be a number of seconds >= 0, got {value!r}")
    params = {
        "workflow_name": options["workflow_name"],
        "queue_name": options["queue_name"],
        "positional_args": [_json(a, "each positional argument") for a in args],
        "named_args": _json(dict(kwargs), "the keyword arguments"),
        "class_name": options.get("class_name"),
        "config_name": options.get("instance_name"),
        "workflow_id": workflow_id,
        "app_version": options.get("app_version"),
        "timeout_ms": None if timeout is None else int(timeout * 1000),
        "deduplication_id": options.get("deduplication_id"),
        "priority": priority,
        "queue_partition_key": options.get("queue_partition_key"),
        "delay_until_epoch_ms": None if not delay else int((time.time() + delay) * 1000),
        "application_name": application_name,
    }
    statement = _statement(conn_or_session, "enqueue", schema)
    with _refusals(workflow_id, options["queue_name"], options.get("deduplication_id")):
        stored = str(conn_or_session.execute(statement, params).scalar_one())
    if chosen_id is not None:
        _check_taken_id(conn_or_session, schema, stored, params)
    return stored


def _check_taken_id(conn_or_session: Any, schema: str, workflow_id: str, params: Any) -> None:
    """After enqueueing under an ID the caller chose: raise if the ID belongs to another
    workflow (enqueue_workflow keeps the stored one and says nothing), as `enqueue` does.
    Nothing was written, and the caller's transaction stays usable."""
    row = conn_or_session.execute(
        _statement(conn_or_session, "enqueued_as", schema), {"workflow_id": workflow_id}
    ).one()
    if row.name != params["workflow_name"]:
        raise DBOSWorkflowConflictIDError(workflow_id, row.name, params["workflow_name"])
    stored = (row.class_name, row.config_name)
    if stored != (params["class_name"], params["config_name"]):
        raise DBOSConflictingWorkflowError(
            workflow_id,
            f"it is a workflow of class {row.class_name!r} and instance {row.config_name!r}, "
            f"not of class {params['class_name']!r} and instance {params['config_name']!r}",
        )


def _send_params(
    destination_id: str, message: Any, topic: str | None, idempotency_key: str | None
) -> dict[str, Any]:
    for value, what in ((topic, "topic"), (idempotency_key, "idempotency_key")):
        if value is not None and (not isinstance(value, str) or not value):
            raise DBOSException(
                f"a message's {what} must be a non-empty string or None, got {value!r}"
            )
    return {
        "destination_id": check_workflow_id(destination_id, "the destination ID"),
        "message": _json(message, "the message"),
        "topic": topic,
        "idempotency_key": idempotency_key,
        "message_id": str(uuid.uuid4()),
        "created_at": int(time.time() * 1000),
    }


def send_in(
    conn_or_session: Any,
    schema: str,
    destination_id: str,
    message: Any,
    topic: str | None,
    idempotency_key: str | None,
    to_forks: bool = False,
) -> None:
    """Send on `conn_or_session`, in its transaction; with an idempotency key, once per
    destination and key (as `DBOS.send`); with `to_forks`, also to every workflow forked
    from the destination, recursively (read in the same transaction).

    Raises:
        DBOSException: a blank destination ID or one that is not valid text, an empty topic
            or key, a message that is not JSON, or a connection that is not Postgres (all
            before any statement); a connection to another database than the system one.
        DBOSNonExistentWorkflowError: no workflow `destination_id` (the caller's transaction
            is aborted).
    """
    params = [_send_params(destination_id, message, topic, idempotency_key)]
    statement = _statement(conn_or_session, "send", schema)
    carrier = message_trace_carrier()
    if to_forks:
        params = _with_fork_copies(conn_or_session, schema, params)
    with _refusals(destination_id=destination_id):
        conn_or_session.execute(statement, params if len(params) > 1 else params[0])
    if carrier is not None:
        _trace_messages(conn_or_session, schema, params, carrier)


def _trace_messages(
    conn_or_session: Any, schema: str, sent: list[dict[str, Any]], carrier: str
) -> None:
    """Store the sender's trace context with the messages just sent (ours), in the same
    transaction: send_message (a SQL function shared with DBOS Transact's clients) stores
    none."""
    rows = [{"message_id": p["message_id"], "trace_carrier": carrier} for p in sent]
    conn_or_session.execute(_statement(conn_or_session, "trace_message", schema), rows)


def send_bulk_in(conn_or_session: Any, schema: str, messages: Any, to_forks: bool = False) -> None:
    """Send every message of `messages` (`SendMessage` items) on `conn_or_session`, in its
    transaction (with `to_forks`, as `send_in`). All are checked before the first is
    written, so bad input leaves the caller's transaction untouched.

    Raises:
        DBOSException: `messages` is not a list of `SendMessage`, one idempotency key given
            twice (as `send_bulk`), or one of them would be refused by `send_in`; or a
            connection that is not Postgres.
        DBOSNonExistentWorkflowError: a destination that does not exist (the caller's
            transaction is aborted).
    """
    if not isinstance(messages, (list, tuple)) or not all(
        isinstance(m, SendMessage) for m in messages
    ):
        raise DBOSException(
            f"send_bulk_in_transaction needs a list of SendMessage, got {messages!r}"
        )
    for m in messages:
        if m.shard_key is not None:
            raise DBOSException(
                "send_bulk_in_transaction: a SendMessage's shard_key is not supported (there "
                f"is no sharding), got {m.shard_key!r}"
            )
    keys = [m.idempotency_key for m in messages if m.idempotency_key is not None]
    repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
    if repeated:
        raise DBOSException(
            f"send_bulk_in_transaction received duplicate idempotency keys: {', '.join(repeated)}"
        )
    params = [
        _send_params(m.destination_id, m.message, m.topic, m.idempotency_key) for m in messages
    ]
    statement = _statement(conn_or_session, "send", schema)
    if params:
        carrier = message_trace_carrier()
        if to_forks:
            params = _with_fork_copies(conn_or_session, schema, params)
        # One executemany: the driver sends the calls together, not one round trip each.
        with _refusals(destination_id=", ".join(sorted({p["destination_id"] for p in params}))):
            conn_or_session.execute(statement, params)
        if carrier is not None:
            _trace_messages(conn_or_session, schema, params, carrier)
