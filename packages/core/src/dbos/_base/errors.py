"""The exception tree: one root, a branch for workflow errors and one for storage errors.

Configuration and usage mistakes (`DBOSConfigError`, `DBOSSerializationError`) hang directly
off the root: they are neither a workflow's failure nor the database's.
"""

from __future__ import annotations

from typing import Any


class DBOSException(Exception):
    """Root of every error this library raises on its own account.

    Errors are recorded in the database and read back elsewhere, so every subclass must
    survive pickling: one whose constructor takes other arguments than its message keeps them
    in `_reduce_args`, which `__reduce__` uses to rebuild it.
    """

    _reduce_args: tuple[object, ...] | None = None

    def __reduce__(self) -> str | tuple[Any, ...]:
        if self._reduce_args is None:
            return super().__reduce__()
        return (type(self), self._reduce_args)


# --- configuration and usage ---------------------------------------------------------------


class DBOSConfigError(DBOSException):
    """The configuration (or a database URL) is invalid; the message names the field."""


#: DBOS Transact's name for configuration errors raised at launch.
DBOSInitializationError = DBOSConfigError


class DBOSSerializationError(DBOSException):
    """A value cannot be serialized, or a stored value cannot (or may not) be read back."""


class DBOSConflictingRegistrationError(DBOSException):
    """Two different functions were registered under one workflow or step name."""


class DBOSNotLaunchedError(DBOSException):
    """A call needs a launched DBOS instance and there is none."""


# --- workflow errors ------------------------------------------------------------------------


class DBOSWorkflowError(DBOSException):
    """Base of errors about a particular workflow."""


class DBOSNonExistentWorkflowError(DBOSWorkflowError):
    """No workflow with this ID exists."""

    def __init__(self, workflow_id: str) -> None:
        self._reduce_args = (workflow_id,)
        super().__init__(f"workflow {workflow_id!r} does not exist")
        self.workflow_id = workflow_id


class DBOSWorkflowConflictIDError(DBOSWorkflowError):
    """A workflow ID is already used by a workflow of another name."""

    def __init__(self, workflow_id: str, existing_name: str, requested_name: str) -> None:
        self._reduce_args = (
            workflow_id,
            existing_name,
            requested_name,
        )
        super().__init__(
            f"workflow ID {workflow_id!r} is already taken (by a workflow of {existing_name!r}); "
            "choose an unused ID"
            if existing_name == requested_name
            else f"workflow ID {workflow_id!r} already belongs to workflow {existing_name!r}; "
            f"it cannot be reused for {requested_name!r}"
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
    """A stored workflow names a function this process has not registered."""

    def __init__(self, workflow_id: str, name: str) -> None:
        self._reduce_args = (
            workflow_id,
            name,
        )
        super().__init__(
            f"workflow {workflow_id!r} needs function {name!r}, which is not registered in "
            "this process (decorate it with @DBOS.workflow() and import its module before "
            "DBOS.launch())"
        )
        self.workflow_id = workflow_id
        self.name = name


class DBOSUnexpectedStepError(DBOSWorkflowError):
    """Replay found a different operation than the one recorded: the workflow is not
    deterministic (its code or its control flow changed between runs)."""

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


class DBOSMaxRecoveryAttemptsExceededError(DBOSWorkflowError):
    """A workflow was recovered more times than its `max_recovery_attempts` allows."""

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


class DBOSWorkflowCancelledError(DBOSWorkflowError):
    """The workflow was cancelled; raised inside it at its next step boundary and to waiters."""

    def __init__(self, workflow_id: str) -> None:
        self._reduce_args = (workflow_id,)
        super().__init__(f"workflow {workflow_id!r} was cancelled")
        self.workflow_id = workflow_id


class DBOSQueueDeduplicatedError(DBOSWorkflowError):
    """A queue already holds a task with this deduplication ID that has not finished."""

    def __init__(self, workflow_id: str, queue_name: str, deduplication_id: str) -> None:
        self._reduce_args = (workflow_id, queue_name, deduplication_id)
        super().__init__(
            f"workflow {workflow_id!r} was not enqueued: queue {queue_name!r} already has an "
            f"unfinished task with deduplication ID {deduplication_id!r}"
        )
        self.workflow_id = workflow_id
        self.queue_name = queue_name
        self.deduplication_id = deduplication_id


class DBOSForkStepError(DBOSWorkflowError):
    """A fork was asked to start at a step the workflow never reached.

    A workflow whose recorded steps are 0..N-1 can be forked from any step 0..N.
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
