"""The stored forms of what management calls return, for recording them in a workflow
(`_engine.recorded_management`). A `WorkflowStatus` or a step listing holds decoded values
(inputs, outputs, exceptions) that the strict and portable codecs may not be able to store
as they are; their rows hold those values as the text storage keeps, so a recorded listing
stores its rows (plain JSON: strings, numbers, booleans, None) and a replay rebuilds the
statuses from them with the same decoding as the first execution. Ours: DBOS Transact stores
the decoded objects with its serializer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .._base.errors import DBOSSerializationError
from ..storage._records import WorkflowRow

_ROW_FIELDS = tuple(field.name for field in dataclasses.fields(WorkflowRow))


@dataclass(frozen=True)
class StepRow:
    """One recorded operation as a step listing shows it, its output and error still the
    stored text (None for `load_output=False`), `completed_at_ms` as the listing works it
    out (see `_wait_times`)."""

    function_id: int
    function_name: str
    output: str | None
    error: str | None
    child_workflow_id: str | None
    started_at_ms: int | None
    completed_at_ms: int | None


_STEP_FIELDS = tuple(field.name for field in dataclasses.fields(StepRow))


def _from_form(kind: type[Any], fields: tuple[str, ...], form: object) -> Any:
    if not isinstance(form, dict):
        raise DBOSSerializationError(f"a recorded {kind.__name__} is not an object: {form!r}")
    try:
        # Fields a later release adds are left out; fields it drops take their defaults.
        return kind(**{key: value for key, value in form.items() if key in fields})
    except TypeError as exc:
        raise DBOSSerializationError(f"a recorded {kind.__name__} is malformed: {exc}") from None


def row_form(row: WorkflowRow | None) -> dict[str, Any] | None:
    """`row` as a JSON object (None stays None)."""
    return None if row is None else dataclasses.asdict(row)


def row_from_form(form: object) -> WorkflowRow | None:
    """The row `row_form` gave. Raises `DBOSSerializationError` for anything else."""
    return None if form is None else _from_form(WorkflowRow, _ROW_FIELDS, form)


def rows_form(rows: list[WorkflowRow]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(row) for row in rows]


def rows_from_form(form: object) -> list[WorkflowRow]:
    if not isinstance(form, list):
        raise DBOSSerializationError(f"a recorded listing is not a list: {form!r}")
    return [_from_form(WorkflowRow, _ROW_FIELDS, item) for item in form]


def steps_form(steps: list[StepRow]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(step) for step in steps]


def steps_from_form(form: object) -> list[StepRow]:
    if not isinstance(form, list):
        raise DBOSSerializationError(f"a recorded step listing is not a list: {form!r}")
    return [_from_form(StepRow, _STEP_FIELDS, item) for item in form]
