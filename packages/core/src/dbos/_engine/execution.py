"""What the engine keeps about one execution in this process: the `ActiveWorkflow` that local
waiters share, where an enqueued workflow waits (`QueuePlacement`), what starting decided
(`Started`), and the event loop thread for async workflows started from sync code."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .._base.errors import DBOSException
from ..storage._records import NewWorkflow, WorkflowStatusString
from .classes import Target
from .context import (
    NEXT_ATTRIBUTES,
    NEXT_SHARD_KEY,
    NO_TIMEOUT,
    assigned_timeout,
    firing_schedule_id,
    firing_schedule_name,
    with_trace_carrier,
)
from .outcome import Outcome, now_ms
from .registry import WorkflowRegistration
from .roles import NO_IDENTITY, Identity, current_identity, encode_roles, pick_role
from .slots import QueueSlot

if TYPE_CHECKING:
    from .context import WorkflowContext

logger = logging.getLogger("dbos")

#: How long `DBOS.destroy()` lets the tasks left on the engine's event loop unwind, and then
#: its suspended async generators close, in seconds (each).
_WIND_DOWN_S = 2.0


class ActiveWorkflow:
    """A workflow executing (or about to) in this process.

    `run` is claimed exactly once: by the background worker it was submitted to, or by a
    thread that waits for the result before that worker got to it (which then runs it inline
    instead of blocking a pool thread on another).
    """

    def __init__(self, workflow_id: str) -> None:
        self.workflow_id = workflow_id
        self.future: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
        #: The queue slot this execution holds, if it is a queued task (see `slots`).
        self.slot: QueueSlot | None = None
        #: The body has ended and its outcome is being recorded: a settle of this workflow
        #: heard now is that finish's own, and `future` follows (see `local_wait`).
        self.finishing = False
        #: The event loop an async body runs on (None: a sync body, on a pool thread). A
        #: blocking wait for it from that loop's own thread could never end (`OffLoop`).
        self.loop: asyncio.AbstractEventLoop | None = None
        self._run: Callable[[], Outcome] | None = None
        self._lock = threading.Lock()

    def set_run(self, run: Callable[[], Outcome]) -> None:
        with self._lock:
            self._run = run

    def claim(self) -> Callable[[], Outcome] | None:
        with self._lock:
            run, self._run = self._run, None
            return run

    def then(self, follow: Callable[[], object], failed: Callable[[], None]) -> None:
        """Call `follow` once this execution has settled (at once if it has), in the thread
        that settles it; if `follow` raises, log it and call `failed`."""

        def settled(_: object) -> None:
            try:
                follow()
            except Exception:
                failed()
                logger.exception("a follow-up of workflow %s failed", self.workflow_id)

        self.future.add_done_callback(settled)


@dataclass(frozen=True)
class QueuePlacement:
    """Where and how an enqueued workflow waits for a worker."""

    queue_name: str
    priority: int = 0
    deduplication_id: str | None = None
    delay_until_ms: int | None = None
    application_version: str | None = None
    partition_key: str | None = None
    #: What a refused duplicate does (`starting.DUPLICATION_POLICIES`); None: the default.
    duplication_policy: str | None = None
    #: The serialization marker for this start (an enqueue's ``serialization_type``); None:
    #: the workflow's own (`WorkflowRegistration.serialization`).
    serialization: str | None = None


def start_serialization(
    registration: WorkflowRegistration, placement: QueuePlacement | None
) -> str | None:
    """The serialization marker a start stores: the enqueue's, else the workflow's."""
    if placement is not None and placement.serialization is not None:
        return placement.serialization
    return registration.serialization


@dataclass(frozen=True)
class Started:
    """The result of starting a workflow: run it here (`fresh` or not), or wait for it."""

    workflow_id: str
    active: ActiveWorkflow | None
    registration: WorkflowRegistration
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    must_run: bool
    fresh: bool = True
    #: The queue slot of a claimed or recovered queued task, released if it does not run.
    slot: QueueSlot | None = None
    deadline_ms: int | None = None
    #: The row's serialization marker: the format its outcome is stored in.
    serialization: str | None = None
    #: The identity it runs as (its stored one).
    identity: Identity = NO_IDENTITY
    #: Its row's `first_function_id`: where its operation numbering starts.
    first_function_id: int = 1
    #: An enqueued task this process stored already claimed and runs (`take_local_slot`).
    claimed_here: bool = False
    #: No earlier execution can have done anything, anywhere (`WorkflowContext.
    #: first_execution`): only a workflow this process has just created. A claimed or
    #: recovered row without recorded operations may have run before (a crash that left only
    #: a datasource transaction's checkpoint, in the application database).
    first_execution: bool = True
    #: Storage said the row has no recorded operation (`WorkflowRow.has_operations` False):
    #: the execution skips loading them, whether or not it is `fresh`.
    nothing_recorded: bool = False


class LoopThread:
    """An event loop in a daemon thread, for async workflows started from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="dbos-async-workflows", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.loop.run_forever()
        finally:
            self._wind_down()

    def _wind_down(self) -> None:
        """After the loop stops: let cancelled tasks unwind, then close the async generators
        still suspended on it, so that their ``finally`` blocks and ``async with`` exits run
        now rather than at garbage collection or never (as DBOS Transact does), and close the
        loop."""
        loop = self.loop
        try:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=_WIND_DOWN_S))
            loop.run_until_complete(
                asyncio.wait_for(loop.shutdown_asyncgens(), timeout=_WIND_DOWN_S)
            )
        except Exception:  # an async generator that will not close must not block shutdown
            logger.warning("could not close every async generator of DBOS's event loop")
        finally:
            loop.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5 + 2 * _WIND_DOWN_S)


