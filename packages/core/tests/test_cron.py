"""The cron parser and tick arithmetic: pure functions, no database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

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
        ("1,,2 * * * *", "empty item in the minute list '1,,2'"),
        ("* 9, * * *", "empty item in the hour list '9,'"),
        ("/5 * * * *", "step '/5' needs a start"),
        ("1-/2 * * * *", "'1-' is not a valid minute range"),
        ("* * * 1-2-3 *", "'1-2-3' is not a valid month range"),
    ],
)
def test_invalid_expressions_are_refused(expression: str, message: str) -> None:
    with pytest.raises(DBOSConfigError, match=message):
        parse_cron(expression)


NEW_YORK = ZoneInfo("America/New_York")


def local_ticks(expression: str, zone: str, start: datetime, count: int) -> list[str]:
    schedule = parse_cron(expression, zone)
    found, moment = [], start
    for _ in range(count):
        moment = next_tick(schedule, moment)
        found.append(moment.isoformat())
    return found


def test_a_daily_time_in_the_spring_forward_gap_runs_once_after_the_gap() -> None:
    # 2024-03-10, New York: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist that day.
    start = datetime(2024, 3, 9, 12, tzinfo=NEW_YORK)
    assert local_ticks("30 2 * * *", "America/New_York", start, 3) == [
        "2024-03-10T03:00:00-04:00",
        "2024-03-11T02:30:00-04:00",
        "2024-03-12T02:30:00-04:00",
    ]


def test_a_daily_time_in_the_fall_back_repeat_runs_once_at_its_first_occurrence() -> None:
    # 2024-11-03, New York: 02:00 EDT goes back to 01:00 EST, so 01:30 happens twice.
    start = datetime(2024, 11, 2, 12, tzinfo=NEW_YORK)
    assert local_ticks("30 1 * * *", "America/New_York", start, 2) == [
        "2024-11-03T01:30:00-04:00",
        "2024-11-04T01:30:00-05:00",
    ]
    schedule = parse_cron("30 1 * * *", "America/New_York")
    second_pass = datetime(2024, 11, 3, 6, 45, tzinfo=timezone.utc)  # 01:45 EST
    assert previous_tick(schedule, second_pass).isoformat() == "2024-11-03T01:30:00-04:00"
    # Asked from inside the repeated hour, the next run is the next day's.
    assert next_tick(schedule, second_pass).isoformat() == "2024-11-04T01:30:00-05:00"


def test_a_schedule_of_every_hour_runs_in_both_passes_of_the_repeated_hour() -> None:
    start = datetime(2024, 11, 3, 0, 45, tzinfo=NEW_YORK)
    assert local_ticks("*/30 * * * *", "America/New_York", start, 5) == [
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:30:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T01:30:00-05:00",
        "2024-11-03T02:00:00-05:00",
    ]


def test_utc_and_aware_inputs_in_another_zone_give_ticks_in_the_schedules_zone() -> None:
    schedule = parse_cron("0 9 * * *", "Europe/Paris")
    tick = next_tick(schedule, datetime(2024, 7, 1, 12, tzinfo=timezone.utc))
    assert tick.isoformat() == "2024-07-02T09:00:00+02:00"
    assert next_tick(parse_cron("0 9 * * *"), datetime(2024, 7, 1, 12, tzinfo=NEW_YORK)) == (
        datetime(2024, 7, 2, 9, tzinfo=timezone.utc)
    )


@pytest.mark.parametrize(
    ("macro", "after", "expected"),
    [
        ("@hourly", datetime(2024, 1, 1, 10, 30), datetime(2024, 1, 1, 11)),
        ("@daily", datetime(2024, 1, 1, 10, 30), datetime(2024, 1, 2)),
        ("@midnight", datetime(2024, 1, 1, 10, 30), datetime(2024, 1, 2)),
        ("@weekly", datetime(2024, 1, 1, 10, 30), datetime(2024, 1, 7)),  # a Sunday
        ("@monthly", datetime(2024, 1, 1, 10, 30), datetime(2024, 2, 1)),
        ("@yearly", datetime(2024, 1, 1, 10, 30), datetime(2025, 1, 1)),
        ("@annually", datetime(2024, 1, 1, 10, 30), datetime(2025, 1, 1)),
    ],
)
def test_macros(macro: str, after: datetime, expected: datetime) -> None:
    assert next_tick(parse_cron(macro), after) == expected


@pytest.mark.parametrize(
    ("expression", "zone", "message"),
    [
        ("@fortnightly", None, "unknown macro '@fortnightly'"),
        ("@daily", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("@daily", "", "must be an IANA zone name"),
    ],
)
def test_bad_macros_and_zones_are_refused(expression: str, zone: str | None, message: str) -> None:
    with pytest.raises(DBOSConfigError, match=message):
        parse_cron(expression, zone)
