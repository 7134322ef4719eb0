"""The `dbos` command's tables: laid out by display width, long cells cut, stored strings
shown inert (no database needed)."""

from __future__ import annotations

from typing import Any

import pytest
from rich.cells import cell_len

from dbos import DBOSNonExistentWorkflowError, DBOSRemoteError
from dbos.management import ActionResult, StepInfo
from dbos_client import _render as render


def _column_starts(line: str, cells: list[str]) -> list[int]:
    """The display column at which each of `cells` starts in `line`."""
    starts, position = [], 0
    for cell in cells:
        index = line.index(cell, position)
        starts.append(cell_len(line[:index]))
        position = index + len(cell)
    return starts


def test_columns_line_up_by_display_width() -> None:
    rows = [["注文-1", "SUCCESS"], ["emoji-🎉", "ERROR"], ["plain", "PENDING"]]
    lines = render.table(["WORKFLOW ID", "STATUS"], rows).splitlines()
    starts = {_column_starts(line, cells)[1] for line, cells in zip(lines[1:], rows, strict=True)}
    assert starts == {_column_starts(lines[0], ["WORKFLOW ID", "STATUS"])[1]}


def test_long_cells_are_cut_with_an_ellipsis_and_uuids_are_not() -> None:
    long_id = "order-" + "x" * 80
    uuid = "0b5e3c1a-2f4d-4e6b-9a7c-8d9e0f1a2b3c"
    lines = render.table(render.WORKFLOW_HEADERS[:2], [[long_id, "SUCCESS"], [uuid, "ERROR"]])
    body = lines.splitlines()[1:]
    assert long_id not in lines and "…" in body[0]
    assert cell_len(body[0].split("…")[0]) < render.MAX_CELL_WIDTH
    assert body[1].startswith(uuid + " ")


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("order-\x1b[31mred", "order-\\x1b[31mred"),
        ("two\nlines", "two\\x0alines"),
        ("bell\x07", "bell\\x07"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
        ("[bold]not markup[/bold]", "[bold]not markup[/bold]"),
    ],
)
def test_stored_strings_are_shown_inert(stored: str, shown: str) -> None:
    text = render.table(["WORKFLOW ID", "STATUS"], [[stored, "SUCCESS"]])
    assert text.splitlines()[1].startswith(shown + " ")
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert len(text.splitlines()) == 2


def _step(**overrides: Any) -> StepInfo:
    step: dict[str, Any] = {
        "function_id": 0,
        "function_name": "DBOS.sleep",
        "output": 1_745_291_230.25,
        "error": None,
        "child_workflow_id": None,
        "started_at_epoch_ms": 1_745_291_200_250,
        "completed_at_epoch_ms": 1_745_291_230_250,
    }
    step.update(overrides)
    return step  # type: ignore[return-value]


def test_a_wait_shows_its_wake_up_time_and_real_duration() -> None:
    row = render.step_row(_step())
    assert row[2] == "wake-up at 2025-04-22T03:07:10.250Z"
    assert row[5] == "30.0 s"
    still_waiting = render.step_row(_step(completed_at_epoch_ms=None))
    assert still_waiting[5] == "waiting"
    # A step whose output merely looks like a time is not a wait.
    ordinary = render.step_row(_step(function_name="compute"))
    assert ordinary[2] == "1745291230.25"


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (0, "0 ms"),
        (999, "999 ms"),
        (4200, "4.2 s"),
        (185_000, "3 min 05 s"),
        (7_800_000, "2 h 10 min"),
    ],
)
def test_durations_read_as_people_write_them(ms: int, shown: str) -> None:
    assert render.duration(1000, 1000 + ms) == shown


def test_action_reports_say_what_happened_and_the_status_now() -> None:
    rows = [
        render.action_row(ActionResult("a", "cancelled", "CANCELLED", True)),
        render.action_row(ActionResult("b", "already_finished", "SUCCESS", False)),
        render.action_row(ActionResult("c", "not_found", None, False)),
        render.action_row(ActionResult("d", "deleted", None, True)),
    ]
    assert rows == [
        ["a", "cancelled", "CANCELLED"],
        ["b", "not cancelled: it had already finished", "SUCCESS"],
        ["c", "not found", None],
        ["d", "deleted", "(deleted)"],
    ]


@pytest.mark.parametrize(
    ("defined", "shown"),
    [
        ("dbos._base.errors.DBOSNotAuthorizedError", "dbos.error.DBOSNotAuthorizedError"),
        ("dbos._base.errors.PortableWorkflowError", "dbos.error.PortableWorkflowError"),
        ("dbos._base.errors.NoSuchError", "dbos._base.errors.NoSuchError"),  # not exported
        ("dbos._engine.other.DBOSException", "dbos._engine.other.DBOSException"),  # not that class
        ("builtins.ValueError", "builtins.ValueError"),
        ("shop._orders.Outage", "shop._orders.Outage"),
        ("UnknownError", "UnknownError"),
    ],
)
def test_our_error_classes_are_named_by_their_public_module(defined: str, shown: str) -> None:
    assert render.public_type_name(defined) == shown


def test_error_records_use_public_names_for_raised_and_remote_errors() -> None:
    raised = render.error_record(DBOSNonExistentWorkflowError("gone"))
    assert raised == {
        "type": "dbos.error.DBOSNonExistentWorkflowError",
        "message": "workflow 'gone' does not exist",
    }
    # Read back without its class (a strict serializer): the stored name maps too.
    remote = DBOSRemoteError("dbos._base.errors.DBOSNotAuthorizedError", "no", "Traceback ...")
    assert render.error_record(remote)["type"] == "dbos.error.DBOSNotAuthorizedError"
    assert render.error_text(ValueError("bad")) == "builtins.ValueError: bad"
