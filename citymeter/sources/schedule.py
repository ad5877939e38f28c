"""A source's schedule: "every so long" ("300", "90s", "5m", "1h", "1d") or five cron fields
(minute hour day-of-month month day-of-week, with *, lists, ranges and /steps) read in the
installation's time zone."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from citymeter.errors import InvalidInput

_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# (name, lowest, highest) of each cron field.
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 6))
_MIN_INTERVAL_S = 1
_SEARCH_DAYS = (
    366 * 5
)  # a cron that matches no time within five years (e.g. 31 February) is refused


@dataclass(frozen=True)
class Schedule:
    text: str
    interval_s: int | None = None
    cron: tuple[frozenset[int], ...] | None = None
    day_any: bool = True
    weekday_any: bool = True

    def next_after(self, moment: dt.datetime, tz: str = "UTC") -> dt.datetime:
        """The first due time strictly after `moment` (UTC-aware)."""
        if self.interval_s is not None:
            return moment + dt.timedelta(seconds=self.interval_s)
        return _next_cron(self, moment, ZoneInfo(tz))


def parse_schedule(text: str) -> Schedule:
    value = text.strip()
    match = _INTERVAL.match(value)
    if match:
        seconds = int(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
        if seconds < _MIN_INTERVAL_S:
            raise InvalidInput(f"The schedule {text!r} is shorter than one second.")
        return Schedule(text=value, interval_s=seconds)
    parts = value.split()
    if len(parts) != 5:
        raise InvalidInput(
            f"The schedule {text!r} is neither an interval (300, 90s, 5m, 1h, 1d) nor five cron "
            "fields (minute hour day month weekday, e.g. '*/10 6-22 * * *')."
        )
    sets = tuple(
        _cron_field(part, name, low, high)
        for part, (name, low, high) in zip(parts, _FIELDS, strict=True)
    )
    # Cron counts Sunday as 0 or 7.
    weekdays = frozenset(0 if d == 7 else d for d in sets[4])
    schedule = Schedule(
        text=value,
        cron=(*sets[:4], weekdays),
        day_any=parts[2] == "*",
        weekday_any=parts[4] == "*",
    )
    start = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    _next_cron(schedule, start, ZoneInfo("UTC"))  # refuses a schedule that never fires
    return schedule


def _cron_field(part: str, name: str, low: int, high: int) -> frozenset[int]:
    top = 7 if name == "weekday" else high
    values: set[int] = set()
    for item in part.split(","):
        base, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                first, last = low, high
            elif "-" in base:
                first_text, last_text = base.split("-", 1)
                first, last = int(first_text), int(last_text)
            else:
                first = last = int(base)
                if step_text:
                    last = high
        except ValueError:
            raise InvalidInput(f"The cron {name} field {part!r} is not understood.") from None
        if step < 1 or first < low or last > top or first > last:
            raise InvalidInput(
                f"The cron {name} field {part!r} is out of range ({low}-{top}, step ≥ 1)."
            )
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _day_matches(schedule: Schedule, day: dt.date) -> bool:
    assert schedule.cron is not None
    _, _, days, months, weekdays = schedule.cron
    if day.month not in months:
        return False
    in_days = day.day in days
    in_weekdays = (day.isoweekday() % 7) in weekdays
    # Cron's rule: when both day fields are restricted, either one matching is enough.
    if not schedule.day_any and not schedule.weekday_any:
        return in_days or in_weekdays
    return in_days and in_weekdays


def _next_cron(schedule: Schedule, moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    assert schedule.cron is not None
    minutes, hours = schedule.cron[0], schedule.cron[1]
    local = moment.astimezone(tz).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    day = local.date()
    for _ in range(_SEARCH_DAYS):
        if _day_matches(schedule, day):
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    candidate = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                    if candidate >= local:
                        return candidate.astimezone(dt.UTC)
        day += dt.timedelta(days=1)
    raise InvalidInput(f"The schedule {schedule.text!r} never comes due.")
