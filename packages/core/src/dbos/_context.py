"""The context managers users wrap around starts: `SetWorkflowID`, `SetWorkflowTimeout`,
`SetWorkflowAttributes`, `SetShardKey`, `DBOSContextSetAuth`, and `ContextSetting`, the
base they share with `SetEnqueueOptions`.
They only set the engine's context variables (`dbos._engine.context`); the engine reads them
when a workflow starts."""

from __future__ import annotations

from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Generic, TypeVar

from ._base.errors import DBOSException
from ._base.ids import check_workflow_id
from ._engine.context import (
    ID_BLOCK,
    NEXT_ATTRIBUTES,
    NEXT_REUSE_POLICY,
    NEXT_SHARD_KEY,
    NEXT_TIMEOUT_S,
    NEXT_TRACE_CARRIER,
    NEXT_WORKFLOW_ID,
    NO_TIMEOUT,
    inject_carrier,
)
from ._engine.roles import (
    Identity,
    check_roles_list,
    current_identity,
    enter_identity,
    leave_identity,
)
from ._engine.starting import WorkflowIDReusePolicy, check_reuse_policy, encode_attributes

V = TypeVar("V")
#: The setting's own class, so `with SetWorkflowID(...) as setting` is typed as that class
#: (a bound TypeVar rather than `typing.Self`, which Python 3.10 lacks).
S = TypeVar("S", bound="ContextSetting[Any]")

#: "Not given", where None is a value (``SetWorkflowTimeout(None)``).
_UNSET: Any = object()


def _one_of(value: Any, name: str, alias: Any, alias_name: str, owner: str) -> Any:
    """The value given under DBOS Transact's parameter `name` or under our earlier keyword
    `alias_name`: exactly one of them."""
    if value is _UNSET and alias is _UNSET:
        raise DBOSException(f"{owner} needs {name}")
    if value is not _UNSET and alias is not _UNSET:
        raise DBOSException(f"{owner} got both {name} and {alias_name}: give one")
    return alias if value is _UNSET else value


