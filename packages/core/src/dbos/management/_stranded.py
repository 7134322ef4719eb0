"""Stranded work (issue 11, item 4; ours, not DBOS Transact's): PENDING and ENQUEUED
workflows whose application version no live process serves, counted by version, and moved
to a version that is served.

A rolling deploy stops the last process of an old version; whatever of that version is still
queued, or was running in a process that died, waits for a process of its version that may
never come back. Those workflows are *stranded*. `count_stranded` says how many per version;
`move_to_version` hands them to the processes of another version, which continue each from its
last recorded step. A workflow a live process runs is never moved, so none runs twice.
"""

from __future__ import annotations

from typing import TypedDict

from .._base.errors import DBOSException
from .._base.ids import check_workflow_id
from .._engine.effects import Blocking, Procedure
from .._engine.outcome import now_ms
from .._engine.queues import INTERNAL_QUEUE_NAME
from ..storage._protocol import SystemStorage
from ..storage._records import LeaseHolder, StrandedVersion


class StrandedCount(TypedDict):
    """Stranded workflows of one application version: the version (None: version-less
    queued workflows, which only the latest version's processes take), how many are PENDING
    (their process died) and ENQUEUED (never started), and when the oldest was created
    (epoch milliseconds)."""

    application_version: str | None
    pending: int
    enqueued: int
    oldest_created_at: int


def served_versions(storage: SystemStorage) -> Procedure[list[str]]:
    """The application versions that processes with an unexpired lease serve, sorted."""
    holders: list[LeaseHolder] = yield Blocking(storage.list_leases, ())
    return sorted({holder.application_version for holder in holders if holder.live})


def count_stranded(storage: SystemStorage) -> Procedure[list[StrandedCount]]:
    counts: list[StrandedVersion] = yield Blocking(storage.count_stranded_workflows, ())
    return [
        StrandedCount(
            application_version=count.application_version,
            pending=count.pending,
            enqueued=count.enqueued,
            oldest_created_at=count.oldest_created_at_ms,
        )
        for count in counts
    ]


def move_to_version(
    storage: SystemStorage, workflow_ids: object, application_version: object
) -> Procedure[list[str]]:
    if not isinstance(application_version, str) or not application_version:
        raise DBOSException(
            f"application_version must be a non-empty string, got {application_version!r}"
        )
    if isinstance(workflow_ids, str) or not isinstance(workflow_ids, list | tuple):
        raise DBOSException(f"workflow_ids must be a list of workflow IDs, got {workflow_ids!r}")
    ids = tuple(check_workflow_id(workflow_id) for workflow_id in workflow_ids)
    served = yield from served_versions(storage)
    if application_version not in served:
        # Moving onto a version nobody serves would only strand the workflows again.
        raise DBOSException(
            f"no live process serves application version {application_version!r}, so "
            "workflows moved there would stay stranded; versions served now: "
            + (", ".join(repr(version) for version in served) or "none")
        )
    if not ids:
        return []
    moved: list[str] = yield Blocking(
        storage.move_workflows, (ids, application_version, INTERNAL_QUEUE_NAME, now_ms())
    )
    return moved
