"""Per-execution state, carried in context variables (so threads and asyncio tasks each see
their own): the running workflow, the step being run, and the options that the public context
managers (`dbos._context`, `dbos._queue`) set for the next workflow started.

The workflow and the step are two variables, not one: the tasks an async workflow gathers
share its `WorkflowContext` (one operation counter, one set of recorded steps), but each has
its own step frame, so a step running in one gathered task does not make the steps another
task starts look nested in it."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..storage._records import StepRecord, StepWrite, WorkflowStatusString
from .queues import ENQUEUE_OPTIONS, EnqueueOptions
from .roles import NO_IDENTITY, Identity, enter_identity, leave_identity

logger = logging.getLogger("dbos")

if TYPE_CHECKING:
    from opentelemetry.context import Context

    from .operations import Recorder


@dataclass
class WorkflowContext:
    """The state of one workflow execution in this process."""

    recorder: Recorder
    workflow_id: str
    name: str
    recorded: dict[int, StepRecord]
    #: Its row's `first_function_id`: 1, as in DBOS Transact; 0 for a workflow recorded under
    #: this library's earlier numbering, which also recorded no awaited results (`awaiting`).
    first_function_id: int = 1
    #: The ID its next operation takes.
    next_function_id: int = field(init=False, default=1)
    cancelled: bool = False
    deadline_ms: int | None = None
    #: The workflow row's serialization marker (None: the configured format).
    serialization: str | None = None
    #: The identity it runs as: its stored one (`roles`).
    identity: Identity = NO_IDENTITY
    #: No earlier execution of this workflow ran (a first start or a first claim): nothing it
    #: did can be found anywhere, so operations need not look for an earlier result.
    first_execution: bool = False

    def __post_init__(self) -> None:
        self.next_function_id = self.first_function_id

    @property
    def legacy(self) -> bool:
        """True for a workflow recorded under this library's earlier numbering (from 0)."""
        return self.first_function_id == 0

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
    makes them at once, so a retried or crashed step repeats them).

    `attempt` (from 0) and `max_attempts` are set for a step that allows retries, else None
    (what `DBOS.step_status` reports, as in DBOS Transact)."""

    function_id: int
    writes: list[StepWrite]
    attempt: int | None = None
    max_attempts: int | None = None


_current_workflow: ContextVar[WorkflowContext | None] = ContextVar(
    "dbos_current_workflow", default=None
)
_current_step: ContextVar[StepFrame | None] = ContextVar("dbos_current_step", default=None)
#: Set by `SetWorkflowID` / `SetWorkflowTimeout` (in `dbos._context`), read by the next start.
NEXT_WORKFLOW_ID: ContextVar[str | None] = ContextVar("dbos_next_workflow_id", default=None)
NEXT_TIMEOUT_S: ContextVar[float | None] = ContextVar("dbos_next_timeout", default=None)
#: `NEXT_TIMEOUT_S` under ``SetWorkflowTimeout(None)``: no timeout, and no parent's deadline
#: either (a real timeout is > 0).
NO_TIMEOUT = 0.0
#: The schedule whose tick the workflow started in this block runs for (the scheduler's):
#: its (name, schedule ID).
_SCHEDULE: ContextVar[tuple[str, str] | None] = ContextVar("dbos_schedule", default=None)
#: The ID of the enclosing `SetWorkflowID` block, kept after the first start consumed
#: `NEXT_WORKFLOW_ID`: a second start in the block gets a generated ID, with a WARNING (DBOS
#: semantics).
ID_BLOCK: ContextVar[str | None] = ContextVar("dbos_id_block", default=None)
#: The `workflow_id_reuse_policy` of the enclosing `SetWorkflowID`: it belongs to that ID, and
#: is consumed with it.
NEXT_REUSE_POLICY: ContextVar[str | None] = ContextVar("dbos_next_reuse_policy", default=None)
#: Set by `SetWorkflowAttributes`: the JSON text of the attributes (checked when set) of the
#: workflows started or enqueued in the block. Cleared inside a workflow body, so children do
#: not inherit them (DBOS semantics).
NEXT_ATTRIBUTES: ContextVar[str | None] = ContextVar("dbos_next_attributes", default=None)
#: Set by `SetShardKey` (DBOS Transact 3.4): the shard key of the workflows started in the
#: block. There is no sharding here, so a start in a block that sets one is refused.
NEXT_SHARD_KEY: ContextVar[str | None] = ContextVar("dbos_next_shard_key", default=None)
#: Set by `PropagateOtelContext`: the W3C trace context (``traceparent``, ``tracestate``) that
#: the workflows started or enqueued in the block store under `TRACE_CARRIER_ATTRIBUTE`, so
#: that whichever process runs them continues the caller's trace (DBOS Transact 3.4's place).
NEXT_TRACE_CARRIER: ContextVar[dict[str, str] | None] = ContextVar(
    "dbos_next_trace_carrier", default=None
)
#: The reserved workflow attribute holding a propagated trace context (DBOS Transact 3.4's).
TRACE_CARRIER_ATTRIBUTE = "dbos.otelContext"


def with_trace_carrier(attributes: str | None) -> str | None:
    """`attributes` (JSON text of an object, or None) with the `PropagateOtelContext` carrier
    of this block added, if there is one."""
    carrier = NEXT_TRACE_CARRIER.get()
    if carrier is None:
        return attributes
    merged = json.loads(attributes) if attributes else {}
    merged[TRACE_CARRIER_ATTRIBUTE] = carrier
    return json.dumps(merged, separators=(",", ":"))


def inject_carrier(context: Context | None = None) -> dict[str, str]:
    """The W3C trace context (``traceparent``, ``tracestate``; never baggage, which may hold
    anything) of `context` (default: the current one); empty when it has no valid span.
    Raises `ModuleNotFoundError` without OpenTelemetry."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, context=context)
    return carrier


