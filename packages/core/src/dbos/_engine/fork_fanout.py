"""Sending to forks (DBOS Transact 3.4's ``send_to_forks=True`` on `send` and `send_bulk`):
a message also goes to every workflow forked from its destination, recursively (forks of
forks too), as they exist when the message is sent.

The forks are found through the stored `forked_from` links (one listing per generation of
forks), then each message is copied once per fork, with a message ID derived from the
original's (``<message ID>::<fork ID>``), so that a copy is as idempotent as the original:
inside a workflow the IDs are the operation's own, and a send that is retried after a crash
stores each copy once. An idempotency key is kept per destination, so one key reaches every
fork once. Ours: the forks are read just before the messages are written, in a transaction of
their own (DBOS Transact reads them in the sending transaction); a fork created in between
gets no copy, as if it had been created just after the send.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..storage._records import Message, WorkflowQuery

if TYPE_CHECKING:
    from ..storage._protocol import SystemStorage


def check_send_to_forks(send_to_forks: object, call: str) -> bool:
    """`send_to_forks` if it is a bool.

    Raises:
        DBOSException: anything else (a truthy string is not taken as True).
    """
    if not isinstance(send_to_forks, bool):
        from .._base.errors import DBOSException

        raise DBOSException(f"{call}: send_to_forks must be True or False, got {send_to_forks!r}")
    return send_to_forks


def fork_descendants(storage: SystemStorage, roots: Iterable[str]) -> dict[str, list[str]]:
    """Every workflow forked from each of `roots`, recursively (a root itself excluded), as
    ``{root: [fork IDs, sorted]}``; a root with no forks maps to an empty list. One listing
    per generation of forks, all roots together."""
    children: dict[str, list[str]] = {}
    wanted = list(dict.fromkeys(roots))
    seen = set(wanted)
    frontier = wanted
    while frontier:
        query = WorkflowQuery(forked_from=tuple(frontier), load_inputs=False, load_output=False)
        frontier = []
        for row in storage.list_workflows(query):
            if row.forked_from is None:
                continue
            children.setdefault(row.forked_from, []).append(row.workflow_id)
            if row.workflow_id not in seen:
                seen.add(row.workflow_id)
                frontier.append(row.workflow_id)
    found: dict[str, list[str]] = {}
    for root in wanted:
        descendants: set[str] = set()
        stack = list(children.get(root, ()))
        while stack:
            node = stack.pop()
            if node != root and node not in descendants:
                descendants.add(node)
                stack.extend(children.get(node, ()))
        found[root] = sorted(descendants)
    return found


def with_fork_copies(storage: SystemStorage, messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """`messages`, each followed by its copies for the forks of its destination (see the
    module's text for the copies' IDs)."""
    forks = fork_descendants(storage, (m.destination_id for m in messages))
    expanded: list[Message] = []
    for message in messages:
        expanded.append(message)
        for fork_id in forks.get(message.destination_id, ()):
            copy_id = f"{message.message_id}::{fork_id}"
            expanded.append(replace(message, message_id=copy_id, destination_id=fork_id))
    return tuple(expanded)
