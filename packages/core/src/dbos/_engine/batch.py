"""Batch enqueue (this project's extension of DBOS's API: `Queue.enqueue_many`,
`DBOSClient.enqueue_many`): many tasks created in one storage call
(`SystemStorage.create_workflows`: one statement on Postgres, one transaction on SQLite).

Each task behaves as a single enqueue of it would, in the batch's order: an ID that is stored
already (or given twice in the batch) returns that workflow's ID (DBOS's default reuse policy,
``"return-existing"``); a deduplication ID held by an unfinished task of the queue (or by an
earlier task of the batch) raises `DBOSQueueDeduplicatedError` under ``"reject"`` and returns
the holder under ``"return-existing"``. Refusals are all or nothing: when one task is refused,
no task of the batch is stored.

In a workflow's body the batch is ONE recorded operation of the parent (``DBOS.enqueue_many``,
its output the list of the tasks' IDs): the tasks' IDs default to ``<parent>-<op>-<i>``
(deterministic), so a recovery that finds the operation recorded enqueues nothing, and one
that crashed between the batch's commit and the checkpoint finds the same IDs stored and
returns them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .._base.errors import (
    DBOSException,
    DBOSQueueDeduplicatedError,
    DBOSWorkflowConflictIDError,
)
from .._base.ids import check_workflow_id
from .._base.portable import codec_for, default_serialization
from .._base.random_ids import random_uuid
from .._base.serialization import Codec
from ..storage._protocol import SystemStorage
from ..storage._records import NewWorkflow, StepRecord, WorkflowInit
from .classes import target_of
from .context import NEXT_WORKFLOW_ID, WorkflowContext, in_workflow_body
from .decisions import child_workflow_id
from .effects import Blocking, Procedure
from .execution import QueuePlacement, new_workflow_record, start_serialization
from .operations import Produced, recorded_operation
from .outcome import now_ms
from .registry import WorkflowRegistration
from .starting import RETURN_EXISTING, deduplication_holder

if TYPE_CHECKING:
    from .engine import Engine

#: The operation name a batch enqueue is recorded under in its parent workflow.
ENQUEUE_MANY_NAME = "DBOS.enqueue_many"

#: Builds the rows of a batch, given the tasks' workflow IDs and the parent (None outside a
#: workflow body).
BuildRows = Callable[[list[str], WorkflowContext | None], list[NewWorkflow]]


@dataclass(frozen=True)
class EnqueueCall:
    """One task of a batch enqueue (`Queue.enqueue_many`, `DBOSClient.enqueue_many`; this
    project's extension of DBOS's API) that needs keyword arguments or options of its own. A
    plain tuple in the batch stands for ``EnqueueCall(args=that_tuple)``.

    Attributes:
        args: The positional arguments.
        kwargs: The keyword arguments.
        deduplication_id: As `SetEnqueueOptions(deduplication_id=...)`, for this task.
        priority: As `SetEnqueueOptions(priority=...)`, for this task (lower starts first;
            the queue needs ``priority_enabled=True``).
    """

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    deduplication_id: str | None = None
    priority: int | None = None


def check_calls(calls: object, where: str) -> list[EnqueueCall]:
    """`calls` as `EnqueueCall` items (a tuple is a task's positional arguments).

    Raises:
        DBOSException: `calls` is not a list or tuple; an item is neither a tuple nor an
            `EnqueueCall`; an item's kwargs is not a dict of str keys, its deduplication ID
            not a non-empty string, or its priority not an int >= 0.
    """
    if not isinstance(calls, (list, tuple)):
        raise DBOSException(
            f"{where} takes a list of tasks (tuples of arguments or EnqueueCall), got {calls!r}"
        )
    checked: list[EnqueueCall] = []
    for i, item in enumerate(calls):
        call = EnqueueCall(args=item) if isinstance(item, tuple) else item
        if not isinstance(call, EnqueueCall):
            raise DBOSException(
                f"{where}: task {i} must be a tuple of positional arguments or an EnqueueCall, "
                f"got {item!r}"
            )
        if not isinstance(call.args, tuple):
            raise DBOSException(f"{where}: task {i}: args must be a tuple, got {call.args!r}")
        if not isinstance(call.kwargs, dict) or not all(isinstance(k, str) for k in call.kwargs):
            raise DBOSException(
                f"{where}: task {i}: kwargs must be a dict with str keys, got {call.kwargs!r}"
            )
        dedup = call.deduplication_id
        if dedup is not None and (not isinstance(dedup, str) or not dedup):
            raise DBOSException(
                f"{where}: task {i}: deduplication_id must be a non-empty string, got {dedup!r}"
            )
        if call.priority is not None and (type(call.priority) is not int or call.priority < 0):
            raise DBOSException(
                f"{where}: task {i}: priority must be an integer >= 0, got {call.priority!r}"
            )
        checked.append(call)
    return checked


def check_workflow_ids(workflow_ids: object, count: int, where: str) -> list[str] | None:
    """`workflow_ids` as a list of `count` IDs, or None (IDs are made then).

    Raises:
        DBOSException: not a list (or tuple) of valid IDs, or not one per task.
    """
    if workflow_ids is None:
        return None
    if not isinstance(workflow_ids, (list, tuple)):
        raise DBOSException(
            f"{where}: workflow_ids must be a list of strings, got {workflow_ids!r}"
        )
    if len(workflow_ids) != count:
        raise DBOSException(
            f"{where}: workflow_ids has {len(workflow_ids)} IDs for {count} tasks (give one per "
            "task, or none)"
        )
    return [check_workflow_id(w, f"{where}: workflow_ids[{i}]") for i, w in enumerate(workflow_ids)]


def refuse_assigned_id(where: str) -> None:
    """Raise if an enclosing `SetWorkflowID` is waiting for a start: it names one workflow,
    and a batch has many (our rule; they are given with ``workflow_ids=``).

    Raises:
        DBOSException: a `SetWorkflowID` encloses the call.
    """
    if NEXT_WORKFLOW_ID.get() is not None:
        raise DBOSException(
            f"{where}: SetWorkflowID names one workflow and does not apply to a batch; pass "
            "workflow_ids=[...] instead"
        )


def enqueue_batch(
    storage: SystemStorage,
    codec: Codec,
    count: int,
    workflow_ids: list[str] | None,
    build: BuildRows,
    policies: Sequence[str | None],
) -> Procedure[list[str]]:
    """Create the `count` rows `build` makes and return the tasks' workflow IDs, in order
    (a returned duplicate's is the holder's). In a workflow body this is one recorded
    operation of the parent (see the module's text); elsewhere (and in a step) one storage
    call. `policies` are the tasks' duplication policies.

    Raises:
        DBOSQueueDeduplicatedError: a task's deduplication ID is held, under ``"reject"``.
        DBOSWorkflowConflictIDError: a task's ID belongs to a workflow of another name.
    """
    parent = in_workflow_body()
    if parent is None:
        ids = workflow_ids or [random_uuid() for _ in range(count)]
        return (yield from create_batch(storage, build(ids, None), policies))
    context = parent

    def run(function_ids: list[int]) -> Procedure[Produced]:
        function_id = function_ids[0]
        base = child_workflow_id(context.workflow_id, function_id)
        ids = workflow_ids or [f"{base}-{i}" for i in range(count)]
        created = yield from create_batch(storage, build(ids, context), policies)
        output = codec.encode_value(created)
        record = StepRecord(
            context.workflow_id, function_id, ENQUEUE_MANY_NAME, output, None, now_ms(), now_ms()
        )
        return Produced(record)

    record = yield from recorded_operation(context, ENQUEUE_MANY_NAME, run)
    return list(context.recorder.replay_result(record))


def create_batch(
    storage: SystemStorage, rows: list[NewWorkflow], policies: Sequence[str | None]
) -> Procedure[list[str]]:
    """`rows` created in one storage call, each as `starting.create_workflow` would create it
    alone in this order (see the module's text); returns their workflow IDs.

    Raises:
        DBOSQueueDeduplicatedError: under ``"reject"``; nothing stored.
        DBOSWorkflowConflictIDError: an ID stored (or given earlier in the batch) under
            another workflow name; nothing stored.
    """
    # Tasks that repeat an earlier task's ID, or its (queue, deduplication ID) under
    # "return-existing", take that task's result; only the first of each reaches storage.
    same_as: dict[int, int] = {}
    first_with_id: dict[str, int] = {}
    first_with_key: dict[tuple[str, str], int] = {}
    pending: list[int] = []
    for i, row in enumerate(rows):
        earlier = first_with_id.get(row.workflow_id)
        if earlier is not None:
            if rows[earlier].name != row.name:
                raise DBOSWorkflowConflictIDError(row.workflow_id, rows[earlier].name, row.name)
            same_as[i] = earlier
            continue
        first_with_id[row.workflow_id] = i
        if row.queue_name is not None and row.deduplication_id is not None:
            key = (row.queue_name, row.deduplication_id)
            earlier = first_with_key.get(key)
            if earlier is not None:
                if policies[i] != RETURN_EXISTING:
                    raise DBOSQueueDeduplicatedError(row.workflow_id, *key, (earlier, i))
                same_as[i] = earlier
                continue
            first_with_key[key] = i
        pending.append(i)
    results: dict[int, str] = {}
    while pending:
        try:
            inits: list[WorkflowInit] = yield Blocking(
                storage.create_workflows, (tuple(rows[i] for i in pending),)
            )
        except DBOSQueueDeduplicatedError as refused:
            index = next((i for i in pending if rows[i].workflow_id == refused.workflow_id), None)
            if index is None or policies[index] != RETURN_EXISTING:
                raise
            holder = yield from deduplication_holder(storage, rows[index])
            if holder is not None:  # else it finished meanwhile: the ID is free again
                results[index] = holder.workflow_id
                pending.remove(index)
            continue
        results.update((i, init.row.workflow_id) for i, init in zip(pending, inits, strict=True))
        break
    for i in sorted(same_as):
        results[i] = results[same_as[i]]
    return [results[i] for i in range(len(rows))]


def task_rows(
    engine: Engine,
    registration: WorkflowRegistration,
    calls: Sequence[tuple[tuple[Any, ...], dict[str, Any]]],
    placements: Sequence[QueuePlacement],
) -> BuildRows:
    """The `BuildRows` of a batch of `registration` in this process: each task's row as
    `Engine.start` makes a single enqueue's (its inputs serialized the same way, its method
    target stored by name, the caller's identity, the timeout and the parent's deadline)."""
    default_format = default_serialization(engine.codec)
    identity = (engine.executor_id, engine.application_version, engine.instance_id)

    def build(ids: list[str], parent: WorkflowContext | None) -> list[NewWorkflow]:
        rows: list[NewWorkflow] = []
        for workflow_id, (args, kwargs), placement in zip(ids, calls, placements, strict=True):
            target = target_of(registration.name, registration.binding, args)
            serialization = start_serialization(registration, placement) or default_format
            inputs = codec_for(engine.codec, serialization).encode_inputs(
                target.args, kwargs, registration.name, registration.function
            )
            start = (workflow_id, registration, inputs, parent, placement, target)
            new = new_workflow_record(start, *identity, engine.application_name)
            if new.serialization != serialization:  # the configured serializer is portable
                new = replace(new, serialization=serialization)
            engine.hooks.workflow_prepared(
                workflow_id, registration.name, new.queue_name, new.attributes
            )
            rows.append(new)
        return rows

    return build
