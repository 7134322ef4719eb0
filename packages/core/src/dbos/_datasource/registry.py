"""The datasources of this process and the workflows that used them, without SQLAlchemy.

A datasource's checkpoint rows (one per transaction a workflow ran) are only needed until
the workflow's own step records cover them, that is until the workflow finishes: then they
are dropped (`WorkflowFinishedCleanup`, a plugin on the ``dbos_workflow_finished`` hook). A
rewind drops the rows of the steps it runs again, since a row left there would replay the
old result instead of running the transaction anew (`drop_for_rewind`)."""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Protocol

from .._base.errors import DBOSException, DBOSNonExistentWorkflowError
from .._base.hookmarks import hookimpl
from ..plugins._hooks import plugin_manager
from ..storage._protocol import SystemStorage
from ..storage._records import TERMINAL_STATUSES

logger = logging.getLogger("dbos")


class CheckpointOwner(Protocol):
    """What the registry needs of a datasource: dropping its checkpoint rows (blocking)."""

    def _drop_checkpoints(self, workflow_id: str, from_step: int) -> None: ...


_lock = threading.Lock()
_datasources: weakref.WeakSet[CheckpointOwner] = weakref.WeakSet()
#: workflow ID -> the datasources its current execution in this process used.
_used: dict[str, list[CheckpointOwner]] = {}
_plugin_registered = False


def register(datasource: CheckpointOwner) -> None:
    """Remember a new datasource, and make sure the cleanup plugin listens."""
    global _plugin_registered
    with _lock:
        _datasources.add(datasource)
        if not _plugin_registered:
            plugin_manager().register(WorkflowFinishedCleanup(), name="dbos-datasource-cleanup")
            _plugin_registered = True


def forget(datasource: CheckpointOwner | None = None) -> None:
    """Forget `datasource` (None: every datasource, as ``DBOS.destroy(destroy_registry=True)``
    does) and the workflows that used it."""
    with _lock:
        if datasource is None:
            _datasources.clear()
            _used.clear()
            return
        _datasources.discard(datasource)
        for used in _used.values():
            if datasource in used:
                used.remove(datasource)


def note_use(workflow_id: str, datasource: CheckpointOwner) -> None:
    """Record that a workflow's execution ran (or replayed) a transaction of `datasource`;
    noted on replay too, so a finish also drops rows an earlier execution left."""
    with _lock:
        used = _used.setdefault(workflow_id, [])
        if datasource not in used:
            used.append(datasource)


def datasources() -> list[CheckpointOwner]:
    """Every datasource of this process still alive."""
    with _lock:
        return list(_datasources)


class WorkflowFinishedCleanup:
    """Drops a finished workflow's checkpoint rows from the datasources it used. Best effort:
    a row left behind (a failure here, a crash just before) costs space, never correctness,
    since the workflow's step records answer every replay first."""

    @hookimpl
    def dbos_workflow_finished(self, workflow_id: str, name: str, status: str) -> None:
        with _lock:
            used = _used.pop(workflow_id, [])
        for datasource in used:
            try:
                datasource._drop_checkpoints(workflow_id, 0)
            except Exception as exc:
                logger.warning(
                    "could not drop the datasource checkpoints of workflow %s: %r",
                    workflow_id,
                    exc,
                )


def drop_for_rewind(storage: SystemStorage, workflow_id: str, start_step: int) -> None:
    """Before a rewind to `start_step`: drop every datasource's checkpoint rows of the
    workflow from that step on, so those transactions run again (DBOS Transact 3.4). Only a
    finished workflow's rows are touched; the rewind itself refuses the others.

    Raises:
        DBOSNonExistentWorkflowError: no workflow has this ID.
        DBOSException: the workflow is not in a terminal state.
    """
    found = datasources()
    if not found:
        return
    row = storage.get_workflow(workflow_id)
    if row is None:
        raise DBOSNonExistentWorkflowError(workflow_id)
    if row.status not in TERMINAL_STATUSES:
        raise DBOSException(
            f"Cannot rewind workflow {workflow_id!r} ({row.status}): only a workflow in a "
            "terminal state can be rewound, so cancel it first"
        )
    for datasource in found:
        datasource._drop_checkpoints(workflow_id, start_step)
