"""The engine: starts, runs and recovers workflows against a `SystemStorage`.

Procedures are generators (see `_effects`): the same code runs sync and async workflows.
One `ActiveWorkflow` per workflow executing in this process makes concurrent starts of one ID
in this process share a single execution; across processes, `create_workflow` decides.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .._base.errors import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSConnectionError,
    DBOSNonExistentWorkflowError,
    DBOSSerializationError,
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
    DBOSWorkflowIDInUseError,
)
from .._base.ids import check_workflow_id
from .._base.portable import codec_for, default_serialization
from .._base.serialization import Codec
from ..plugins._hooks import Hooks
from ..storage._protocol import SystemStorage
from ..storage._records import (
    FinishedAndClaimed,
    StepRecord,
    WorkflowOutcome,
    WorkflowRow,
    WorkflowStatusString,
)
from ..storage._waiting import Wakeups
from .arguments import pending_call
from .awaiting import awaited_outcome
from .background import BackgroundPort, stop_at_exit
from .classes import target_of
from .context import (
    WorkflowContext,
    assigned_workflow_id,
    enter_workflow,
    firing_schedule,
    leave_workflow,
    take_assigned_start,
)
from .effects import Blocking, CallBody, Procedure, Sleep, run_async, run_sync
from .engine_log import log_left_pending, log_outcome, log_recovery, log_stopped, log_taken_over
from .enqueueing import Enqueuer
from .execution import (
    ActiveWorkflow,
    LoopThread,
    QueuePlacement,
    Started,
    new_workflow_record,
    start_serialization,
)
from .liveness import DEFAULT_LEASE_S, TAKEOVER_BATCH, Liveness, WorkflowTakenOver
from .observed import observed
from .operations import Recorder
from .outage import ride_out_outages
from .outcome import NOT_RUN_HERE, Outcome, now_ms, outcome_from_row
from .queue_worker import QueueWorker
from .recovered import sort_recovered, still_claimed_by
from .registry import WorkflowRegistration
from .roles import authorize_body, check_roles, current_identity, identity_of
from .scheduler import Scheduler
from .slots import QueueSlot
from .starting import REJECT, create, start_place
from .starts import record_child
from .successors import run_claimed, successors_here
from .waiting import local_or_stored_outcome

logger = logging.getLogger("dbos")

#: Pauses before a workflow body that a connection error reached runs again (doubling).
_RERUN_FIRST_PAUSE_S = 1.0
_RERUN_MAX_PAUSE_S = 30.0
#: How many recently finished executions the engine remembers (see `Engine._run_task`).
_FINISHED_MEMORY = 10_000

_SUCCESS = WorkflowStatusString.SUCCESS.value
_ERROR = WorkflowStatusString.ERROR.value
_CANCELLED = WorkflowStatusString.CANCELLED.value
_PENDING = WorkflowStatusString.PENDING.value
_EXCEEDED = WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value


class Engine:
    """Runs workflows for one launched `DBOS` instance."""

    def __init__(
        self,
        storage: SystemStorage,
        hooks: Hooks,
        codec: Codec,
        executor_id: str,
        application_version: str,
        max_threads: int,
        lease_s: float = DEFAULT_LEASE_S,
        notification_poll_s: float = 1.0,
        application_name: str | None = None,
    ) -> None:
        self.storage = storage
        #: The app's configured name, stored on the workflows it creates (`application_name`).
        self.application_name = application_name
        self.hooks = hooks
        self.codec = codec
        self._default_format = default_serialization(codec)
        self.executor_id = executor_id
        self.application_version = application_version
        #: This launch's process instance: owns the workflows this engine runs (`liveness`).
        self.instance_id = str(uuid.uuid4())
        self._active: dict[str, ActiveWorkflow] = {}
        # The workflows whose execution here ended recently: a claim of one of them may be a
        # report of a claim that already ran (a retried claim finds what a lost reply took;
        # see `_resilient`), so storage is asked whether it still waits for this process.
        self._finished_recently: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_threads, thread_name_prefix="dbos-workflow"
        )
        self._loop_thread: LoopThread | None = None
        self._tasks: set[asyncio.Task[Outcome]] = set()
        self._closed = False
        self._background_failed = False
        port = BackgroundPort(
            storage, executor_id, application_version, self.instance_id, self.background_failed
        )
        self.queue_worker = QueueWorker(port, self._run_task)
        storage.on_queue_activity(self.queue_worker.notice)
        storage.on_queue_settings(self.queue_worker.settings_notice)
        self.wakeups = Wakeups(max_poll_s=notification_poll_s)
        storage.on_wakeup(self.wakeups.notify)
        self.recorder = Recorder(storage, codec, hooks, self.wakeups, self.instance_id)
        self.scheduler = Scheduler(port, self._start_scheduled)
        self.liveness = Liveness(port, lease_s, self._run_recovered)
        self._identity = (executor_id, application_version, self.instance_id)
        self._enqueuer = Enqueuer(
            self.recorder, self.queue_worker, self._identity, self._run_new_task
        )

    def start_background(self) -> None:
        """Start the background services (heartbeat and takeovers, queue worker, scheduler)
        after recovery, and have them stopped when the interpreter exits (see
        `stop_at_exit`)."""
        stop_at_exit(self)
        self.liveness.start()
        self.queue_worker.start()
        self.scheduler.start()

    def background_failed(self, service: str, error: BaseException) -> bool:
        """Whether `error`, met by a background service, is fatal (`DBOSStorageError.fatal`):
        then it is logged once at ERROR and every background service stops, and `service`
        must end its loop. Other errors are the service's to report and retry."""
        if not getattr(error, "fatal", False):
            return False
        with self._lock:
            first, self._background_failed = not self._background_failed, True
        if first:
            logger.error(
                "%s stopped: %s; queued tasks are no longer claimed and scheduled workflows "
                "no longer started by this process until it is restarted",
                service,
                error,
            )
        self.stop_background()
        return True

    def stop_background(self) -> None:
        """Stop claiming queued tasks, starting scheduled workflows and renewing this
        process's lease, which then expires (idempotent)."""
        self.queue_worker.stop()
        self.scheduler.stop()
        self.liveness.stop()

    def release_at_exit(self) -> None:
        """Give the lease up as the interpreter exits without `close` (`stop_at_exit`)."""
        if not self._closed:
            self.liveness.release()

    # --- starting ---------------------------------------------------------------------------

    def start(
        self,
        registration: WorkflowRegistration,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        placement: QueuePlacement | None = None,
    ) -> Procedure[Started]:
        """Create the workflow row (or find it) and decide who runs it. One round trip on a
        first start outside a workflow; a child start also records the parent's operation.
        With a `placement` the workflow is enqueued instead, for a queue worker to run. The
        ID reuse and duplication policies are applied as `starting` describes."""
        assigned, reuse = take_assigned_start()
        parent, workflow_id, child_of = start_place(self.codec, registration.name, assigned)
        # A method's instance (or class) is stored by name, not with the inputs.
        target = target_of(registration.name, registration.binding, args)
        serialization = start_serialization(registration, placement) or self._default_format
        inputs = codec_for(self.codec, serialization).encode_inputs(
            target.args, kwargs, registration.name, registration.function
        )
        new = new_workflow_record(
            (workflow_id, registration, inputs, parent, placement, target),
            *self._identity,
            self.application_name,
        )
        if new.serialization != serialization:  # the configured serializer is portable
            new = replace(new, serialization=serialization)
        self.hooks.workflow_prepared(workflow_id, registration.name, new.queue_name, new.attributes)
        if placement is not None:
            return (
                yield from self._enqueuer.enqueue(
                    new, registration, (args, kwargs), (reuse, placement), (parent, child_of)
                )
            )
        with self._lock:
            active = self._active.get(workflow_id)
            owner = active is None
            if active is None:
                active = self._active[workflow_id] = ActiveWorkflow(workflow_id)
        must_run = False
        try:
            if not owner and reuse == REJECT:
                raise DBOSWorkflowIDInUseError(workflow_id, _PENDING, registration.name)
            if owner:
                init = yield from create(self.recorder, new, (reuse, None), parent, child_of)
                if init.row.name != registration.name:
                    raise DBOSWorkflowConflictIDError(workflow_id, init.row.name, registration.name)
                must_run = init.created and placement is None
                if not must_run:
                    self._settle_not_run_here(active, init.row)
            if child_of is not None:
                yield from record_child(self.recorder, *child_of, registration.name, workflow_id)
        except BaseException as exc:
            if owner and not must_run:
                self._release(active, exc)
            raise
        return Started(
            workflow_id,
            active if (must_run or not owner) else None,
            registration,
            args,
            kwargs,
            must_run,
            deadline_ms=init.row.deadline_ms if owner else None,
            serialization=new.serialization,
            identity=identity_of(new),
        )

    def enqueue(
        self,
        registration: WorkflowRegistration,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        placement: QueuePlacement,
    ) -> Procedure[Started]:
        """`start` with a placement on a queue, then wake this process's worker for it."""
        started = yield from self.start(registration, args, kwargs, placement)
        if not started.claimed_here:
            self.work_enqueued(placement.queue_name)
        return started

    def work_enqueued(self, queue_name: str) -> None:
        """Something was just enqueued on `queue_name` (a task, a fork): look for it now."""
        self.queue_worker.wake(queue_name)

    def _settle_not_run_here(self, active: ActiveWorkflow, row: WorkflowRow | None) -> None:
        """This process does not run the workflow: hand local waiters the stored outcome, or
        tell them to wait on storage."""
        with self._lock:
            self._active.pop(active.workflow_id, None)
        active.future.set_result(
            outcome_from_row(self.codec, row)
            if row is not None and row.is_terminal
            else NOT_RUN_HERE
        )

    def _release(self, active: ActiveWorkflow, error: BaseException) -> None:
        with self._lock:
            if self._active.get(active.workflow_id) is active:
                del self._active[active.workflow_id]
        if not active.future.done():
            active.future.set_exception(error)

    # --- running ----------------------------------------------------------------------------

    def execute(self, started: Started, active: ActiveWorkflow) -> Procedure[Outcome]:
        """Run the body of the workflow `started` describes (its ID, registration, arguments,
        stored deadline, serialization, identity and numbering, and what is known of its
        history: `fresh`, `first_execution`, `nothing_recorded`), record its outcome, and
        resolve `active`'s local waiters.

        Its storage calls wait out outages of any length (`ride_out_outages`). A
        `DBOSConnectionError` that reaches the body anyway (from the app's own code, such as a
        `DBOSClient` call that gave up) is never recorded as its outcome: the body runs again
        from its checkpoints once the system database answers, as a recovery would."""
        workflow_id, registration, identity, fresh, first_execution = (
            started.workflow_id,
            started.registration,
            started.identity,
            started.fresh,
            started.first_execution,
        )
        try:
            who = (identity.user, identity.roles, identity.assumed_role)
            self.hooks.workflow_started(workflow_id, registration.name, not fresh, who)
            with ride_out_outages():
                recorded: dict[int, StepRecord] = {}
                if not fresh and not started.nothing_recorded:
                    steps: list[StepRecord] = yield Blocking(
                        self.storage.load_steps, (workflow_id,)
                    )
                    recorded = {step.function_id: step for step in steps}
                logger.debug(
                    "workflow %s (%s) %s",
                    workflow_id,
                    registration.name,
                    f"resumed with {len(recorded)} recorded operation(s)"
                    if not fresh
                    else "started",
                )
                rerun_pause = _RERUN_FIRST_PAUSE_S
                while True:
                    context = WorkflowContext(
                        self.recorder,
                        workflow_id,
                        registration.name,
                        recorded,
                        started.first_function_id,
                        deadline_ms=started.deadline_ms,
                        serialization=started.serialization,
                        identity=identity,
                        first_execution=first_execution,
                    )
                    ended = yield from self._run_body(
                        context, registration, started.args, started.kwargs
                    )
                    if not isinstance(ended, DBOSConnectionError):
                        break
                    logger.warning(
                        "workflow %s lost the system database (%s); that is not its outcome: "
                        "it runs again from its checkpoints in %.0f s",
                        workflow_id,
                        ended,
                        rerun_pause,
                    )
                    yield Sleep(rerun_pause)
                    fresh = first_execution = False  # the next run follows this one
                    rerun_pause = min(rerun_pause * 2, _RERUN_MAX_PAUSE_S)
                    steps = yield Blocking(self.storage.load_steps, (workflow_id,))
                    recorded = {step.function_id: step for step in steps}
                outcome, stored = ended
                final_status = yield from self._finish(stored, active)
                if final_status == _CANCELLED and self.instance_id is not None:
                    # Stopped: a rewind may now take it (SystemStorage.rewind_workflow).
                    release = self.storage.release_cancelled
                    yield Blocking(release, (workflow_id, self.instance_id))
            if final_status != outcome.status:
                # Someone (a cancel) settled the row first; waiters see what is stored.
                outcome = Outcome(workflow_id, final_status)
            self.hooks.workflow_finished(workflow_id, registration.name, outcome.status)
            log_outcome(workflow_id, registration.name, outcome)
        except WorkflowTakenOver as taken:
            # Like a shutdown: nothing recorded here; the new owner's outcome is in storage.
            log_taken_over(workflow_id, registration.name, taken.owner)
            self._settle_not_run_here(active, None)
            return NOT_RUN_HERE
        except BaseException as exc:
            # The process is going down (or a crash is being simulated): the row stays
            # PENDING, as after a real crash, and recovery will finish it.
            if self._closed:  # DBOS.destroy() while it ran: a shutdown, not a failure
                log_left_pending(workflow_id, registration.name)
            elif isinstance(exc, Exception):  # not a crash or an interrupt: a real failure
                log_stopped(workflow_id, registration.name, exc)
            self._release(active, exc)
            raise
        with self._lock:
            self._active.pop(workflow_id, None)
            self._finished_recently[workflow_id] = None
            self._finished_recently.move_to_end(workflow_id)
            if len(self._finished_recently) > _FINISHED_MEMORY:
                self._finished_recently.popitem(last=False)
        active.future.set_result(outcome)
        return outcome

    def _run_body(
        self,
        context: WorkflowContext,
        registration: WorkflowRegistration,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Procedure[tuple[Outcome, WorkflowOutcome] | DBOSConnectionError]:
        """Run the body once: its outcome and what to store, or the connection error that
        ended it (which is no outcome: see `execute`)."""
        workflow_id = context.workflow_id
        codec = codec_for(self.codec, context.serialization)
        # The outcome applies only while this instance owns the row (see WorkflowOutcome).
        owner = self.instance_id
        token = enter_workflow(context)
        try:
            authorize_body(registration.roles, registration.name)  # a refusal is its outcome
            value = yield CallBody(registration.function, args, kwargs)
        except DBOSConnectionError as exc:
            return exc
        except Exception as exc:
            # Only this workflow's own cancellation cancels it; a cancelled child it waited
            # on (DBOSAwaitedWorkflowCancelledError) is an ordinary error, as in DBOS Transact.
            if isinstance(exc, DBOSWorkflowCancelledError) and not isinstance(
                exc, DBOSAwaitedWorkflowCancelledError
            ):
                stored = WorkflowOutcome(workflow_id, _CANCELLED, None, None, now_ms(), owner)
                return Outcome(workflow_id, _CANCELLED, error=exc), stored
            where = f"workflow {workflow_id!r} ({registration.name})"
            stored = WorkflowOutcome(
                workflow_id, _ERROR, None, codec.encode_error(exc, where), now_ms(), owner
            )
            return Outcome(
                workflow_id, _ERROR, error=exc, as_stored=self._as_stored(codec, stored)
            ), stored
        finally:
            leave_workflow(token)
        try:
            output = codec.encode_value(
                value, f"the return value of workflow {registration.name!r} ({workflow_id})"
            )
        except DBOSSerializationError as error:  # the value cannot be stored: an error
            text = codec.encode_error(error)
            stored = WorkflowOutcome(workflow_id, _ERROR, None, text, now_ms(), owner)
            return Outcome(workflow_id, _ERROR, error=error), stored
        stored = WorkflowOutcome(workflow_id, _SUCCESS, output, None, now_ms(), owner)
        return Outcome(
            workflow_id, _SUCCESS, value=value, as_stored=self._as_stored(codec, stored)
        ), stored

    def _as_stored(self, codec: Codec, stored: WorkflowOutcome) -> Outcome | None:
        """`Outcome.as_stored` for an outcome stored by `codec` (None in the configured one)."""
        if codec is self.codec:
            return None
        if stored.error is not None:
            return Outcome(stored.workflow_id, _ERROR, error=codec.decode_error(stored.error))
        return Outcome(stored.workflow_id, _SUCCESS, value=codec.decode_value(stored.output))

    def _finish(self, stored: WorkflowOutcome, active: ActiveWorkflow) -> Procedure[str]:
        """Record the outcome. A queue task also claims the next task of its queue in the same
        round trip, where the queue allows, and passes its worker slot on to it."""
        active.finishing = True
        slot = active.slot
        request = None if slot is None else self.queue_worker.successor_claim(slot)
        if slot is None or request is None:
            status: str = yield Blocking(self.storage.finish_workflow, (stored,))
        else:
            finished: FinishedAndClaimed = yield Blocking(
                self.storage.finish_and_claim, (stored, request)
            )
            self.queue_worker.start_successors(slot, finished.claimed)
            status = finished.status
        if status == _PENDING:  # refused: another instance owns the row now
            raise WorkflowTakenOver(stored.workflow_id, "another instance")
        return status

    def call(
        self, registration: WorkflowRegistration, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Procedure[Outcome]:
        """A direct call of a workflow function: start it and run it in the caller, unless the
        caller's identity lacks the roles it requires (`DBOSNotAuthorizedError`, no row)."""
        check_roles(registration.roles, registration.name, current_identity())
        started = yield from self.start(registration, args, kwargs)
        return (yield from self.run_started_inline(started))

    # --- dispatch ---------------------------------------------------------------------------

    def run_started_inline(self, started: Started) -> Procedure[Outcome]:
        """Run (or wait for) a started workflow in the calling thread or task (from a
        workflow's body, a recorded wait: `awaiting`)."""
        return awaited_outcome(started.workflow_id, lambda: self._run_inline(started))

    def _run_inline(self, started: Started) -> Procedure[Outcome]:
        if started.must_run:
            assert started.active is not None
            outcome = yield from self._observed_execution(started, started.active)
            if outcome is not NOT_RUN_HERE:
                return outcome
            return (yield from self._wait(started.workflow_id, None))
        started_it = started.active is not None
        return (yield from self._wait(started.workflow_id, started.active, None, started_it))

    def _observed_execution(self, started: Started, active: ActiveWorkflow) -> Procedure[Outcome]:
        """`execute` for `started`, seen by the hooks that observe executions (`observed`)."""
        execution = self.execute(started, active)
        return observed(self.hooks, started.workflow_id, started.registration.name, execution)

    def dispatch(
        self, started: Started, *, successor: bool = False, on_running_loop: bool = False
    ) -> None:
        """Run a started workflow in the background if this process must run it: sync bodies
        on the thread pool, async bodies on the engine's own event loop, or, for a start
        awaited in a coroutine (`on_running_loop`: `start_workflow_async`), on that
        coroutine's loop (DBOS semantics both). A sync start from a coroutine must not put
        the body on the caller's loop: a blocking wait for its result there would hold the
        loop the body needs, forever (a user's trial).

        A `successor` (a task claimed by a finishing task of its queue) runs next on the pool
        thread that finishes, where there is one, instead of waiting for another thread.
        """
        active = started.active
        slot = started.slot
        if active is None or not started.must_run:
            if slot is not None:
                slot.release()
            return
        if slot is not None:
            active.slot = slot
            # Every way an execution ends completes its future: the one place to free it.
            active.future.add_done_callback(lambda _: slot.release())

        def procedure() -> Procedure[Outcome]:
            assert active is not None
            return self._observed_execution(started, active)

        if started.registration.is_async:
            coroutine = run_async(procedure())
            try:
                loop = asyncio.get_running_loop() if on_running_loop else None
            except RuntimeError:
                loop = None
            if loop is None:
                active.loop = self._background_loop()
                asyncio.run_coroutine_threadsafe(coroutine, active.loop)
                return
            active.loop = loop
            task = loop.create_task(coroutine)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return

        def run() -> Outcome:
            return run_sync(procedure())

        active.set_run(run)
        next_up = successors_here()
        if successor and next_up is not None:
            next_up.append(active)
        else:
            try:
                self._pool.submit(run_claimed, active)
            except RuntimeError:  # the pool is shut down: interpreter exit, or a close
                self._not_run(active)

    def _not_run(self, active: ActiveWorkflow) -> None:
        """A workflow claimed or started here that the pool can no longer run: it stays
        PENDING for this executor and is recovered at the next launch."""
        with self._lock:
            self._active.pop(active.workflow_id, None)
        active.claim()
        active.future.set_result(NOT_RUN_HERE)
        logger.info(
            "workflow %s was not started: this process is shutting down; it stays PENDING "
            "and is recovered at the next launch",
            active.workflow_id,
        )

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop_thread is None:
                self._loop_thread = LoopThread()
            return self._loop_thread.loop

    # --- waiting ----------------------------------------------------------------------------

    def wait(
        self,
        workflow_id: str,
        active: ActiveWorkflow | None,
        timeout_s: float | None = None,
        *,
        stored_form: bool = False,
    ) -> Procedure[Outcome]:
        """The outcome of a workflow: from this process's execution if it has one (`active`:
        the one its caller started), else from storage. The caller that started `active`
        gets the body's own value unless `stored_form` (an enqueue's handle: the value as a
        handle that reads it back gets it; DBOS semantics both). Raises TimeoutError if
        `timeout_s` passes first. Awaited inside a workflow, that workflow's cancel ends the
        wait (`interrupt`), and the wait is recorded (`awaiting`)."""
        started_it = active is not None and not stored_form
        return awaited_outcome(
            workflow_id, lambda: self._wait(workflow_id, active, timeout_s, started_it)
        )

    def _wait(
        self,
        workflow_id: str,
        active: ActiveWorkflow | None,
        timeout_s: float | None = None,
        started_it: bool = False,
    ) -> Procedure[Outcome]:
        """`wait`; `started_it`: the caller started `active` and gets the body's own value."""
        backing = (self.storage, self.codec, self.wakeups)
        return local_or_stored_outcome(
            workflow_id, active, self._running_here, backing, timeout_s, started_it
        )

    def _running_here(self, workflow_id: str) -> ActiveWorkflow | None:
        with self._lock:
            return self._active.get(workflow_id)

    # --- recovery ---------------------------------------------------------------------------

    def recover_pending(self) -> list[str]:
        """Renew this process's lease, then resume in the background this executor's PENDING
        workflows that no live process owns and take over any executor's whose owner's lease
        has expired; returns their IDs."""
        self.liveness.renew()
        self.liveness.check_latest()
        self.liveness.forget_gone_neighbours()
        rows = self.storage.recover_pending(
            self.executor_id, self.application_version, self.instance_id
        )
        recovered = self._run_recovered(rows)
        claimed = TAKEOVER_BATCH
        while claimed >= TAKEOVER_BATCH:
            claimed, taken = self.liveness.take_over_once()
            recovered += taken
        return recovered

    def _run_recovered(self, rows: list[WorkflowRow]) -> list[str]:
        """Run recovered (or taken over) rows in the background; returns their IDs, those
        of queued tasks that storage put back on their queue included (woken for here)."""
        runnable, requeued = sort_recovered(rows)
        prepared = [self._prepare_pending(row, fresh=False) for row in runnable]
        to_run = [started for started in prepared if started is not None]
        # Every recovered workflow is registered before any runs, so a recovered parent that
        # calls a recovered child finds it here instead of starting a second execution.
        for started in to_run:
            self.dispatch(started)
        log_recovery([started.workflow_id for started in to_run])
        for queue_name in {row.queue_name for row in requeued}:
            self.queue_worker.wake(queue_name)
        return [started.workflow_id for started in to_run] + [r.workflow_id for r in requeued]

    def resume(self, workflow_id: str) -> ActiveWorkflow | None:
        """Run a cancelled or failed workflow again from its last recorded step (or start an
        enqueued one now) in this process; returns its local execution, if it runs here."""
        check_workflow_id(workflow_id)
        result = self.storage.resume_workflow(
            workflow_id, self.executor_id, self.application_version, now_ms(), self.instance_id
        )
        if result is None:
            raise DBOSNonExistentWorkflowError(workflow_id)
        if not result.resumed:
            return None
        started = self._prepare_pending(result.row, fresh=False)
        if started is None:
            return None
        self.dispatch(started)
        return started.active

    def _run_new_task(
        self, row: WorkflowRow, slot: QueueSlot, successor: bool
    ) -> ActiveWorkflow | None:
        """`_run_task` for a task this process just created already claimed (the enqueue's
        fast path): nothing can have run it before, so it has no recorded operation."""
        return self._run_task(row, slot, successor, created_now=True)

    def _run_task(
        self, row: WorkflowRow, slot: QueueSlot, successor: bool, *, created_now: bool = False
    ) -> ActiveWorkflow | None:
        """Run a task a queue worker (or a finishing task, for a `successor`) just claimed
        (status PENDING, this executor), on the queue slot its claim took. Tasks of the
        task that ran before (a fork, or a rewind, resume or move that put it back on a
        queue: `WorkflowRow.has_operations`) replays its recorded steps; a new one has none,
        so it runs without reading any first."""
        with self._lock:
            ran_here = row.workflow_id in self._finished_recently
        if ran_here and not still_claimed_by(self.storage, row.workflow_id, self.instance_id):
            logger.debug("skipping stale claim of finished workflow %s", row.workflow_id)
            slot.release()
            return None
        # None (a backend that does not say) loads the steps, as a recovery does.
        held: list[ActiveWorkflow] = []
        started = self._prepare_pending(
            row,
            fresh=created_now or row.has_operations is False,
            slot=slot,
            first_execution=created_now,
            on_held=held.append,
        )
        if started is None:
            if held:
                # This process holds it already: a start of the same ID deciding whether to
                # run it (a parent replaying its child's start never runs a row that existed),
                # or its execution. Decide on the claim, on its slot, once that settles.
                retry = functools.partial(self._run_task, row, slot, False, created_now=created_now)
                held[0].then(retry, slot.release)
            else:
                slot.release()
            return None
        self.dispatch(started, successor=successor)
        return started.active if started.must_run else None

    def _start_scheduled(
        self,
        registration: WorkflowRegistration,
        args: tuple[Any, ...],
        workflow_id: str,
        schedule_id: str,
    ) -> None:
        """Start a scheduled workflow's tick (the scheduler's one call into the engine); its
        creation raises `ScheduleInactiveError` if schedule `schedule_id` is not active."""
        with assigned_workflow_id(workflow_id), firing_schedule(registration.name, schedule_id):
            started = run_sync(self.start(registration, args, {}))
        self.dispatch(started)

    def _prepare_pending(
        self,
        row: WorkflowRow,
        *,
        fresh: bool,
        slot: QueueSlot | None = None,
        first_execution: bool = False,
        on_held: Callable[[ActiveWorkflow], None] | None = None,
    ) -> Started | None:
        """What running a PENDING row here takes. A queued row runs on `slot` (its claim's)
        or, recovered or resumed, on a slot taken now. None if it cannot run here; where that
        is because this process holds the workflow already (a start or an execution of the
        same ID), `on_held` is told which. A row storage says has no recorded operation
        (`has_operations` False) loads none; `first_execution` only for a row this process
        has just created (see `Started`)."""
        call = pending_call(row, self.codec, self.storage)
        if call is None:
            return None
        registration, args, kwargs = call
        with self._lock:
            holder = self._active.get(row.workflow_id)
            if holder is None:
                active = self._active[row.workflow_id] = ActiveWorkflow(row.workflow_id)
        if holder is not None:
            if on_held is not None:
                on_held(holder)
            return None
        if slot is None and row.queue_name is not None:
            slot = self.queue_worker.slots.take(row.queue_name)
        self.hooks.workflow_prepared(row.workflow_id, row.name, row.queue_name, row.attributes)
        return Started(
            row.workflow_id,
            active,
            registration,
            args,
            kwargs,
            True,
            fresh=fresh,
            slot=slot,
            deadline_ms=row.deadline_ms,
            first_execution=first_execution,
            nothing_recorded=row.has_operations is False,
            serialization=row.serialization,
            identity=identity_of(row),
            first_function_id=row.first_function_id,
        )

    # --- shutdown ---------------------------------------------------------------------------

    def active_count(self) -> int:
        with self._lock:
            return len(self._active)

    def close(self, timeout_s: float) -> None:
        """Stop background work. Workflows still running stay PENDING: the lease is released,
        so live processes take them over at once (a later launch recovers them otherwise)."""
        if self._closed:
            return
        self._closed = True
        self.queue_worker.stop()
        self.scheduler.stop()
        if timeout_s > 0:
            # Still heartbeating: the workflows finishing now stay this process's.
            with self._lock:
                futures = [active.future for active in self._active.values()]
            concurrent.futures.wait(futures, timeout=timeout_s)
        self.liveness.stop()
        self.liveness.release()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for task in list(self._tasks):
            task.cancel()
        if self._loop_thread is not None:
            self._loop_thread.stop()
