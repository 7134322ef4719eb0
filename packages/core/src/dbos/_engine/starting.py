"""What a start decides beyond "create the row or find it": the new row itself, the workflow
ID reuse policy, the queue duplication policy and the workflow's attributes.

DBOS Transact 3.4's policies, with its names and defaults:

- ``workflow_id_reuse_policy`` (given with `SetWorkflowID` or an enqueue option):
  ``"return-existing"`` (the default) makes a start of an ID that exists attach to that
  workflow, whatever its status; ``"reject"`` raises `DBOSWorkflowIDInUseError` instead.
  Either way the existing workflow, its steps and its outcome are left as they are.
- ``duplication_policy`` (an enqueue option, with a ``deduplication_id``):
  ``"reject"`` (the default) raises `DBOSQueueDeduplicatedError` when the queue holds an
  unfinished task with that deduplication ID; ``"return-existing"`` returns a handle to that
  task instead (the new task's arguments are dropped).

Exactly one start of an ID creates it, across processes (`create_workflow` decides), so of
concurrent ``"reject"`` starts of one ID exactly one succeeds.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from .._base.errors import DBOSException, DBOSQueueDeduplicatedError, DBOSWorkflowIDInUseError
from .._base.random_ids import random_uuid
from .._base.serialization import Codec
from ..storage._protocol import SystemStorage
from ..storage._records import (
    NewWorkflow,
    StepRecord,
    WorkflowInit,
    WorkflowQuery,
    WorkflowRow,
    WorkflowStatusString,
)
from .context import WorkflowContext, current_step, current_workflow
from .decisions import child_workflow_id, replayed_step
from .effects import Blocking, Procedure
from .operations import Recorder
from .outcome import now_ms

#: What starting a workflow under an ID that is already used does (DBOS Transact 3.4):
#: ``"return-existing"`` (the default) attaches to the existing workflow, whatever its
#: status; ``"reject"`` raises `DBOSWorkflowIDInUseError`.
WorkflowIDReusePolicy = Literal["return-existing", "reject"]
#: What an enqueue refused for its deduplication ID does (DBOS Transact 3.4): ``"reject"``
#: (the default) raises `DBOSQueueDeduplicatedError`; ``"return-existing"`` returns a handle
#: to the task that holds the ID (the new task's arguments are dropped).
DuplicationPolicy = Literal["reject", "return-existing"]

RETURN_EXISTING = "return-existing"
REJECT = "reject"
#: `WorkflowIDReusePolicy` values, the default first.
REUSE_POLICIES = (RETURN_EXISTING, REJECT)
#: `DuplicationPolicy` values, the default first.
DUPLICATION_POLICIES = (REJECT, RETURN_EXISTING)

_UNFINISHED = (WorkflowStatusString.ENQUEUED.value, WorkflowStatusString.PENDING.value)


def check_reuse_policy(policy: object, where: str) -> str | None:
    """`policy` if it is a `WorkflowIDReusePolicy` value (or None, the default).

    Raises:
        DBOSException: another value; the message names `where` and the valid values.
    """
    if policy is None or policy in REUSE_POLICIES:
        return policy
    raise DBOSException(
        f"{where}: unknown workflow_id_reuse_policy {policy!r}; use one of "
        f"{', '.join(map(repr, REUSE_POLICIES))}"
    )


def check_duplication_policy(
    policy: object, deduplication_id: str | None, where: str, hint: str = ""
) -> str | None:
    """`policy` if it is a `DuplicationPolicy` value (or None, the default).

    Raises:
        DBOSException: another value, or ``"return-existing"`` without a deduplication ID
            (there is nothing to return); the message names `where` (and ends with `hint`
            for the missing ID).
    """
    if policy is None or policy == REJECT:
        return policy
    if policy != RETURN_EXISTING:
        raise DBOSException(
            f"{where}: unknown duplication_policy {policy!r}; use one of "
            f"{', '.join(map(repr, DUPLICATION_POLICIES))}"
        )
    if deduplication_id is None:
        raise DBOSException(
            f"{where}: duplication_policy 'return-existing' needs a deduplication_id "
            f"(it returns the task holding that ID){hint}"
        )
    return policy


def encode_attributes(attributes: object, where: str) -> str | None:
    """The JSON text of workflow attributes: a dict with string keys whose values JSON can
    carry exactly (no NaN or infinity, no tuples, no other objects). None stays None.

    Raises:
        DBOSException: anything else; the message names `where` and the offending key.
    """
    if attributes is None:
        return None
    if not isinstance(attributes, dict):
        raise DBOSException(
            f"{where}: workflow attributes must be a dict of str to JSON values, got "
            f"{type(attributes).__name__}"
        )
    for key, value in attributes.items():
        if not isinstance(key, str):
            raise DBOSException(f"{where}: attribute keys must be strings, got {key!r}")
        problem = _json_problem(value)
        if problem is not None:
            raise DBOSException(f"{where}: attribute {key!r} is not JSON-serializable ({problem})")
    return json.dumps(attributes, separators=(",", ":"))


def _json_problem(value: Any) -> str | None:
    """Why `value` would not come back from JSON as it is, or None."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} has no JSON form"
    if isinstance(value, list):
        for item in value:
            problem = _json_problem(item)
            if problem is not None:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"nested key {key!r} is not a string"
            problem = _json_problem(item)
            if problem is not None:
                return problem
        return None
    return f"a {type(value).__name__} is not a JSON value"


