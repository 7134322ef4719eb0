"""How the `dbos` command shows workflows and steps: aligned tables for people, JSON for
machines. Pure functions of the records; no I/O."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from dbos import DBOSRemoteError, WorkflowStatus
from dbos._management import StepInfo
from dbos._serialization import UnreadableValue


def iso(epoch_ms: int | None) -> str | None:
    """Epoch milliseconds as an ISO 8601 UTC time (millisecond precision)."""
    if epoch_ms is None:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """A JSON-ready form of a stored value: JSON values as they are, exceptions as their type
    and message, anything else (unreadable pickles, other objects) as readable text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, BaseException):
        return error_record(value)
    if isinstance(value, UnreadableValue):
        return repr(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return repr(value)


def error_record(error: BaseException) -> dict[str, Any]:
    if isinstance(error, DBOSRemoteError):
        return {
            "type": error.type_name,
            "message": error.message,
            "traceback": error.traceback_text,
        }
    return {"type": f"{type(error).__module__}.{type(error).__qualname__}", "message": str(error)}


def error_text(error: BaseException | None) -> str:
    if error is None:
        return ""
    record = error_record(error)
    return f"{record['type']}: {record['message']}"


def workflow_record(status: WorkflowStatus) -> dict[str, Any]:
    return {
        "workflow_id": status.workflow_id,
        "status": status.status,
        "name": status.name,
        "queue_name": status.queue_name,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.updated_at),
        "executor_id": status.executor_id,
        "app_version": status.app_version,
        "recovery_attempts": status.recovery_attempts,
        "parent_workflow_id": status.parent_workflow_id,
        "deadline": iso(status.workflow_deadline_epoch_ms),
        "input": plain(status.input),
        "output": plain(status.output),
        "error": None if status.error is None else error_record(status.error),
    }


def step_record(step: StepInfo) -> dict[str, Any]:
    return {
        "step_id": step["function_id"],
        "function_name": step["function_name"],
        "output": plain(step["output"]),
        "error": None if step["error"] is None else error_record(step["error"]),
        "child_workflow_id": step["child_workflow_id"],
        "started_at": iso(step["started_at_epoch_ms"]),
        "completed_at": iso(step["completed_at_epoch_ms"]),
    }


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces; None shows as '-'."""
    cells = [[("-" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines
    )


def short(text: str, width: int = 80) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[: width - 3] + "..."


WORKFLOW_HEADERS = (
    "WORKFLOW ID",
    "STATUS",
    "NAME",
    "QUEUE",
    "CREATED (UTC)",
    "EXECUTOR",
    "VERSION",
)


def workflow_row(status: WorkflowStatus) -> list[object]:
    return [
        status.workflow_id,
        status.status,
        status.name,
        status.queue_name,
        iso(status.created_at),
        status.executor_id,
        status.app_version,
    ]


STEP_HEADERS = ("STEP", "FUNCTION", "RESULT", "CHILD WORKFLOW", "STARTED (UTC)", "DURATION")


def step_row(step: StepInfo) -> list[object]:
    error = step["error"]
    if error is not None:
        record = error_record(error)
        result = f"raised {str(record['type']).rsplit('.', 1)[-1]}: {record['message']}"
    else:
        result = json.dumps(plain(step["output"]), ensure_ascii=False)
    started, completed = step["started_at_epoch_ms"], step["completed_at_epoch_ms"]
    duration = None if started is None or completed is None else f"{completed - started} ms"
    return [
        step["function_id"],
        step["function_name"],
        short(result),
        step["child_workflow_id"],
        iso(started),
        duration,
    ]


def workflow_details(status: WorkflowStatus) -> str:
    record = workflow_record(status)
    lines = []
    for key, value in record.items():
        if key == "error" and status.error is not None:
            shown = error_text(status.error)
        elif key in ("input", "output"):
            shown = json.dumps(value, ensure_ascii=False)
        else:
            shown = "-" if value is None else str(value)
        lines.append(f"{key + ':':<20}{shown}")
    return "\n".join(lines)
