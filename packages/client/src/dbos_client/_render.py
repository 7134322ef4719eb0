"""How the `dbos` command shows workflows and steps: tables for people, JSON for machines.
Pure functions of the records; no I/O.

Tables are laid out by `rich` (display width of CJK and emoji, ellipsis for long cells)
rather than by hand; every cell is plain text (never rich markup), with control and
bidirectional-override characters escaped first, so stored strings cannot rewrite the
terminal or the layout.
"""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

import dbos
import dbos.error
from dbos import DBOSRemoteError, WorkflowStatus
from dbos.management import (
    ActionResult,
    RecordedTimes,
    StepInfo,
    StrandedCount,
    UnreadableValue,
    wake_up_ms,
)

#: Widest a table cell gets before it is cut with an ellipsis (display columns). A UUID is
#: 36 wide: IDs up to 40 show whole; `--json` always has the full values.
MAX_CELL_WIDTH = 40
#: The result column of step listings, which holds values and error messages.
MAX_RESULT_WIDTH = 60


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


def public_type_name(type_name: str) -> str:
    """The name people import an exception class by, from its dotted module path (ours, for
    the `dbos` command and the dashboard).

    A class of ours defined in a private module (``dbos._base.errors.DBOSNotAuthorizedError``)
    is named by the public module that exports that same class: ``dbos.error.X`` (which holds
    every error class), else ``dbos.X``. Any other name (``builtins.ValueError``, the app's
    ``shop.orders.Outage``, a private class no public module exports) is returned unchanged.
    Works on names alone, so a `DBOSRemoteError`'s stored type name maps too.
    """
    module, _, name = type_name.rpartition(".")
    parts = module.split(".")
    if parts[0] != "dbos" or not any(part.startswith("_") for part in parts[1:]):
        return type_name
    for public in (dbos.error, dbos):
        found = getattr(public, name, None)
        # The same class, not another one that happens to share the short name.
        if isinstance(found, type) and f"{found.__module__}.{found.__qualname__}" == type_name:
            return f"{public.__name__}.{name}"
    return type_name


def error_record(error: BaseException) -> dict[str, Any]:
    """An exception as ``{"type", "message"}`` (and ``"traceback"`` for a `DBOSRemoteError`,
    which keeps the stored text); ``type`` is the class's `public_type_name`."""
    if isinstance(error, DBOSRemoteError):
        return {
            "type": public_type_name(error.type_name),
            "message": error.message,
            "traceback": error.traceback_text,
        }
    kind = public_type_name(f"{type(error).__module__}.{type(error).__qualname__}")
    return {"type": kind, "message": str(error)}


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
        "class_name": status.class_name,
        "config_name": status.config_name,
        "queue_name": status.queue_name,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.updated_at),
        "completed_at": iso(status.completed_at),
        "executor_id": status.executor_id,
        "app_version": status.app_version,
        "recovery_attempts": status.recovery_attempts,
        "parent_workflow_id": status.parent_workflow_id,
        "forked_from": status.forked_from,
        "schedule_name": status.schedule_name,
        "deadline": iso(status.workflow_deadline_epoch_ms),
        "workflow_timeout_ms": status.workflow_timeout_ms,
        "delay_until": iso(status.delay_until_epoch_ms),
        "was_forked_from": status.was_forked_from,
        "application_name": status.application_name,
        "attributes": status.attributes,
        "authenticated_user": status.authenticated_user,
        "authenticated_roles": status.authenticated_roles,
        "assumed_role": status.assumed_role,
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


def printable(text: str) -> str:
    r"""`text` with control characters (newlines and escape sequences included) and Unicode
    format characters (bidirectional overrides, zero-width joiners aside) written as
    ``\xNN`` / ``\uNNNN`` escapes, so that it shows as one inert line."""
    out = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc" or (category == "Cf" and char != "\u200d"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class Column:
    """A table column: its header and the widest its cells may be (None: no limit)."""

    header: str
    max_width: int | None = MAX_CELL_WIDTH