def new_workflow_record(
    start: tuple[
        str, WorkflowRegistration, str, WorkflowContext | None, QueuePlacement | None, Target
    ],
    executor_id: str,
    application_version: str,
    instance_id: str,
    application_name: str | None = None,
) -> NewWorkflow:
    """The row a start creates: ``start`` is (workflow ID, registration, encoded inputs,
    parent, queue placement or None, the method's target), the rest who starts it (the
    application's name is stored as the workflow's `application_name`). A timeout
    set for the start wins over the parent's deadline, which a child inherits otherwise.

    The workflow runs as the caller's identity (`roles`); it assumes the first role it
    requires that the identity holds, else the role the caller assumed (DBOS semantics: a
    child inherits it)."""
    workflow_id, registration, inputs, parent, placement, target = start
    shard_key = NEXT_SHARD_KEY.get()
    if shard_key is not None:
        raise DBOSException(
            f"SetShardKey: shard_key is not supported (there is no sharding), got {shard_key!r}"
            f"; workflow {workflow_id!r} was not started"
        )
    serialization = start_serialization(registration, placement)
    identity = current_identity()
    role = pick_role(registration.roles.required(), identity.roles)
    fields: dict[str, Any] = {
        "workflow_id": workflow_id,
        "name": registration.name,
        "inputs": inputs,
        "serialization": serialization,
        "executor_id": executor_id,
        "application_version": application_version,
        "created_at_ms": now_ms(),
        "max_recovery_attempts": registration.max_recovery_attempts,
        "parent_workflow_id": parent.workflow_id if parent else None,
        "owner_instance": instance_id,
        "class_name": target.class_name,
        "config_name": target.config_name,
        "schedule_name": firing_schedule_name(),
        "schedule_id": firing_schedule_id(),
        "attributes": with_trace_carrier(NEXT_ATTRIBUTES.get()),
        "authenticated_user": identity.user,
        "authenticated_roles": encode_roles(identity.roles),
        "assumed_role": role if role is not None else identity.assumed_role,
        "application_name": application_name,
    }
    timeout = assigned_timeout()
    if timeout == NO_TIMEOUT:
        pass  # SetWorkflowTimeout(None): neither a timeout nor the parent's deadline
    elif timeout is not None:
        fields["timeout_ms"] = int(timeout * 1000)
        # From the row's own creation time: a second clock read could differ by a
        # millisecond, and the deadline is documented as creation + timeout.
        fields["deadline_ms"] = fields["created_at_ms"] + fields["timeout_ms"]
    elif parent is not None and parent.deadline_ms is not None:
        fields["deadline_ms"] = parent.deadline_ms
    if placement is not None:
        # An enqueued task belongs to no executor until a worker claims it.
        fields.update(
            executor_id=None,
            owner_instance=None,
            application_version=placement.application_version or application_version,
            status=WorkflowStatusString.ENQUEUED.value,
            queue_name=placement.queue_name,
            priority=placement.priority,
            deduplication_id=placement.deduplication_id,
            delay_until_ms=placement.delay_until_ms,
            queue_partition_key=placement.partition_key,
        )
    # Built once: `replace` of this many-field record cost about 15 us a call on the hot path.
    return NewWorkflow(**fields)


def claimed_by(
    workflow: NewWorkflow, executor_id: str, application_version: str, instance_id: str
) -> NewWorkflow:
    """An enqueued task's row as stored already claimed by this process (see
    `QueueWorker.take_local_slot`): PENDING for this executor and instance, as a claim leaves
    it (storage sets its `started_at_ms` to its creation time)."""
    return replace(
        workflow,
        status=WorkflowStatusString.PENDING.value,
        executor_id=executor_id,
        owner_instance=instance_id,
        application_version=application_version,
    )
