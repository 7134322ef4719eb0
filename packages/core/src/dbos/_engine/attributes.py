"""Changing a workflow's attributes after its start (`update_workflow_attributes`): from
outside a workflow (or from a step) one write; from a workflow body a recorded operation, so
a recovered workflow does not write again over later changes (DBOS semantics: 3.4 records it
as the step ``DBOS.updateWorkflowAttributes``)."""

from __future__ import annotations

from .._base.errors import DBOSException, DBOSNonExistentWorkflowError
from .._base.ids import check_workflow_id
from ..storage._protocol import SystemStorage
from .context import in_workflow_body
from .effects import Blocking, Procedure
from .operations import Produced, Recorder, recorded_operation
from .outcome import now_ms
from .starting import encode_attributes

UPDATE_ATTRIBUTES_NAME = "DBOS.updateWorkflowAttributes"


def write_attributes(
    storage: SystemStorage, workflow_id: str, text: str | None, merge: bool
) -> Procedure[None]:
    """One `update_workflow_attributes` write. Raises `DBOSNonExistentWorkflowError` for an
    unknown ID."""
    found: bool = yield Blocking(
        storage.update_workflow_attributes, (workflow_id, text, merge, now_ms())
    )
    if not found:
        raise DBOSNonExistentWorkflowError(workflow_id)


def check_update(workflow_id: str, attributes: object, merge: bool) -> str | None:
    """The JSON text an update writes, after checking its arguments.

    Raises:
        DBOSException: an invalid ID, attributes that are not a dict of JSON values, or
            ``merge=True`` with None (there is nothing to merge).
    """
    check_workflow_id(workflow_id, "update_workflow_attributes' workflow ID")
    if merge and attributes is None:
        raise DBOSException(
            "update_workflow_attributes: merge=True needs a dict of attributes to merge; "
            "pass merge=False with None to clear them"
        )
    return encode_attributes(attributes, "update_workflow_attributes")


def update_attributes_procedure(
    recorder: Recorder, workflow_id: str, text: str | None, merge: bool
) -> Procedure[None]:
    """Write the attributes; from a workflow body, as a recorded operation of that workflow
    (replayed, not written again, on recovery)."""
    context = in_workflow_body()
    if context is None:
        yield from write_attributes(recorder.storage, workflow_id, text, merge)
        return

    def run(function_ids: list[int]) -> Procedure[Produced]:
        yield from write_attributes(recorder.storage, workflow_id, text, merge)
        return Produced(recorder.plain_record(context, function_ids[0], UPDATE_ATTRIBUTES_NAME))

    yield from recorded_operation(context, UPDATE_ATTRIBUTES_NAME, run)