class ContextSetting(Generic[V]):
    """A `with` block (sync or async) that sets a context variable for the code inside it.

    One object may be entered again once its block has exited, not while it is active
    (`DBOSException`, as in DBOS Transact)."""

    _variable: ContextVar[V | None]

    def __init__(self, value: V) -> None:
        self._value = value
        self._token: Token[V | None] | None = None

    def __enter__(self: S) -> S:
        if self._token is not None:
            # Its exit could restore only one of the two saved values (as DBOS Transact).
            raise DBOSException(
                f"this {type(self).__name__} is already active (entered and not yet exited); "
                "create a new one for each with block"
            )
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

    Args:
        wfid: The ID (a non-empty string; DBOS Transact's parameter name). ``workflow_id=``,
            the keyword an earlier release of ours took, is accepted in its place.
        workflow_id_reuse_policy: What a start does when a workflow with this ID exists, in
            any status (DBOS semantics): ``"return-existing"`` (the default) runs nothing
            and returns a handle to that workflow (to its result once it finishes);
            ``"reject"`` raises `DBOSWorkflowIDInUseError`. The existing workflow is never
            changed. Applies to the one start that takes the ID, enqueues included.

    Raises:
        DBOSException: an empty or unstorable ID, or an unknown policy.
    """

    _variable = NEXT_WORKFLOW_ID

    def __init__(
        self,
        wfid: str = _UNSET,
        *,
        workflow_id_reuse_policy: WorkflowIDReusePolicy | None = None,
        workflow_id: str = _UNSET,
    ) -> None:
        workflow_id = _one_of(wfid, "wfid", workflow_id, "workflow_id", "SetWorkflowID")
        check_workflow_id(workflow_id, "SetWorkflowID's workflow ID")
        self.workflow_id_reuse_policy = check_reuse_policy(
            workflow_id_reuse_policy, "SetWorkflowID"
        )
        super().__init__(workflow_id)
        self.workflow_id = workflow_id
        self._policy_token: Token[str | None] | None = None
        self._block_token: Token[str | None] | None = None

    def __enter__(self: S) -> S:
        assert isinstance(self, SetWorkflowID)
        # Set even when None: an outer block's policy must not apply to this block's ID.
        self._policy_token = NEXT_REUSE_POLICY.set(self.workflow_id_reuse_policy)
        entered = super().__enter__()
        self._block_token = ID_BLOCK.set(self.workflow_id)
        return entered

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, tb)
        if self._policy_token is not None:
            NEXT_REUSE_POLICY.reset(self._policy_token)
            self._policy_token = None
        if self._block_token is not None:
            ID_BLOCK.reset(self._block_token)
            self._block_token = None


class SetWorkflowTimeout(ContextSetting[float]):
    """Give workflows started or enqueued in this block a timeout, in seconds.

    The deadline counts from the start (or the enqueue: time spent waiting in a queue counts).
    Past it, the workflow is cancelled: a queued one never starts, a running one stops at its
    next step boundary. Child workflows inherit their parent's deadline.

    ``SetWorkflowTimeout(None)`` (DBOS Transact 3.4 semantics): the workflows started in the
    block have no timeout and do not inherit their parent's deadline either.

    Example:
        with SetWorkflowTimeout(30):
            DBOS.start_workflow(process_order, order_id)

    Args:
        workflow_timeout_sec: Seconds (a number > 0), or None (DBOS Transact's parameter
            name). ``seconds=``, the keyword an earlier release of ours took, is accepted in
            its place.

    Raises:
        DBOSException: not a finite number > 0 nor None, or both names given.
    """

    _variable = NEXT_TIMEOUT_S

    def __init__(
        self, workflow_timeout_sec: float | None = _UNSET, *, seconds: float | None = _UNSET
    ) -> None:
        value = _one_of(
            workflow_timeout_sec, "workflow_timeout_sec", seconds, "seconds", "SetWorkflowTimeout"
        )
        if value is None:
            super().__init__(NO_TIMEOUT)
            self.seconds: float | None = None
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not value > 0
            or value == float("inf")
        ):
            raise DBOSException(
                f"SetWorkflowTimeout needs a number of seconds > 0 (or None), got {value!r}"
            )
        super().__init__(float(value))
        self.seconds = float(value)


class SetWorkflowAttributes(ContextSetting[str | None]):
    """Attach custom key-value attributes to the workflows started or enqueued in this block
    (DBOS semantics): stored with each workflow, shown as `WorkflowStatus.attributes`,
    filterable with ``list_workflows(attributes=...)`` and changed later with
    `DBOS.update_workflow_attributes`. Child workflows do not inherit them.

    Example:
        with SetWorkflowAttributes({"customer": "acme", "region": "eu"}):
            DBOS.start_workflow(process_order, order_id)

    Args:
        attributes: A dict of string keys to JSON values (nested dicts and lists allowed),
            or None for none.

    Raises:
        DBOSException: not a dict, a key that is not a string, or a value that JSON cannot
            carry exactly (the message names the key).
    """

    _variable = NEXT_ATTRIBUTES

    def __init__(self, attributes: dict[str, Any] | None) -> None:
        super().__init__(encode_attributes(attributes, "SetWorkflowAttributes"))
        self.attributes = attributes


class SetShardKey(ContextSetting[str]):
    """DBOS Transact 3.4's shard key for the workflows started, enqueued or called in this
    block, which routes them to one shard of a sharded system database. This library has
    one system database (no sharding): the block may be entered, but a workflow started in
    it is refused with a `DBOSException` naming the key, before anything is stored.

    Raises:
        DBOSException: `shard_key` is not a non-empty string (3.4: `ValueError`).
    """

    _variable = NEXT_SHARD_KEY

    def __init__(self, shard_key: str) -> None:
        if not isinstance(shard_key, str) or not shard_key:
            raise DBOSException(f"SetShardKey needs a non-empty string, got {shard_key!r}")
        super().__init__(shard_key)
        self.shard_key = shard_key


class DBOSContextSetAuth:
    """Run the block as an authenticated user with granted roles (DBOS semantics): workflows
    started or enqueued in it store that identity and run as it, on recovery too, and
    functions requiring roles (``@DBOS.required_roles``) are checked against `roles`.
    ``DBOS.authenticated_user`` and ``DBOS.authenticated_roles`` read it inside the block;
    the assumed role stays the enclosing one. Inside a workflow it changes the identity of
    what the block starts, not the workflow's own stored one. Sync or async ``with``.

    Example:
        with DBOSContextSetAuth("alice", ["admin", "user"]):
            handle = DBOS.start_workflow(close_account, 42)

    Args:
        user: The authenticated user, or None.
        roles: The roles granted to the user (a list of strings), or None for no
            authentication information (a function requiring roles then refuses the call).

    Raises:
        DBOSException: `user` is not a string or None, `roles` not a list of strings or None,
            or the object is entered again while its block is active.
    """

    def __init__(self, user: str | None, roles: list[str] | None) -> None:
        if user is not None and not isinstance(user, str):
            raise DBOSException(f"user must be a string or None, got {user!r}")
        self.user = user
        self.roles = roles
        self._checked = None if roles is None else check_roles_list(roles, "roles")
        self._token: object | None = None

    def __enter__(self) -> DBOSContextSetAuth:
        if self._token is not None:
            raise DBOSException(
                "this DBOSContextSetAuth is already active (entered and not yet exited); "
                "create a new one for each with block"
            )
        assumed = current_identity().assumed_role
        self._token = enter_identity(Identity(self.user, self._checked, assumed))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token, self._token = self._token, None
        if token is not None:
            leave_identity(token)

    async def __aenter__(self) -> DBOSContextSetAuth:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class PropagateOtelContext(ContextSetting[dict[str, str]]):
    """Carry an OpenTelemetry trace into the workflows started or enqueued in this block (DBOS
    Transact 3.4's class): the current context's W3C trace context (``traceparent``,
    ``tracestate``; never baggage), or that of `context`, is stored with each workflow under
    the reserved attribute ``dbos.otelContext``, so that whichever process runs it, now or
    after a recovery, makes its workflow span a child of the caller's span. `DBOSClient`'s
    ``enqueue`` in the block stores it too. Children of those workflows do not inherit it
    (enter the block again inside the workflow). Nothing is stored when there is no valid
    span to propagate, or OpenTelemetry is not installed.

    Example:
        with tracer.start_as_current_span("handle request"), PropagateOtelContext():
            queue.enqueue(process_order, order_id)

    Args:
        context: An OpenTelemetry `Context` to propagate instead of the current one.
    """

    _variable = NEXT_TRACE_CARRIER

    def __init__(self, context: Any = None) -> None:
        super().__init__({})
        self.context = context

    def __enter__(self) -> PropagateOtelContext:
        try:
            carrier = inject_carrier(self.context)
        except ModuleNotFoundError:  # no OpenTelemetry: no span can be active
            carrier = {}
        self._value = carrier or None  # type: ignore[assignment]
        return super().__enter__()