def table(columns: Sequence[Column | str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns two spaces apart, sized by display width; None shows as '-'.
    Cells longer than their column's `max_width` end with an ellipsis."""
    grid = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 2, 0, 0), expand=False)
    for column in columns:
        spec = column if isinstance(column, Column) else Column(column)
        grid.add_column(
            Text(spec.header), no_wrap=True, overflow="ellipsis", max_width=spec.max_width
        )
    for row in rows:
        grid.add_row(*(Text(printable("-" if cell is None else str(cell))) for cell in row))
    buffer = io.StringIO()
    # Wide enough that rich never squeezes the table: only `max_width` truncates.
    console = Console(
        file=buffer,
        width=100_000,
        color_system=None,
        markup=False,
        highlight=False,
        emoji=False,
        legacy_windows=False,
        force_terminal=False,
    )
    console.print(grid, crop=False, soft_wrap=False)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def duration(started_ms: int | None, completed_ms: int | None) -> str | None:
    """How long a step took, for people: ``250 ms``, ``4.2 s``, ``3 min 05 s``, ``2 h 10 min``."""
    if started_ms is None or completed_ms is None:
        return None
    ms = max(0, completed_ms - started_ms)
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    seconds = ms // 1000
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


WORKFLOW_HEADERS = (
    Column("WORKFLOW ID"),
    Column("STATUS"),
    Column("NAME"),
    Column("QUEUE"),
    Column("CREATED (UTC)"),
    Column("EXECUTOR"),
    Column("VERSION"),
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


STEP_HEADERS = (
    Column("STEP"),
    Column("FUNCTION"),
    Column("RESULT", MAX_RESULT_WIDTH),
    Column("CHILD WORKFLOW"),
    Column("STARTED (UTC)"),
    Column("DURATION"),
)


def _wake_up(step: StepInfo) -> int | None:
    return wake_up_ms(
        RecordedTimes(
            step["function_id"],
            step["function_name"],
            step["output"],
            step["started_at_epoch_ms"],
            step["completed_at_epoch_ms"],
        )
    )


def step_row(step: StepInfo) -> list[object]:
    error = step["error"]
    wake_up = _wake_up(step)
    if error is not None:
        record = error_record(error)
        result = f"raised {str(record['type']).rsplit('.', 1)[-1]}: {record['message']}"
    elif wake_up is not None:
        result = f"wake-up at {iso(wake_up)}"
    else:
        result = json.dumps(plain(step["output"]), ensure_ascii=False)
    started, completed = step["started_at_epoch_ms"], step["completed_at_epoch_ms"]
    shown = duration(started, completed)
    if shown is None and wake_up is not None and started is not None:
        shown = "waiting"
    return [
        step["function_id"],
        step["function_name"],
        " ".join(result.split()),
        step["child_workflow_id"],
        iso(started),
        shown,
    ]


#: How each action outcome reads in the `dbos workflow cancel/resume/delete` report.
OUTCOME_TEXT = {
    "cancelled": "cancelled",
    "already_cancelled": "already cancelled",
    "cancelled_child": "cancelled (descendant)",
    "already_finished": "not cancelled: it had already finished",
    "resumed": "resumed: queued to continue from its last recorded step",
    "already_queued_or_running": "not resumed: already queued or running",
    "not_resumable": "not resumed: it had already succeeded",
    "deleted": "deleted",
    "deleted_child": "deleted (child workflow)",
    "moved": "moved: queued for the new version's processes",
    "not_movable": "not moved: running in a live process, or finished",
    "not_found": "not found",
}
ACTION_HEADERS = (Column("WORKFLOW ID"), Column("RESULT", None), Column("STATUS NOW"))


def action_row(result: ActionResult) -> list[object]:
    status = result.status
    if status is None and result.outcome in ("deleted", "deleted_child"):
        status = "(deleted)"
    return [result.workflow_id, OUTCOME_TEXT.get(result.outcome, result.outcome), status]


def action_record(result: ActionResult) -> dict[str, Any]:
    return {
        "workflow_id": result.workflow_id,
        "outcome": result.outcome,
        "status": result.status,
        "ok": result.ok,
    }


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
        lines.append(f"{key + ':':<20}{printable(shown)}")
    return "\n".join(lines)


STRANDED_HEADERS = (
    Column("VERSION"),
    Column("PENDING"),
    Column("ENQUEUED"),
    Column("OLDEST CREATED"),
)


def stranded_row(count: StrandedCount) -> list[object]:
    version = count["application_version"]
    return [
        "(none: latest version's)" if version is None else version,
        count["pending"],
        count["enqueued"],
        iso(count["oldest_created_at"]),
    ]
