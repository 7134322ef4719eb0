"""The reading management calls as `Facade` (and `DBOS.fork_workflow`) make them: recorded
in a workflow body of `DBOS` (see `_engine.recorded_management`), through the stored forms of
`_recorded_forms`, so that the first execution and a replay decode the same rows the same
way."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._base.ids import check_workflow_id
from .._engine.effects import Procedure
from .._engine.recorded_management import (
    GET_STATUS_NAME,
    LIST_STEPS_NAME,
    recorded_management_call,
)
from ..storage._records import WorkflowQuery
from ._management import StepInfo, check_step_listing, step_info
from ._recorded_forms import (
    row_form,
    row_from_form,
    rows_form,
    rows_from_form,
    steps_form,
    steps_from_form,
)
from ._status import WorkflowStatus

if TYPE_CHECKING:
    from .._engine.operations import Recorder
    from ._management import Management


def recorded_status(
    management: Management, recorder: Recorder | None, workflow_id: str
) -> Procedure[WorkflowStatus | None]:
    """`Management.get_status`, recorded as ``DBOS.getStatus`` (DBOS Transact 3.4's name)."""
    check_workflow_id(workflow_id)
    row = yield from recorded_management_call(
        recorder,
        GET_STATUS_NAME,
        lambda: management.get_row(workflow_id),
        stored_form=row_form,
        from_stored=row_from_form,
    )
    return None if row is None else WorkflowStatus.from_row(row, management.codec)


def recorded_listing(
    management: Management, recorder: Recorder | None, name: str, query: WorkflowQuery
) -> Procedure[list[WorkflowStatus]]:
    """`Management.list_workflows`, recorded as `name` (``DBOS.listWorkflows`` or
    ``DBOS.listQueuedWorkflows``)."""
    rows = yield from recorded_management_call(
        recorder,
        name,
        lambda: management.list_rows(query),
        stored_form=rows_form,
        from_stored=rows_from_form,
    )
    return [WorkflowStatus.from_row(row, management.codec) for row in rows]


def recorded_steps(
    management: Management,
    recorder: Recorder | None,
    workflow_id: str,
    load_output: bool,
    limit: int | None,
    offset: int | None,
) -> Procedure[list[StepInfo]]:
    """`Management.list_steps`, recorded as ``DBOS.listWorkflowSteps``: a replay shows the
    steps as the first execution listed them (the completion times it worked out too)."""
    check_step_listing(workflow_id, limit, offset)
    rows = yield from recorded_management_call(
        recorder,
        LIST_STEPS_NAME,
        lambda: management.list_step_rows(workflow_id, load_output, limit, offset),
        stored_form=steps_form,
        from_stored=steps_from_form,
    )
    return [step_info(management.codec, row) for row in rows]
