"""Per-execution state, carried in context variables (so threads and asyncio tasks each see
their own): the running workflow, the step being run, and options set by context managers.

The workflow and the step are two variables, not one: the tasks an async workflow gathers
share its `WorkflowContext` (one operation counter, one set of recorded steps), but each has
its own step frame, so a step running in one gathered task does not make the steps another
task starts look nested in it."""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._errors import DBOSException
from ._ids import check_workflow_id
from ._records import StepRecord, StepWrite, WorkflowStatusString

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


@dataclass
class StepFrame:
    """The step whose body runs in this thread or task (one attempt of it).

    `writes` holds what the attempt sent, set and wrote to streams: made with the step's
    checkpoint if the step succeeds, dropped with a failed attempt (ours: DBOS Transact
    makes them at once, so a retried or crashed step repeats them)."""

    function_id: int
    writes: list[StepWrite]


V = TypeVar("V")
#: The setting's own class, so `with SetWorkflowID(...) as setting` is typed as that class
#: (a bound TypeVar rather than `typing.Self`, which Python 3.10 lacks).
S = TypeVar("S", bound="ContextSetting[Any]")

_current_workflow: ContextVar[WorkflowContext | None] = ContextVar(
    "dbos_current_workflow", default=None
)
_current_step: ContextVar[StepFrame | None] = ContextVar("dbos_current_step", default=None)
_next_workflow_id: ContextVar[str | None] = ContextVar("dbos_next_workflow_id", default=None)
_next_timeout_s: ContextVar[float | None] = ContextVar("dbos_next_timeout", default=None)


def current_workflow() -> WorkflowContext | None:
    return _current_workflow.get()


_WorkflowTokens = tuple["Token[WorkflowContext | None]", "Token[StepFrame | None]"]


def enter_workflow(context: WorkflowContext | None) -> _WorkflowTokens:
    """Make `context` the running workflow, outside any step (a child workflow called from a
    step body runs its own steps as steps)."""
    return _current_workflow.set(context), _current_step.set(None)


def leave_workflow(tokens: _WorkflowTokens) -> None:
    workflow_token, step_token = tokens
    _current_step.reset(step_token)
    _current_workflow.reset(workflow_token)


def current_step() -> StepFrame | None:
    """The step whose body runs in this thread or task, if any."""
    return _current_step.get()


def enter_step(frame: StepFrame) -> Token[StepFrame | None]:
    return _current_step.set(frame)


def leave_step(token: Token[StepFrame | None]) -> None:
    _current_step.reset(token)


def in_workflow_body() -> WorkflowContext | None:
    """The running workflow, if the caller is its body (or a task it started), not a step."""
    context = _current_workflow.get()
    return context if context is not None and _current_step.get() is None else None


def take_assigned_workflow_id() -> str | None:
    """The ID set by an enclosing `SetWorkflowID`, consumed by the first workflow started."""
    assigned = _next_workflow_id.get()
    if assigned is not None:
        _next_workflow_id.set(None)
    return assigned


class ContextSetting(Generic[V]):
    """A `with` block (sync or async) that sets a context variable for the code inside it."""

    _variable: ContextVar[V | None]

    def __init__(self, value: V) -> None:
        self._value = value
        self._token: Token[V | None] | None = None

    def __enter__(self: S) -> S:
        self._token = self._variable.set(self._value)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            self._variable.reset(self._token)
            self._token = None

    async def __aenter__(self: S) -> S:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class SetWorkflowID(ContextSetting[str]):
    """Give the next workflow started in this block a chosen ID (an idempotency key).

    Example:
        with SetWorkflowID("order-1234"):
            handle = DBOS.start_workflow(process_order, 1234)

    Starting a workflow twice with one ID runs it once; the second start returns a handle to
    the first execution's result.
    """

    _variable = _next_workflow_id

    def __init__(self, workflow_id: str) -> None:
        check_workflow_id(workflow_id, "SetWorkflowID's workflow ID")
        super().__init__(workflow_id)
        self.workflow_id = workflow_id


def assigned_timeout() -> float | None:
    """The timeout set by an enclosing `SetWorkflowTimeout`, if any."""
    return _next_timeout_s.get()


class SetWorkflowTimeout(ContextSetting[float]):
    """Give workflows started or enqueued in this block a timeout, in seconds.

    The deadline counts from the start (or the enqueue: time spent waiting in a queue counts).
    Past it, the workflow is cancelled: a queued one never starts, a running one stops at its
    next step boundary. Child workflows inherit their parent's deadline.

    Example:
        with SetWorkflowTimeout(30):
            DBOS.start_workflow(process_order, order_id)
    """

    _variable = _next_timeout_s

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
        super().__init__(float(seconds))
        self.seconds = float(seconds)
