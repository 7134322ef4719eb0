"""Patches: changing a workflow's code under executions that already ran part of it, with
DBOS Transact 3.4's `DBOS.patch` and `DBOS.deprecate_patch`.

A patch is a recorded operation whose record is only a marker, named ``DBOS.patch-<name>``
as DBOS Transact names it. What the code at a patch point does depends on what the
execution's history holds at the next operation ID:

- nothing: the execution reaches this point with the new code, so the marker is recorded and
  `patch` returns True (a recovery then finds the marker and returns True again);
- this patch's marker: a replay of an execution that took the new code: True, the marker's
  ID consumed;
- another operation: a replay of an execution that passed this point with the old code:
  False, and no ID is consumed, so the old code's operations replay at their own IDs.

The decision needs no read: an execution's history is loaded once, before its body runs
(`WorkflowContext.recorded`), and nothing awaits between the decision and the ID it takes. So
`patch_async` in tasks an async workflow gathers is as deterministic as the steps there.
"""

from __future__ import annotations

from .._base.errors import DBOSException, DBOSPatchNondeterminismError
from .context import WorkflowContext, in_workflow_body
from .effects import Procedure
from .operations import Produced, recorded_operation

#: The recorded function name of patch `name`'s marker is this prefix and the name.
PATCH_PREFIX = "DBOS.patch-"


def marker_name(call: str, patch_name: object) -> str:
    """The marker's recorded name for `patch_name`.

    Raises:
        DBOSException: `patch_name` is not a non-empty string.
    """
    if not isinstance(patch_name, str) or not patch_name:
        raise DBOSException(f"{call} needs a non-empty string patch name, got {patch_name!r}")
    return PATCH_PREFIX + patch_name


def _body(call: str) -> WorkflowContext:
    context = in_workflow_body()
    if context is None:
        raise DBOSException(f"{call} can only be called from a workflow (not from a step)")
    return context


def patch_procedure(call: str, patch_name: str) -> Procedure[bool]:
    """Whether this execution takes the patched code at this point (see the module's text).

    Raises:
        DBOSException: called outside a workflow body, or with a bad name.
        DBOSPatchNondeterminismError: another execution of this workflow recorded another
            operation at the marker's position while this one recorded the marker.
        DBOSWorkflowCancelledError: the workflow was cancelled before the marker was recorded.
    """
    marker = marker_name(call, patch_name)
    context = _body(call)
    found = context.recorded.get(context.next_function_id)
    if found is not None and found.function_name != marker:
        return False
    recorder = context.recorder

    def run(function_ids: list[int]) -> Produced:
        return Produced(recorder.plain_record(context, function_ids[0], marker))

    stored = yield from recorded_operation(context, marker, run)
    if stored.function_name != marker:
        raise DBOSPatchNondeterminismError(
            context.workflow_id,
            patch_name,
            f"another execution recorded {stored.function_name!r} at operation "
            f"{stored.function_id} while this one recorded the patch there",
        )
    return True


def deprecate_patch(call: str, patch_name: str) -> bool:
    """A patch whose old code is gone: consume the marker's ID in executions that recorded it,
    record nothing in others. Always True (as in DBOS Transact).

    Raises:
        DBOSException: called outside a workflow body, or with a bad name.
    """
    marker = marker_name(call, patch_name)
    context = _body(call)
    found = context.recorded.get(context.next_function_id)
    if found is not None and found.function_name == marker:
        context.take_function_id()
    return True