def message_trace_carrier() -> str | None:
    """The trace context a message sent now carries (ours: DBOS Transact 3.4's messages carry
    none), as the JSON text of its W3C carrier (``traceparent``, ``tracestate``; the form the
    ``dbos.otelContext`` attribute holds): the enclosing `PropagateOtelContext` block's, else
    the active span's (the app's own, or inside a traced workflow DBOS's ``send`` span or the
    step's); None when there is neither. Costs a context-variable read and a dict lookup
    while OpenTelemetry was never imported (so no span can be active), and imports nothing."""
    carrier = NEXT_TRACE_CARRIER.get()
    if carrier is None:
        # The module itself, not an import statement (which costs as much as the check).
        trace = sys.modules.get("opentelemetry.trace")
        if trace is None or not trace.get_current_span().get_span_context().is_valid:
            return None
        carrier = inject_carrier()
        if not carrier:
            return None
    return json.dumps(carrier, separators=(",", ":"))


def current_workflow() -> WorkflowContext | None:
    return _current_workflow.get()


_WorkflowTokens = tuple[
    "Token[WorkflowContext | None]",
    "Token[StepFrame | None]",
    "Token[str | None]",
    "Token[float | None]",
    "Token[EnqueueOptions | None]",
    object,
]


def enter_workflow(context: WorkflowContext) -> _WorkflowTokens:
    """Make `context` the running workflow, outside any step (a child workflow called from a
    step body runs its own steps as steps), without the options its caller set for it
    (`SetWorkflowAttributes`, `SetWorkflowTimeout`, `SetEnqueueOptions`: they applied to this
    workflow, not to the ones its body starts, which inherit its deadline instead; DBOS
    Transact 3.4 semantics), and running as its own identity (in a scope of its own:
    `roles`)."""
    return (
        _current_workflow.set(context),
        _current_step.set(None),
        NEXT_ATTRIBUTES.set(None),
        NEXT_TIMEOUT_S.set(None),
        ENQUEUE_OPTIONS.set(None),
        enter_identity(context.identity),
    )


def leave_workflow(tokens: _WorkflowTokens) -> None:
    workflow_token, step_token, attributes_token, timeout_token, enqueue_token, identity_token = (
        tokens
    )
    leave_identity(identity_token)
    ENQUEUE_OPTIONS.reset(enqueue_token)
    NEXT_TIMEOUT_S.reset(timeout_token)
    NEXT_ATTRIBUTES.reset(attributes_token)
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
    return take_assigned_start()[0]


def take_assigned_start() -> tuple[str | None, str | None]:
    """The ID set by an enclosing `SetWorkflowID` and its reuse policy, both consumed by the
    first workflow started."""
    assigned = NEXT_WORKFLOW_ID.get()
    if assigned is None:
        block = ID_BLOCK.get()
        if block is not None and _current_workflow.get() is None:
            logger.warning(
                "a second workflow was started in the block of SetWorkflowID(%r): only the "
                "first one started there gets that ID, this one gets a generated ID",
                block,
            )
        return None, None
    NEXT_WORKFLOW_ID.set(None)
    policy = NEXT_REUSE_POLICY.get()
    if policy is not None:
        NEXT_REUSE_POLICY.set(None)
    return assigned, policy


def assigned_timeout() -> float | None:
    """The timeout set by an enclosing `SetWorkflowTimeout`, if any (`NO_TIMEOUT` for
    ``SetWorkflowTimeout(None)``)."""
    return NEXT_TIMEOUT_S.get()


@contextmanager
def assigned_workflow_id(workflow_id: str) -> Iterator[None]:
    """Give the next workflow started in this block `workflow_id` (what `SetWorkflowID` does
    for users; the engine's own services use this)."""
    token = NEXT_WORKFLOW_ID.set(workflow_id)
    try:
        yield
    finally:
        NEXT_WORKFLOW_ID.reset(token)


def firing_schedule_name() -> str | None:
    """The schedule the workflow being started fires for (see `firing_schedule`), if any."""
    firing = _SCHEDULE.get()
    return None if firing is None else firing[0]


def firing_schedule_id() -> str | None:
    """The ID of the schedule the workflow being started fires for, if any: its creation
    checks that this schedule is still active (`NewWorkflow.schedule_id`)."""
    firing = _SCHEDULE.get()
    return None if firing is None else firing[1]


@contextmanager
def firing_schedule(name: str, schedule_id: str) -> Iterator[None]:
    """Record schedule `name` (stored under `schedule_id`) as the schedule of the workflow
    started in this block. Only the start sees it: the workflow's body (and its children) run
    outside the block."""
    token = _SCHEDULE.set((name, schedule_id))
    try:
        yield
    finally:
        _SCHEDULE.reset(token)
