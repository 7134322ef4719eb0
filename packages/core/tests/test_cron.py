"""The cron parser and tick arithmetic: pure functions, no database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dbos import DBOSConfigError
from dbos._engine.cron import next_tick, parse_cron, previous_tick


def ticks(expression: str, start: datetime, count: int) -> list[datetime]:
    schedule = parse_cron(expression)
    found, moment = [], start
    for _ in range(count):
        moment = next_tick(schedule, moment)
        found.append(moment)
    return found


def test_five_fields_fire_at_second_zero() -> None:
    start = datetime(2024, 1, 1, 12, 0, 30)
    assert ticks("* * * * *", start, 3) == [
        datetime(2024, 1, 1, 12, 1),
        datetime(2024, 1, 1, 12, 2),
        datetime(2024, 1, 1, 12, 3),
    ]


def test_six_fields_start_with_seconds() -> None:
    start = datetime(2024, 1, 1, 12, 0, 0, 500_000)
    assert ticks("*/20 * * * * *", start, 4) == [
        datetime(2024, 1, 1, 12, 0, 20),
        datetime(2024, 1, 1, 12, 0, 40),
        datetime(2024, 1, 1, 12, 1, 0),
        datetime(2024, 1, 1, 12, 1, 20),
    ]


def test_lists_ranges_and_steps() -> None:
    schedule = parse_cron("0,30 9-17/4 * * *")
    assert sorted(schedule.hours) == [9, 13, 17]
    assert sorted(schedule.minutes) == [0, 30]
    assert sorted(parse_cron("5/20 * * * *").minutes) == [5, 25, 45]
    assert sorted(parse_cron("1-3,10 * * * *").minutes) == [1, 2, 3, 10]


def test_names_and_sunday_as_seven() -> None:
    schedule = parse_cron("0 0 * JAN-mar sat,7")
    assert sorted(schedule.months) == [1, 2, 3]
    assert sorted(schedule.weekdays) == [0, 6]
    # 2024-01-06 was a Saturday and 2024-01-07 a Sunday.
    assert ticks("0 0 * jan sat,7", datetime(2024, 1, 5), 2) == [
        datetime(2024, 1, 6),
        datetime(2024, 1, 7),
    ]


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    # The 13th of the month, or any Friday (classic cron semantics).
    found = ticks("0 0 13 * fri", datetime(2024, 9, 1), 4)
    assert found == [
        datetime(2024, 9, 6),
        datetime(2024, 9, 13),  # a Friday the 13th counts once
        datetime(2024, 9, 20),
        datetime(2024, 9, 27),
    ]
    assert ticks("0 0 13 * *", datetime(2024, 9, 14), 1) == [datetime(2024, 10, 13)]


def test_month_ends_and_leap_days() -> None:
    assert ticks("0 0 31 * *", datetime(2024, 1, 31, 1), 2) == [
        datetime(2024, 3, 31),
        datetime(2024, 5, 31),
    ]
    assert ticks("0 12 29 2 *", datetime(2021, 1, 1), 2) == [
        datetime(2024, 2, 29, 12),
        datetime(2028, 2, 29, 12),
    ]
    assert ticks("59 59 23 31 12 *", datetime(2024, 12, 31, 23, 59, 59), 1) == [
        datetime(2025, 12, 31, 23, 59, 59)
    ]


def test_aware_datetimes_keep_their_zone() -> None:
    start = datetime(2024, 1, 1, 0, 0, 0, tzinfo=timezone.utc)
    assert ticks("0 * * * *", start, 1) == [datetime(2024, 1, 1, 1, tzinfo=timezone.utc)]


def test_previous_tick_is_at_or_before() -> None:
    schedule = parse_cron("0 */15 * * * *")
    assert previous_tick(schedule, datetime(2024, 1, 1, 12, 15)) == datetime(2024, 1, 1, 12, 15)
    assert previous_tick(schedule, datetime(2024, 1, 1, 12, 14, 59)) == datetime(2024, 1, 1, 12)
    assert previous_tick(parse_cron("0 0 29 2 *"), datetime(2027, 6, 1)) == datetime(2024, 2, 29)
    assert previous_tick(parse_cron("0 9 * * mon"), datetime(2024, 9, 4)) == datetime(2024, 9, 2, 9)


def test_next_and_previous_agree_over_a_range() -> None:
    schedule = parse_cron("7,31 */5 1-20 * mon-fri")
    moment = datetime(2024, 2, 1)
    for _ in range(50):
        following = next_tick(schedule, moment)
        assert schedule.matches(following)
        assert previous_tick(schedule, following) == following
        assert previous_tick(schedule, following - timedelta(seconds=1)) <= moment
        moment = following


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "expected 5 or 6 fields"),
        ("* * * * * * *", "expected 5 or 6 fields"),
        ("60 * * * *", "minute 60 is outside 0-59"),
        ("* 24 * * *", "hour 24 is outside"),
        ("* * 0 * *", "day of month 0 is outside"),
        ("* * * 13 *", "month 13 is outside"),
        ("* * * * 8", "day of week 8 is outside"),
        ("*/0 * * * *", "bad step"),
        ("5-1 * * * *", "runs backwards"),
        ("x * * * *", "'x' is not a valid minute"),
        ("0 0 30 2 *", "never fires"),
    ],
)
def test_invalid_expressions_are_refused(expression: str, message: str) -> None:
    with pytest.raises(DBOSConfigError, match=message):
        parse_cron(expression)
