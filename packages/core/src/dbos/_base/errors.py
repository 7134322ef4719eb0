"""The exception tree: one root, a branch for workflow errors and one for storage errors.

Configuration and usage mistakes (`DBOSConfigError`, `DBOSSerializationError`) hang directly
off the root: they are neither a workflow's failure nor the database's.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class DBOSErrorCode(Enum):
    """The numeric codes DBOS Transact 3.4 gives its error classes (`dbos_error_code`), same
    names and values, so that code comparing codes keeps working. This library's own error
    classes without a DBOS Transact counterpart have no code (None)."""

    ConflictingIDError = 1
    RecoveryError = 2
    InitializationError = 3
    WorkflowFunctionNotFound = 4
    NonExistentWorkflowError = 5
    MaxRecoveryAttemptsExceeded = 6
    MaxStepRetriesExceeded = 7
    NotAuthorized = 8
    ConflictingWorkflowError = 9
    WorkflowCancelled = 10
    UnexpectedStep = 11
    QueueDeduplicated = 12
    AwaitedWorkflowCancelled = 13
    AwaitedWorkflowMaxRecoveryAttemptsExceeded = 14
    PatchNondeterminism = 15
    StreamTimeout = 16
    StreamNondeterminism = 17
    StepTimeout = 18
    QueryTimeout = 26
    WorkflowIDInUse = 27
    StepNondeterminism = 28


class DBOSException(Exception):
    """Root of every error this library raises on its own account.

    Attributes:
        message: The error message (as in DBOS Transact).
        dbos_error_code: The class's `DBOSErrorCode` value (an int), None for classes DBOS
            Transact does not have; `DBOSException(message, code)` sets one explicitly.

    Errors are recorded in the database and read back elsewhere, so every subclass must
    survive pickling: one whose constructor takes other arguments than its message keeps them
    in `_reduce_args`, which `__reduce__` uses to rebuild it.
    """

    _reduce_args: tuple[object, ...] | None = None
    dbos_error_code: int | None = None

    def __init__(self, message: str = "", dbos_error_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if dbos_error_code is not None:
            self.dbos_error_code = dbos_error_code
            if self._reduce_args is None:
                self._reduce_args = (message, dbos_error_code)

    def __reduce__(self) -> str | tuple[Any, ...]:
        if self._reduce_args is None:
            return super().__reduce__()
        return (type(self), self._reduce_args)


class DBOSBaseException(BaseException):
    """DBOS Transact's root for errors that user code must not catch by accident (it derives
    from `BaseException`, so ``except Exception`` passes it by). This library raises none of
    its own under it; it is here for code that names it."""

    dbos_error_code: int | None = None

    def __init__(self, message: str = "", dbos_error_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.dbos_error_code = dbos_error_code

    def __reduce__(self) -> str | tuple[Any, ...]:
        return (type(self), (self.message, self.dbos_error_code))


# --- configuration and usage ---------------------------------------------------------------


class DBOSConfigError(DBOSException):
    """The configuration (or a database URL) is invalid; the message names the field."""

    dbos_error_code = DBOSErrorCode.InitializationError.value


#: DBOS Transact's name for configuration errors raised at launch.
DBOSInitializationError = DBOSConfigError


class DBOSSerializationError(DBOSException, TypeError):
    """A value cannot be serialized, or a stored value cannot (or may not) be read back.

    Also a `TypeError`: DBOS Transact 3.4 raises `TypeError` for a value it cannot serialize,
    so code written for it (``except TypeError``) catches this too."""


class DBOSConflictingRegistrationError(DBOSException):
    """Two workflows from different modules in different files were registered under one
    name (a duplicate from one module or file only warns, as in DBOS), two classes under one
    ``@DBOS.dbos_class`` name, or two configured instances of a class under one
    ``config_name``."""


class DBOSNotLaunchedError(DBOSException):
    """A call needs a launched DBOS instance and there is none."""


# --- workflow errors ------------------------------------------------------------------------


class DBOSWorkflowError(DBOSException):
    """Base of errors about a particular workflow."""


class DBOSNonExistentWorkflowError(DBOSWorkflowError):
    """No workflow with this ID exists.

    Attributes:
        workflow_id: The ID.
        destination_id: The same ID, under DBOS Transact's attribute name.
    """

    dbos_error_code = DBOSErrorCode.NonExistentWorkflowError.value

    def __init__(self, workflow_id: str) -> None:
        self._reduce_args = (workflow_id,)
        super().__init__(f"workflow {workflow_id!r} does not exist")
        self.workflow_id = workflow_id
        self.destination_id = workflow_id


class DBOSConflictingWorkflowError(DBOSWorkflowError):
    """Two different workflows were started under one workflow ID (DBOS Transact's class;
    this library raises its subclass `DBOSWorkflowConflictIDError`, so either name catches
    it)."""

    dbos_error_code = DBOSErrorCode.ConflictingWorkflowError.value

    def __init__(self, workflow_id: str, message: str | None = None) -> None:
        self._reduce_args = (workflow_id, message)
        super().__init__(f"conflicting workflows under one workflow ID {workflow_id!r}: {message}")
        self.workflow_id = workflow_id


class DBOSWorkflowConflictIDError(DBOSConflictingWorkflowError):
    """A workflow ID is already used by a workflow of another name.

    A `DBOSConflictingWorkflowError`, the class DBOS Transact raises for this (its own
    `DBOSWorkflowConflictIDError` means something else there: an execution that lost
    ownership of its workflow, which this library reports with an internal signal).
    """

    def __init__(self, workflow_id: str, existing_name: str, requested_name: str) -> None:
        self._reduce_args = (
            workflow_id,
            existing_name,
            requested_name,
        )
        DBOSWorkflowError.__init__(
            self,
            f"workflow ID {workflow_id!r} is already taken (by a workflow of {existing_name!r}); "
            "choose an unused ID"
            if existing_name == requested_name
            else f"workflow ID {workflow_id!r} already belongs to workflow {existing_name!r}; "
            f"it cannot be reused for {requested_name!r}",
        )
        self.workflow_id = workflow_id


class DBOSWorkflowIDInUseError(DBOSWorkflowError):
    """A start with ``workflow_id_reuse_policy="reject"`` found its workflow ID already used
    by a workflow in any status (DBOS Transact 3.4's error, with its attributes:
    `workflow_id`, `workflow_status` and `workflow_name`, the existing workflow's)."""

    def __init__(self, workflow_id: str, workflow_status: str, workflow_name: str) -> None:
        self._reduce_args = (workflow_id, workflow_status, workflow_name)
        super().__init__(
            f"workflow ID {workflow_id!r} is already in use by workflow {workflow_name!r} "
            f"(status {workflow_status}), and the start asked to reject a reused ID"
        )
        self.workflow_id = workflow_id
        self.workflow_status = workflow_status
        self.workflow_name = workflow_name


class DBOSWorkflowFunctionNotFoundError(DBOSWorkflowError):
    """A stored workflow names a function this process has not registered, or (with a
    `detail` saying which) a method whose class or configured instance it has not."""

    dbos_error_code = DBOSErrorCode.WorkflowFunctionNotFound.value

    def __init__(self, workflow_id: str, name: str, detail: str | None = None) -> None:
        self._reduce_args = (workflow_id, name, detail)
        if detail is None:
            super().__init__(
                f"workflow {workflow_id!r} needs function {name!r}, which is not registered "
                "in this process (decorate it with @DBOS.workflow() and import its module "
                "before DBOS.launch())"
            )
        else:
            super().__init__(f"workflow {workflow_id!r} ({name}) cannot run here: {detail}")
        self.workflow_id = workflow_id
        self.name = name


class DBOSUnexpectedStepError(DBOSWorkflowError):
    """Replay found a different operation than the one recorded: the workflow is not
    deterministic (its code or its control flow changed between runs)."""

    dbos_error_code = DBOSErrorCode.UnexpectedStep.value

    def __init__(self, workflow_id: str, function_id: int, expected: str, recorded: str) -> None:
        self._reduce_args = (
            workflow_id,
            function_id,
            expected,
            recorded,
        )
        super().__init__(
            f"workflow {workflow_id!r} step {function_id}: the code now calls {expected!r} but "
            f"the recorded run called {recorded!r}; workflows must be deterministic"
        )
        self.workflow_id = workflow_id
        self.function_id = function_id


class DBOSPatchNondeterminismError(DBOSWorkflowError):
    """A patch marker could not be placed deterministically: while this execution recorded
    patch `patch_name`, another execution of the same workflow recorded a different operation
    at that position (DBOS Transact's name; it raises it when the marker's position would
    depend on scheduling)."""

    dbos_error_code = DBOSErrorCode.PatchNondeterminism.value

    def __init__(self, workflow_id: str, patch_name: str, details: str) -> None:
        self._reduce_args = (workflow_id, patch_name, details)
        super().__init__(
            f"workflow {workflow_id!r}: cannot apply patch {patch_name!r} deterministically: "
            f"{details}"
        )
        self.workflow_id = workflow_id
        self.patch_name = patch_name


class DBOSMaxStepRetriesExceeded(DBOSWorkflowError):
    """A step with retries failed on every allowed attempt."""

    dbos_error_code = DBOSErrorCode.MaxStepRetriesExceeded.value

    def __init__(self, step_name: str, max_attempts: int, errors: list[BaseException]) -> None:
        self._reduce_args = (
            step_name,
            max_attempts,
            errors,
        )
        last = f": {type(errors[-1]).__name__}: {errors[-1]}" if errors else ""
        super().__init__(f"step {step_name!r} failed {max_attempts} times{last}")
        self.step_name = step_name
        self.max_attempts = max_attempts
        self.errors = errors


class DBOSStepTimeoutError(DBOSWorkflowError):
    """An async step ran past its ``timeout_seconds`` and was cancelled (DBOS Transact 3.4
    semantics). It is the attempt's error: retried like any other when the step allows retries,
    recorded as the step's outcome otherwise, and raised again on replay."""

    dbos_error_code = DBOSErrorCode.StepTimeout.value

    def __init__(self, step_name: str, timeout_seconds: float) -> None:
        self._reduce_args = (step_name, timeout_seconds)
        super().__init__(
            f"step {step_name!r} was cancelled after exceeding its timeout of "
            f"{timeout_seconds} seconds"
        )
        self.step_name = step_name
        self.timeout_seconds = timeout_seconds


class DBOSTransactionRetriesExceeded(DBOSException):
    """A datasource transaction failed on a serialization conflict (Postgres SQLSTATE 40001
    or 40P01, a locked SQLite database) on every attempt its retry budget allowed (ours:
    DBOS Transact 3.4 retries without end). Each attempt was rolled back, so nothing of it
    was written; inside a workflow this error is the transaction's recorded outcome.

    Attributes:
        transaction_name: The transaction's name.
        attempts: How many attempts were made.
        last_error: The last conflict, as text.
    """

    def __init__(self, transaction_name: str, attempts: int, last_error: str) -> None:
        self._reduce_args = (transaction_name, attempts, last_error)
        super().__init__(
            f"transaction {transaction_name!r} hit a serialization conflict on each of its "
            f"{attempts} attempts, its retry budget (max_attempts={attempts}), and was given "
            f"up; each attempt was rolled back, so none of its writes were made: {last_error}"
        )
        self.transaction_name = transaction_name
        self.attempts = attempts
        self.last_error = last_error


class DBOSMaxRecoveryAttemptsExceededError(DBOSWorkflowError):
    """A workflow was recovered more times than its `max_recovery_attempts` allows."""

    dbos_error_code = DBOSErrorCode.MaxRecoveryAttemptsExceeded.value

    def __init__(self, workflow_id: str, max_attempts: int | None = None) -> None:
        self._reduce_args = (
            workflow_id,
            max_attempts,
        )
        limit = f" ({max_attempts})" if max_attempts is not None else ""
        super().__init__(
            f"workflow {workflow_id!r} exceeded its maximum recovery attempts{limit}; it is "
            "marked MAX_RECOVERY_ATTEMPTS_EXCEEDED and will not be retried automatically"
        )
        self.workflow_id = workflow_id


#: DBOS Transact's name for `DBOSMaxRecoveryAttemptsExceededError`.
MaxRecoveryAttemptsExceededError = DBOSMaxRecoveryAttemptsExceededError


class DBOSWorkflowCancelledError(DBOSWorkflowError):
    """The workflow was cancelled: raised inside it at its next step boundary.

    Waiting on a cancelled workflow raises its subclass `DBOSAwaitedWorkflowCancelledError`,
    so ``except DBOSWorkflowCancelledError`` catches both. (In DBOS Transact this class is a
    `BaseException` and the two are unrelated; here it has always been an `Exception`.)
    """

    dbos_error_code = DBOSErrorCode.WorkflowCancelled.value

    def __init__(self, workflow_id: str) -> None:
        self._reduce_args = (workflow_id,)
        super().__init__(f"workflow {workflow_id!r} was cancelled")
        self.workflow_id = workflow_id


class DBOSAwaitedWorkflowCancelledError(DBOSWorkflowCancelledError):
    """The workflow a caller waited on (`get_result`) was cancelled (DBOS Transact 3.4).

    It tells the waiter that the awaited workflow was cancelled, not the waiter itself: a
    workflow that waits on a cancelled child and does not catch this ends in ERROR, not
    CANCELLED, as in DBOS Transact.
    """

    dbos_error_code = DBOSErrorCode.AwaitedWorkflowCancelled.value

    def __init__(self, workflow_id: str) -> None:
        self._reduce_args = (workflow_id,)
        DBOSWorkflowError.__init__(self, f"awaited workflow {workflow_id!r} was cancelled")
        self.workflow_id = workflow_id


class DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded(DBOSMaxRecoveryAttemptsExceededError):
    """The workflow a caller waited on (`get_result`) ended in MAX_RECOVERY_ATTEMPTS_EXCEEDED
    (DBOS Transact 3.4's class; a `DBOSMaxRecoveryAttemptsExceededError`, which waiters got
    before)."""

    dbos_error_code = DBOSErrorCode.AwaitedWorkflowMaxRecoveryAttemptsExceeded.value

    def __init__(self, workflow_id: str) -> None:
        self._reduce_args = (workflow_id,)
        DBOSWorkflowError.__init__(
            self,
            f"awaited workflow {workflow_id!r} exceeded its maximum recovery attempts; it is "
            "marked MAX_RECOVERY_ATTEMPTS_EXCEEDED and will not be retried automatically",
        )
        self.workflow_id = workflow_id


class DBOSQueueDeduplicatedError(DBOSWorkflowError):
    """A queue already holds a task with this deduplication ID that has not finished.

    Also raised (our extension, `Queue.enqueue_many`) when two tasks of one batch give the same
    deduplication ID for one queue: `batch_tasks` is then their two indexes in the batch (the
    message says so; nothing of the batch was stored), else None.
    """

    dbos_error_code = DBOSErrorCode.QueueDeduplicated.value

    def __init__(
        self,
        workflow_id: str,
        queue_name: str,
        deduplication_id: str,
        batch_tasks: tuple[int, int] | None = None,
    ) -> None:
        self._reduce_args = (workflow_id, queue_name, deduplication_id, batch_tasks)
        if batch_tasks is None:
            message = (
                f"workflow {workflow_id!r} was not enqueued: queue {queue_name!r} already has "
                f"an unfinished task with deduplication ID {deduplication_id!r}"
            )
        else:
            first, second = batch_tasks
            message = (
                f"workflow {workflow_id!r} was not enqueued: the batch itself repeats "
                f"deduplication ID {deduplication_id!r} for queue {queue_name!r} (tasks "
                f"{first} and {second}); nothing of the batch was stored (give each task its "
                "own ID, or pass duplication_policy='return-existing' to enqueue_many)"
            )
        super().__init__(message)
        self.batch_tasks = batch_tasks
        self.workflow_id = workflow_id
        self.queue_name = queue_name
        self.deduplication_id = deduplication_id


class DBOSForkStepError(DBOSWorkflowError):
    """A fork was asked to start at a step the workflow never reached.

    No longer raised: like DBOS Transact, a fork from a step past the last recorded one now
    replays every recorded step. Kept so that code naming it still imports.
    """

    def __init__(self, workflow_id: str, start_step: int, recorded_steps: int) -> None:
        self._reduce_args = (workflow_id, start_step, recorded_steps)
        if recorded_steps:
            known = f"recorded steps 0..{recorded_steps - 1}, so it can be forked from step 0"
            known += f" to {recorded_steps}"
        else:
            known = "no recorded steps, so it can only be forked from step 0"
        super().__init__(
            f"cannot fork workflow {workflow_id!r} from step {start_step}: it has {known}"
        )
        self.workflow_id = workflow_id
        self.start_step = start_step
        self.recorded_steps = recorded_steps


# --- DBOS Transact 3.4's other classes -----------------------------------------------------
# Defined so that code written for DBOS Transact can name them (in ``except`` clauses, or to
# raise them itself); this library does not raise them yet, for the features that would
# (roles, step timeouts, stream timeouts, query timeouts) it does not have. Each keeps DBOS
# Transact's constructor arguments and attributes.


class DBOSRecoveryError(DBOSWorkflowError):
    """Recovering workflow `workflow_id` failed (`detail` says why)."""

    dbos_error_code = DBOSErrorCode.RecoveryError.value

    def __init__(self, workflow_id: str, message: str | None = None) -> None:
        self._reduce_args = (workflow_id, message)
        super().__init__(f"recovering workflow {workflow_id!r} failed: {message}")
        self.workflow_id = workflow_id
        self.detail = message


class DBOSNotAuthorizedError(DBOSException):
    """The caller's roles do not allow calling a function (DBOS Transact's role checks)."""

    dbos_error_code = DBOSErrorCode.NotAuthorized.value

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


class DBOSStepNondeterminismError(DBOSWorkflowError):
    """One execution recorded step `step_id` of workflow `workflow_id` twice, differently."""

    dbos_error_code = DBOSErrorCode.StepNondeterminism.value

    def __init__(self, workflow_id: str, step_id: int) -> None:
        self._reduce_args = (workflow_id, step_id)
        super().__init__(
            f"workflow {workflow_id!r} step {step_id} was recorded twice with different "
            "results by one execution; workflows must be deterministic"
        )
        self.workflow_id = workflow_id
        self.step_id = step_id


class DBOSStreamTimeoutError(DBOSWorkflowError):
    """No value arrived on stream `key` of workflow `workflow_id` in `timeout_seconds` (None:
    the stream ended first)."""

    dbos_error_code = DBOSErrorCode.StreamTimeout.value

    def __init__(self, workflow_id: str, key: str, timeout_seconds: float | None = None) -> None:
        self._reduce_args = (workflow_id, key, timeout_seconds)
        within = "" if timeout_seconds is None else f" within {timeout_seconds} s"
        super().__init__(f"no value arrived on stream {key!r} of workflow {workflow_id!r}{within}")
        self.workflow_id = workflow_id
        self.key = key
        self.timeout_seconds = timeout_seconds


class DBOSStreamNondeterminismError(DBOSWorkflowError):
    """Concurrent reads of stream `key` in workflow `workflow_id` would make its replay depend
    on scheduling."""

    dbos_error_code = DBOSErrorCode.StreamNondeterminism.value

    def __init__(self, workflow_id: str, key: str) -> None:
        self._reduce_args = (workflow_id, key)
        super().__init__(
            f"workflow {workflow_id!r} cannot read stream {key!r} deterministically: another "
            "read of it in the same workflow is in progress"
        )
        self.workflow_id = workflow_id
        self.key = key


class DBOSQueryTimeoutError(DBOSException):
    """A listing query ran past its statement timeout of `timeout_seconds`."""

    dbos_error_code = DBOSErrorCode.QueryTimeout.value

    def __init__(self, timeout_seconds: float) -> None:
        self._reduce_args = (timeout_seconds,)
        super().__init__(f"the query was cancelled after its {timeout_seconds:g} s timeout")
        self.timeout_seconds = timeout_seconds


# --- this library's own ---------------------------------------------------------------------


class DBOSRemoteError(DBOSWorkflowError):
    """A recorded error whose original class cannot be rebuilt here.

    Keeps the original type name, message and traceback text.
    """

    def __init__(self, type_name: str, message: str, traceback_text: str | None = None) -> None:
        self._reduce_args = (
            type_name,
            message,
            traceback_text,
        )
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.traceback_text = traceback_text


class PortableWorkflowError(Exception):
    """An error in the portable format: what a workflow or step written by any language's SDK
    raised, as DBOS Transact 3.4 carries it across languages.

    Attributes:
        message: The human-readable message (also ``str(error)``).
        name: The error's type name (``"ValueError"``, ``"TypeError"`` in TypeScript, ...).
        code: An application code (int or str), or None.
        data: Structured details as a JSON value, or None.

    Raise it from Python to give a portable workflow a chosen name, code and data.
    """

    def __init__(
        self,
        message: str,
        name: str = "Error",
        code: int | str | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(message, name, code, data)
        self.message = message
        self.name = name
        self.code = code
        self.data = data

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"PortableWorkflowError(message={self.message!r}, name={self.name!r}, "
            f"code={self.code!r}, data={self.data!r})"
        )


# --- storage errors -------------------------------------------------------------------------


class DBOSStorageError(DBOSException):
    """Base of errors raised by a storage backend.

    Attributes:
        fatal: True (on the class) for an error that no retry can fix while this process
            runs (the SQLite file deleted or replaced): the background services (queue
            worker, scheduler) log it once at ERROR and stop, instead of retrying forever.
    """

    fatal: bool = False


class DBOSConnectionError(DBOSStorageError):
    """The system database cannot be reached."""


class DBOSMigrationError(DBOSStorageError):
    """The system database schema is missing, newer than this code, or was altered."""


class DBOSStepConflictError(DBOSStorageError):
    """A checkpoint for this (workflow, step) already exists."""

    def __init__(self, workflow_id: str, function_id: int) -> None:
        self._reduce_args = (
            workflow_id,
            function_id,
        )
        super().__init__(f"workflow {workflow_id!r} step {function_id} is already recorded")
        self.workflow_id = workflow_id
        self.function_id = function_id
