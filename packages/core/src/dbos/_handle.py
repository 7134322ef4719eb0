"""Workflow handles and the `WorkflowStatus` record users see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ._effects import Blocking, Procedure, run_async, run_sync
from ._errors import DBOSNonExistentWorkflowError
from ._ids import check_workflow_id
from ._records import WorkflowRow
from ._serialization import Codec

if TYPE_CHECKING:
    from ._execution import ActiveWorkflow
    from ._outcome import Outcome
    from ._storage import SystemStorage

R_co = TypeVar("R_co", covariant=True)


@dataclass(frozen=True)
class WorkflowStatus:
    """A workflow's stored state. Times are epoch milliseconds."""

    workflow_id: str
    status: str
    name: str
    input: dict[str, Any] | None
    output: Any
    error: BaseException | None
    created_at: int
    updated_at: int
    executor_id: str | None
    app_version: str | None
    recovery_attempts: int
    max_recovery_attempts: int | None
    queue_name: str | None
    parent_workflow_id: str | None
    workflow_deadline_epoch_ms: int | None = None

    @classmethod
    def from_row(cls, row: WorkflowRow, codec: Codec) -> WorkflowStatus:
        """The status of a stored workflow row: inputs, output and error decoded with `codec`
        (so a decoding failure raises what the codec raises; `LenientCodec` never does), times
        in epoch milliseconds as stored."""
        inputs = None
        if row.inputs is not None:
            args, kwargs = codec.decode_inputs(row.inputs)
            inputs = {"args": args, "kwargs": kwargs}
        return cls(
            workflow_id=row.workflow_id,
            status=row.status,
            name=row.name,
            input=inputs,
            output=codec.decode_value(row.output),
            error=None if row.error is None else codec.decode_error(row.error),
            created_at=row.created_at_ms,
            updated_at=row.updated_at_ms,
            executor_id=row.executor_id,
            app_version=row.application_version,
            recovery_attempts=row.recovery_attempts,
            max_recovery_attempts=row.max_recovery_attempts,
            queue_name=row.queue_name,
            parent_workflow_id=row.parent_workflow_id,
            workflow_deadline_epoch_ms=row.deadline_ms,
        )


class HandleSource(Protocol):
    """What a handle needs: the launched engine in the app, or a `DBOSClient` outside it."""

    @property
    def storage(self) -> SystemStorage: ...

    @property
    def codec(self) -> Codec: ...

    def wait(
        self, workflow_id: str, active: ActiveWorkflow | None, timeout_s: float | None = None
    ) -> Procedure[Outcome]: ...


def _status(engine: HandleSource, workflow_id: str, row: WorkflowRow | None) -> WorkflowStatus:
    if row is None:
        raise DBOSNonExistentWorkflowError(workflow_id)
    return WorkflowStatus.from_row(row, engine.codec)


class _Handle:
    """What both handle kinds share: the engine, the ID, and this process's execution."""

    def __init__(
        self, engine: HandleSource, workflow_id: str, active: ActiveWorkflow | None = None
    ) -> None:
        self._engine = engine
        self._workflow_id = check_workflow_id(workflow_id)
        self._active = active

    @property
    def workflow_id(self) -> str:
        return self._workflow_id

    def get_workflow_id(self) -> str:
        return self._workflow_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._workflow_id!r})"


class WorkflowHandle(_Handle, Generic[R_co]):
    """A reference to a workflow execution, for waiting on its result from sync code."""

    def get_result(self, *, timeout_seconds: float | None = None) -> R_co:
        """Wait for the workflow to finish; return its result or raise its error.

        Raises:
            TimeoutError: `timeout_seconds` passed first (the workflow keeps running).
        """
        outcome = run_sync(self._engine.wait(self._workflow_id, self._active, timeout_seconds))
        result: R_co = outcome.unwrap()
        return result

    def get_status(self) -> WorkflowStatus:
        """The workflow's stored status, read now (each call reads the database).

        Raises:
            DBOSNonExistentWorkflowError: there is no workflow with this ID.
        """
        row = self._engine.storage.get_workflow(self._workflow_id)
        return _status(self._engine, self._workflow_id, row)


class WorkflowHandleAsync(_Handle, Generic[R_co]):
    """A reference to a workflow execution, for awaiting its result from async code."""

    async def get_result(self, *, timeout_seconds: float | None = None) -> R_co:
        """Await the workflow's result (see `WorkflowHandle.get_result`)."""
        outcome = await run_async(
            self._engine.wait(self._workflow_id, self._active, timeout_seconds)
        )
        result: R_co = outcome.unwrap()
        return result

    async def get_status(self) -> WorkflowStatus:
        """`WorkflowHandle.get_status` for async code: the read does not block the event loop."""
        row = await run_async(_get_row(self._engine, self._workflow_id))
        return _status(self._engine, self._workflow_id, row)


def _get_row(engine: HandleSource, workflow_id: str) -> Procedure[WorkflowRow | None]:
    row: WorkflowRow | None = yield Blocking(engine.storage.get_workflow, (workflow_id,))
    return row
