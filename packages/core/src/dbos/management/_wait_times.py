"""When a workflow's internal waits really ended, for step listings (ours).

`DBOS.sleep`, and the timeout of `DBOS.recv` / `DBOS.get_event`, are recorded once, before the
wait, as an operation named ``DBOS.sleep`` whose output is the wake-up time (epoch seconds, a
float, as in DBOS Transact). Its checkpoint time says nothing about how long the wait lasted,
so a listing derives the end: the wake-up time, or earlier when the receive or event read it
guards (the operation just before it) finished first; None while the wait is still going.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .._engine.messaging import GET_EVENT_NAME, RECV_NAME
from .._engine.step import SLEEP_NAME

_GUARDED = (RECV_NAME, GET_EVENT_NAME)


@dataclass(frozen=True)
class RecordedTimes:
    """One recorded operation as the derivation needs it: times in epoch milliseconds, and
    the decoded output (the wake-up time, in epoch seconds, for a wait)."""

    function_id: int
    function_name: str
    output: object
    started_at_ms: int | None
    completed_at_ms: int | None


def wake_up_ms(record: RecordedTimes) -> int | None:
    """The wake-up time of an internal wait in epoch milliseconds; None for other records."""
    output = record.output
    if record.function_name != SLEEP_NAME or isinstance(output, bool):
        return None
    if not isinstance(output, (int, float)):
        return None
    # Floored like `now_ms()`, so a wait that ran to its wake-up time ends exactly there.
    return math.floor(output * 1000)


def wait_completions(records: Sequence[RecordedTimes], now_ms: int) -> dict[int, int | None]:
    """For each internal wait among `records` (a workflow's operations), when it ended: its
    wake-up time, or the end of the receive / event read it guards if that came first;
    None if it has not ended at `now_ms`. Keyed by function ID; other records are absent."""
    by_id = {record.function_id: record for record in records}
    ends: dict[int, int | None] = {}
    for record in records:
        wake = wake_up_ms(record)
        if wake is None:
            continue
        end = wake
        guarded = by_id.get(record.function_id - 1)
        if (
            guarded is not None
            and guarded.function_name in _GUARDED
            and guarded.completed_at_ms is not None
        ):
            end = min(end, guarded.completed_at_ms)
        ends[record.function_id] = end if end <= now_ms else None
    return ends
