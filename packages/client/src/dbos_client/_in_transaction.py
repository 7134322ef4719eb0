"""Enqueue and send inside a transaction the application owns (DBOS Transact 3.4's
`DBOSClient.enqueue_in_transaction`, `send_in_transaction` and `send_bulk_in_transaction`):
the statements run on the caller's SQLAlchemy connection or session, on a Postgres database
that is also the system database, so the app's own writes and the durable work commit
together or not at all.

They call the system schema's SQL functions (``enqueue_workflow``, ``send_message``), so
arguments and messages travel as portable JSON (any JSON value)."""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

from dbos import DBOSException
from dbos.management import EnqueueOptions, SendMessage, check_workflow_id
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
        "class_name",
        "instance_name",
        "serialization_type",
        "duplication_policy",
    }
)


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
    conn_or_session: Any, schema: str, options: EnqueueOptions, args: Any, kwargs: Any
) -> str:
    """Enqueue on `conn_or_session`, in its transaction; returns the workflow ID.

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
    fmt = options.get("serialization_type")
    if fmt is not None and getattr(fmt, "value", fmt) not in ("portable", "default"):
        raise DBOSException(
            "enqueue_in_transaction writes the arguments as portable JSON; "
            f"serialization_type {fmt!r} is not supported here"
        )
    for key in ("workflow_name", "queue_name"):
        if not isinstance(options.get(key), str) or not options.get(key):
            raise DBOSException(
                f"enqueue_in_transaction needs options[{key!r}], a non-empty string"
            )
    workflow_id = options.get("workflow_id") or str(uuid.uuid4())
    timeout = options.get("workflow_timeout")
    delay = options.get("delay_seconds")
    for value, what in ((timeout, "workflow_timeout"), (delay, "delay_seconds")):
        if value is not None and (
            not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0
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
        "priority": options.get("priority"),
        "delay_until_epoch_ms": None if not delay else int((time.time() + delay) * 1000),
    }
    stored = conn_or_session.execute(_statement(conn_or_session, "enqueue", schema), params)
    return str(stored.scalar_one())


def _send_params(
    destination_id: str, message: Any, topic: str | None, idempotency_key: str | None
) -> dict[str, Any]:
    return {
        "destination_id": check_workflow_id(destination_id, "the destination ID"),
        "message": _json(message, "the message"),
        "topic": topic,
        "message_id": idempotency_key,
    }


def send_in(
    conn_or_session: Any,
    schema: str,
    destination_id: str,
    message: Any,
    topic: str | None,
    idempotency_key: str | None,
) -> None:
    """Send on `conn_or_session`, in its transaction.

    Raises:
        DBOSException: a blank destination ID or one that is not valid text, a message that
            is not JSON, or a connection that is not Postgres.
    """
    params = _send_params(destination_id, message, topic, idempotency_key)
    conn_or_session.execute(_statement(conn_or_session, "send", schema), params)


def send_bulk_in(conn_or_session: Any, schema: str, messages: Any) -> None:
    """Send every message of `messages` (`SendMessage` items) on `conn_or_session`, in its
    transaction. All are checked before the first is written, so bad input leaves the
    caller's transaction untouched.

    Raises:
        DBOSException: `messages` is not a list of `SendMessage`, or one of them would be
            refused by `send_in`; or a connection that is not Postgres.
    """
    if not isinstance(messages, (list, tuple)) or not all(
        isinstance(m, SendMessage) for m in messages
    ):
        raise DBOSException(
            f"send_bulk_in_transaction needs a list of SendMessage, got {messages!r}"
        )
    params = [
        _send_params(m.destination_id, m.message, m.topic, m.idempotency_key) for m in messages
    ]
    statement = _statement(conn_or_session, "send", schema)
    if params:
        # One executemany: the driver sends the calls together, not one round trip each.
        conn_or_session.execute(statement, params)
