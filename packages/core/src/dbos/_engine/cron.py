"""Cron schedules: parse an expression, find the tick after (or at or before) a time.

The ticks are computed by croniter, the library DBOS Transact 3.4 uses too (so an expression
means the same here and there). Five fields (minute hour day-of-month month day-of-week) or
six, with seconds first; croniter's macros (``@hourly``, ``@daily``/``@midnight``,
``@weekly``, ``@monthly``, ``@yearly``/``@annually``); lists, ranges, steps, three-letter
month and weekday names, weekday 7 as Sunday, and day-of-month OR day-of-week when both are
restricted, as in classic cron.

Croniter's own refusals say little ("is not acceptable"), so `parse_cron` first checks each
field of the plain grammar and names the field and the problem; what it does not recognise
(``L``, ``#``, ``W`` and the like) is left to croniter.

Time zones: a schedule may name an IANA zone, in which its fields are read. Across a
daylight-saving change, a wall-clock time that does not exist (02:30 on a spring-forward
night) fires once, at the first instant after the gap; a time that occurs twice (01:30 on a
fall-back night) fires once, at its first occurrence, when the schedule names its hours.
An hourly-or-finer schedule (hour field ``*``) fires in both passes of the repeated hour:
they are different hours of real time. Naive datetimes are read as they are, in no zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from .._base.errors import DBOSConfigError

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


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
# croniter's `expanded` lists its fields in this order (seconds last), '*' for "any".
_EXPANDED = {"minute": 0, "hour": 1, "day": 2, "month": 3, "weekday": 4, "second": 5}
_RANGES = {
    "minute": range(60),
    "hour": range(24),
    "day": range(1, 32),
    "month": range(1, 13),
    "weekday": range(7),
    "second": range(60),
}


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression, and the zone its fields are read in (None: UTC for aware
    times). The sets of allowed values are croniter's reading of the expression."""

    expression: str
    zone: str | None = None
    _expanded: tuple[tuple[int, ...], ...] = field(default=(), repr=False, compare=False)

    def _values(self, name: str) -> frozenset[int]:
        index = _EXPANDED[name]
        values = self._expanded[index] if index < len(self._expanded) else (0,)
        if not values:
            return frozenset(_RANGES[name])
        return frozenset(value % 7 if name == "weekday" else value for value in values)

    @property
    def seconds(self) -> frozenset[int]:
        return self._values("second")

    @property
    def minutes(self) -> frozenset[int]:
        return self._values("minute")

    @property
    def hours(self) -> frozenset[int]:
        return self._values("hour")

    @property
    def days(self) -> frozenset[int]:
        return self._values("day")

    @property
    def months(self) -> frozenset[int]:
        return self._values("month")

    @property
    def weekdays(self) -> frozenset[int]:
        """0 = Sunday ... 6 = Saturday."""
        return self._values("weekday")

    @property
    def tzinfo(self) -> tzinfo:
        return ZoneInfo(self.zone) if self.zone else timezone.utc

    @property
    def names_hours(self) -> bool:
        """Whether the hour field restricts the hours (so a repeated hour fires once)."""
        return bool(self._expanded) and bool(self._expanded[_EXPANDED["hour"]])

    def matches(self, moment: datetime) -> bool:
        """Whether `moment` (to the second, in its own wall-clock values) is a tick."""
        return previous_tick(self, moment) == moment.replace(microsecond=0)


def _error(expression: str, detail: str) -> DBOSConfigError:
    return DBOSConfigError(f"invalid cron expression {expression!r}: {detail}")


def _check_value(text: str, item: _Field, expression: str) -> int | None:
    """The value of `text`, or None if it is not plain grammar (croniter judges it)."""
    lowered = text.lower()
    if lowered in item.names:
        return item.names.index(lowered) + item.names_start
    if not text.isdigit():
        if text.isalpha() and len(text) > 1 and lowered not in ("l", "w"):
            raise _error(expression, f"{text!r} is not a valid {item.name}")
        if text.isalnum() and not any(c in "LlWw#" for c in text):
            raise _error(expression, f"{text!r} is not a valid {item.name}")
        return None
    value = int(text)
    if not item.low <= value <= item.high:
        raise _error(expression, f"{item.name} {value} is outside {item.low}-{item.high}")
    return value


