"""Cron schedules: parse an expression, find the tick after (or at or before) a time.

Pure functions, no I/O. Five fields (minute hour day-of-month month day-of-week) or six, with
seconds first. Each field is ``*`` or a comma-separated list of values, ranges ``a-b`` and
steps ``*/n``, ``a-b/n`` or ``a/n`` (from a to the field's maximum). Months and weekdays also
take three-letter English names (``jan``, ``mon``); weekday 0 and 7 are both Sunday; ``?`` means
``*``. As in classic cron, when both day-of-month and day-of-week are restricted a day matches
if either does. Times are naive or aware datetimes; the fields are matched against the
datetime's own wall-clock values (the scheduler passes UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .._base.errors import DBOSConfigError

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: A search gives up after this many moves (an expression such as "0 0 30 2 *" never fires).
_MAX_MOVES = 200_000


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_start: int = 0


_FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _WEEKDAYS, 0),
)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression: the allowed values of each field."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday ... 6 = Saturday
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, moment: datetime) -> bool:
        in_days = moment.day in self.days
        in_weekdays = (moment.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def matches(self, moment: datetime) -> bool:
        return (
            moment.month in self.months
            and self.matches_day(moment)
            and moment.hour in self.hours
            and moment.minute in self.minutes
            and moment.second in self.seconds
        )


def _error(expression: str, detail: str) -> DBOSConfigError:
    return DBOSConfigError(f"invalid cron expression {expression!r}: {detail}")


def _value(text: str, field: _Field, expression: str) -> int:
    lowered = text.lower()
    if lowered in field.names:
        return field.names.index(lowered) + field.names_start
    if not text.isdigit():
        raise _error(expression, f"{text!r} is not a valid {field.name}")
    value = int(text)
    if not field.low <= value <= field.high:
        raise _error(expression, f"{field.name} {value} is outside {field.low}-{field.high}")
    return value


def _parse_field(text: str, field: _Field, expression: str) -> tuple[frozenset[int], bool]:
    """The values a field allows, and whether it restricts anything (is not ``*``)."""
    if text in ("*", "?"):
        return frozenset(range(field.low, field.high + 1)), False
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise _error(expression, f"bad step {step_text!r} in {item!r}")
            step = int(step_text)
        if base in ("*", "?"):
            low, high = field.low, field.high
        elif "-" in base:
            start, _, end = base.partition("-")
            low, high = _value(start, field, expression), _value(end, field, expression)
            if low > high:
                raise _error(expression, f"range {base!r} runs backwards")
        else:
            low = _value(base, field, expression)
            high = field.high if slash else low
        values.update(range(low, high + 1, step))
    return frozenset(values), True


def parse_cron(expression: str) -> CronSchedule:
    """Parse a 5- or 6-field cron expression; raises `DBOSConfigError` if it is invalid."""
    if not isinstance(expression, str):
        raise DBOSConfigError(f"a cron expression must be a string, got {expression!r}")
    parts = expression.split()
    if len(parts) == 5:
        parts = ["0", *parts]
    elif len(parts) != 6:
        raise _error(expression, f"expected 5 or 6 fields, got {len(parts)}")
    parsed = [
        _parse_field(part, field, expression) for part, field in zip(parts, _FIELDS, strict=True)
    ]
    weekdays = frozenset(day % 7 for day in parsed[5][0])
    schedule = CronSchedule(
        expression=expression,
        seconds=parsed[0][0],
        minutes=parsed[1][0],
        hours=parsed[2][0],
        days=parsed[3][0],
        months=parsed[4][0],
        weekdays=weekdays,
        days_restricted=parsed[3][1],
        weekdays_restricted=parsed[5][1],
    )
    # Refuse expressions that can never fire (such as February 30th) now, not at launch.
    next_tick(schedule, datetime(2000, 1, 1))
    return schedule


def _start_of_next_month(moment: datetime) -> datetime:
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def next_tick(schedule: CronSchedule, after: datetime) -> datetime:
    """The first time strictly after `after` (to the second) that the schedule fires."""
    moment = after.replace(microsecond=0) + timedelta(seconds=1)
    for _ in range(_MAX_MOVES):
        if moment.month not in schedule.months:
            moment = _start_of_next_month(moment)
        elif not schedule.matches_day(moment):
            moment = moment.replace(hour=0, minute=0, second=0) + timedelta(days=1)
        elif moment.hour not in schedule.hours:
            moment = moment.replace(minute=0, second=0) + timedelta(hours=1)
        elif moment.minute not in schedule.minutes:
            moment = moment.replace(second=0) + timedelta(minutes=1)
        elif moment.second not in schedule.seconds:
            moment += timedelta(seconds=1)
        else:
            return moment
    raise _error(schedule.expression, "it never fires")


def previous_tick(schedule: CronSchedule, at_or_before: datetime) -> datetime:
    """The last time at or before `at_or_before` (to the second) that the schedule fired."""
    moment = at_or_before.replace(microsecond=0)
    for _ in range(_MAX_MOVES):
        if moment.month not in schedule.months:
            moment = moment.replace(day=1, hour=0, minute=0, second=0) - timedelta(seconds=1)
        elif not schedule.matches_day(moment):
            moment = moment.replace(hour=0, minute=0, second=0) - timedelta(seconds=1)
        elif moment.hour not in schedule.hours:
            moment = moment.replace(minute=0, second=0) - timedelta(seconds=1)
        elif moment.minute not in schedule.minutes:
            moment = moment.replace(second=0) - timedelta(seconds=1)
        elif moment.second not in schedule.seconds:
            moment -= timedelta(seconds=1)
        else:
            return moment
    raise _error(schedule.expression, "it never fires")
