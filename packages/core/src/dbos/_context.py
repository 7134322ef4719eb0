"""Per-execution state, carried in context variables (so threads and asyncio tasks each see
their own): the running workflow, the step being run, and options set by context managers."""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from ._errors import DBOSException
from ._records import StepRecord, WorkflowStatusString

if TYPE_CHECKING:
    from ._engine import Engine


@dataclass
class WorkflowContext:
    """The state of one workflow execution in this process."""

    engine: Engine
    workflow_id: str
    name: str
    recorded: dict[int, StepRecord]
    next_function_id: int = 0
    step_id: int | None = None
    cancelled: bool = False
    deadline_ms: int | None = None

    def take_function_id(self) -> int:
        function_id = self.next_function_id
        self.next_function_id += 1
        return function_id

    def note_status(self, status: str | None) -> None:
        """Remember the workflow's stored status, as reported with a checkpoint."""
        if status == WorkflowStatusString.CANCELLED.value:
            self.cancelled = True


_current_workflow: ContextVar[WorkflowContext | None] = ContextVar(
    "dbos_current_workflow", default=None
)
_next_workflow_id: ContextVar[str | None] = ContextVar("dbos_next_workflow_id", default=None)
_next_timeout_s: ContextVar[float | None] = ContextVar("dbos_next_timeout", default=None)


def current_workflow() -> WorkflowContext | None:
    return _current_workflow.get()


def enter_workflow(context: WorkflowContext | None) -> Token[WorkflowContext | None]:
    return _current_workflow.set(context)


def leave_workflow(token: Token[WorkflowContext | None]) -> None:
    _current_workflow.reset(token)


def take_assigned_workflow_id() -> str | None:
    """The ID set by an enclosing `SetWorkflowID`, consumed by the first workflow started."""
    assigned = _next_workflow_id.get()
    if assigned is not None:
        _next_workflow_id.set(None)
    return assigned


class SetWorkflowID:
    """Give the next workflow started in this block a chosen ID (an idempotency key).

    Example:
        with SetWorkflowID("order-1234"):
            handle = DBOS.start_workflow(process_order, 1234)

    Starting a workflow twice with one ID runs it once; the second start returns a handle to
    the first execution's result.
    """

    def __init__(self, workflow_id: str) -> None:
        if not isinstance(workflow_id, str) or not workflow_id:
            raise DBOSException(f"SetWorkflowID needs a non-empty string, got {workflow_id!r}")
        self.workflow_id = workflow_id
        self._token: Token[str | None] | None = None

    def __enter__(self) -> SetWorkflowID:
        self._token = _next_workflow_id.set(self.workflow_id)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _next_workflow_id.reset(self._token)
            self._token = None

    async def __aenter__(self) -> SetWorkflowID:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def assigned_timeout() -> float | None:
    """The timeout set by an enclosing `SetWorkflowTimeout`, if any."""
    return _next_timeout_s.get()


class SetWorkflowTimeout:
    """Give workflows started or enqueued in this block a timeout, in seconds.

    The deadline counts from the start (or the enqueue: time spent waiting in a queue counts).
    Past it, the workflow is cancelled: a queued one never starts, a running one stops at its
    next step boundary. Child workflows inherit their parent's deadline.

    Example:
        with SetWorkflowTimeout(30):
            DBOS.start_workflow(process_order, order_id)
    """

    def __init__(self, seconds: float) -> None:
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, (int, float))
            or not seconds > 0
            or seconds == float("inf")
        ):
            raise DBOSException(
                f"SetWorkflowTimeout needs a number of seconds > 0, got {seconds!r}"
            )
        self.seconds = float(seconds)
        self._token: Token[float | None] | None = None

    def __enter__(self) -> SetWorkflowTimeout:
        self._token = _next_timeout_s.set(self.seconds)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _next_timeout_s.reset(self._token)
            self._token = None

    async def __aenter__(self) -> SetWorkflowTimeout:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