def create(
    recorder: Recorder,
    workflow: NewWorkflow,
    policies: tuple[str | None, str | None],
    parent: WorkflowContext | None = None,
    child_of: tuple[WorkflowContext, int] | None = None,
) -> Procedure[WorkflowInit]:
    """`create_workflow` under the start's (ID reuse, duplication) `policies`.

    Under ``duplication_policy="return-existing"``, a refused enqueue returns (not created)
    the row of the task holding the deduplication ID, which has another workflow ID. Under
    ``workflow_id_reuse_policy="reject"``, finding the ID taken raises
    `DBOSWorkflowIDInUseError`, except for the child this same operation of `parent` created
    before a crash (no recorded operation of the parent names it), which it finds again; a
    refusal of a child start (`child_of`: the parent and its operation's ID) is recorded as
    that operation, so a replay raises it again instead of asking storage anew.
    """
    try:
        return (yield from create_workflow(recorder.storage, workflow, policies, parent))
    except DBOSWorkflowIDInUseError as refused:
        if child_of is not None:
            context, function_id = child_of
            error = recorder.codec.encode_error(refused)
            record = StepRecord(
                context.workflow_id, function_id, workflow.name, None, error, now_ms(), now_ms()
            )
            yield from recorder.checkpoint(context, record)
        raise


def create_workflow(
    storage: SystemStorage,
    workflow: NewWorkflow,
    policies: tuple[str | None, str | None],
    parent: WorkflowContext | None = None,
) -> Procedure[WorkflowInit]:
    """`create` without recording a refusal (outside any workflow: `DBOSClient.enqueue`)."""
    reuse_policy, duplication_policy = policies
    while True:
        try:
            init: WorkflowInit = yield Blocking(storage.create_workflow, (workflow,))
            break
        except DBOSQueueDeduplicatedError:
            if duplication_policy != RETURN_EXISTING:
                raise
            holder = yield from deduplication_holder(storage, workflow)
            if holder is not None:
                return WorkflowInit(created=False, row=holder)
            # The holder finished between the insert and the lookup: the ID is free again.
    row = init.row
    if reuse_policy == REJECT and not init.created and not _own_child(row, parent):
        raise DBOSWorkflowIDInUseError(row.workflow_id, row.status, row.name)
    return init


def _own_child(row: WorkflowRow, parent: WorkflowContext | None) -> bool:
    if parent is None or row.parent_workflow_id != parent.workflow_id:
        return False
    return all(step.child_workflow_id != row.workflow_id for step in parent.recorded.values())


def deduplication_holder(
    storage: SystemStorage, workflow: NewWorkflow
) -> Procedure[WorkflowRow | None]:
    """The unfinished task of `workflow`'s queue holding its deduplication ID, if any."""
    query = WorkflowQuery(
        queue_name=workflow.queue_name,
        deduplication_id=workflow.deduplication_id,
        statuses=_UNFINISHED,
        load_inputs=False,
        load_output=False,
        limit=1,
    )
    rows: list[WorkflowRow] = yield Blocking(storage.list_workflows, (query,))
    return rows[0] if rows else None


def start_place(
    codec: Codec, name: str, assigned: str | None
) -> tuple[WorkflowContext | None, str, tuple[WorkflowContext, int] | None]:
    """Where a start of workflow `name` stands: its parent workflow (None outside a workflow
    body), its workflow ID (`assigned` by `SetWorkflowID`, else the recorded or deterministic
    child ID, else a random UUID), and the parent's operation to record it as (None if a
    replay already has it). Takes a parent operation ID.

    Raises:
        DBOSUnexpectedStepError: the parent recorded another operation at this ID.
        Exception: the refusal a replay finds recorded there (raised again).
    """
    parent = current_workflow()
    if parent is None or current_step() is not None:
        return None, assigned or random_uuid(), None
    function_id = parent.take_function_id()
    replayed = replayed_step(parent.recorded, parent.workflow_id, function_id, name)
    if replayed is None:
        workflow_id = assigned or child_workflow_id(parent.workflow_id, function_id)
        return parent, workflow_id, (parent, function_id)
    if replayed.error is not None:
        raise codec.decode_error(replayed.error)  # a recorded refusal
    if replayed.child_workflow_id:
        return parent, replayed.child_workflow_id, None
    return parent, assigned or child_workflow_id(parent.workflow_id, function_id), None