def _check_field(text: str, item: _Field, expression: str) -> None:
    if text in ("*", "?"):
        return
    for part in text.split(","):
        if not part:
            raise _error(expression, f"empty item in the {item.name} list {text!r}")
        base, slash, step_text = part.partition("/")
        if slash and (not step_text.isdigit() or int(step_text) == 0):
            raise _error(expression, f"bad step {step_text!r} in {part!r}")
        if not base:
            raise _error(
                expression,
                f"step {part!r} needs a start: '*{part}' or a range such as '0-30{part}'",
            )
        if base in ("*", "?"):
            continue
        if "-" in base:
            start, _, end = base.partition("-")
            if not start or not end or "-" in end:
                raise _error(
                    expression, f"{base!r} is not a valid {item.name} range (expected low-high)"
                )
            low, high = _check_value(start, item, expression), _check_value(end, item, expression)
            if low is not None and high is not None and low > high:
                raise _error(expression, f"range {base!r} runs backwards")
        else:
            _check_value(base, item, expression)


def _check_fields(expression: str) -> None:
    parts = expression.split()
    if len(parts) == 1 and parts[0].startswith("@"):
        if parts[0].lower() not in _MACROS:
            raise _error(expression, f"unknown macro {parts[0]!r}; known: {', '.join(_MACROS)}")
        return
    if len(parts) == 5:
        parts = ["0", *parts]
    elif len(parts) != 6:
        raise _error(
            expression, f"expected 5 or 6 fields (or a macro such as @daily), got {len(parts)}"
        )
    for part, item in zip(parts, _FIELDS, strict=True):
        _check_field(part, item, expression)


def check_zone(zone: object) -> str | None:
    """`zone` if it is None or an IANA time zone name; raises `DBOSConfigError` otherwise."""
    if zone is None:
        return None
    if not isinstance(zone, str) or not zone:
        raise DBOSConfigError(f"a time zone must be an IANA zone name, got {zone!r}")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DBOSConfigError(
            f"unknown time zone {zone!r}: expected an IANA zone name such as "
            "'America/New_York' or 'UTC'"
        ) from exc
    return zone


def parse_cron(expression: str, zone: str | None = None) -> CronSchedule:
    """Parse a cron expression (5 or 6 fields, or a macro), read in IANA zone `zone` (None:
    UTC); raises `DBOSConfigError` naming the problem if either is invalid."""
    if not isinstance(expression, str):
        raise DBOSConfigError(f"a cron expression must be a string, got {expression!r}")
    _check_fields(expression)
    zone = check_zone(zone)
    try:
        expanded: list[list[Any]] = croniter(expression, second_at_beginning=True).expanded
    except CroniterError as exc:
        raise _error(expression, str(exc)) from exc
    schedule = CronSchedule(
        expression,
        zone,
        tuple(tuple(v for v in values if isinstance(v, int)) for values in expanded),
    )
    # Refuse expressions that can never fire (such as February 30th) now, not at launch.
    next_tick(schedule, datetime(2000, 1, 1))
    return schedule


def _second_pass(moment: datetime) -> bool:
    """Whether aware `moment` is the second occurrence of its wall-clock time (fall back)."""
    if moment.tzinfo is None:
        return False
    first = moment.replace(tzinfo=None).replace(tzinfo=moment.tzinfo, fold=0)
    return first.utcoffset() != moment.utcoffset()


def next_tick(schedule: CronSchedule, after: datetime) -> datetime:
    """The first tick strictly after `after` (to the second). An aware `after` gives an aware
    tick in the schedule's zone; a naive one, a naive tick."""
    start = after.replace(microsecond=0)
    if start.tzinfo is not None:
        start = start.astimezone(schedule.tzinfo)
    try:
        found = croniter(schedule.expression, start, second_at_beginning=True)
        tick: datetime = found.get_next(datetime)
        while schedule.names_hours and _second_pass(tick):
            tick = found.get_next(datetime)
    except CroniterBadDateError as exc:
        raise _error(schedule.expression, "it never fires") from exc
    return _normal(tick)


def previous_tick(schedule: CronSchedule, at_or_before: datetime) -> datetime:
    """The last tick at or before `at_or_before` (to the second)."""
    start = at_or_before.replace(microsecond=0) + timedelta(seconds=1)
    if start.tzinfo is not None:
        start = start.astimezone(schedule.tzinfo)
    try:
        found = croniter(schedule.expression, start, second_at_beginning=True)
        tick: datetime = found.get_prev(datetime)
        while schedule.names_hours and _second_pass(tick):
            tick = found.get_prev(datetime)
    except CroniterBadDateError as exc:
        raise _error(schedule.expression, "it never fires") from exc
    return _normal(tick)


def _normal(tick: datetime) -> datetime:
    # croniter may hand back a moment with a stale offset across a change; re-derive it.
    if tick.tzinfo is None:
        return tick
    return tick.astimezone(timezone.utc).astimezone(tick.tzinfo)
