"""When citizens call: the daily and weekly rhythm of the demo city's complaints and incidents.

Complaints come in office hours (a peak late in the morning, another after lunch, a tail in the
evening) and far fewer at night and at weekends; emergency calls follow the city's waking hours
with a flatter curve. `hour_slots` turns a rhythm into weighted hours of the recent past, from
which a seeded generator draws moments.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

# Relative weight of each local hour (0-23).
COMPLAINT_HOURS: tuple[float, ...] = (
    0.15, 0.08, 0.05, 0.04, 0.04, 0.08, 0.2, 0.45, 0.9, 1.4, 1.7, 1.8,
    1.3, 1.5, 1.7, 1.6, 1.45, 1.25, 1.0, 0.85, 0.7, 0.55, 0.4, 0.25,
)  # fmt: skip
INCIDENT_HOURS: tuple[float, ...] = (
    0.55, 0.45, 0.35, 0.3, 0.3, 0.35, 0.5, 0.8, 1.1, 1.1, 1.0, 1.0,
    1.05, 1.05, 1.0, 1.05, 1.1, 1.2, 1.3, 1.3, 1.2, 1.05, 0.9, 0.7,
)  # fmt: skip
# Monday .. Sunday.
COMPLAINT_WEEKDAYS: tuple[float, ...] = (1.15, 1.05, 1.0, 1.0, 0.95, 0.5, 0.4)
INCIDENT_WEEKDAYS: tuple[float, ...] = (1.0, 0.95, 0.95, 1.0, 1.1, 1.15, 1.05)


@dataclass(frozen=True)
class Rhythm:
    hours: tuple[float, ...]
    weekdays: tuple[float, ...]

    def weight(self, local: dt.datetime) -> float:
        return self.hours[local.hour] * self.weekdays[local.weekday()]


COMPLAINTS = Rhythm(COMPLAINT_HOURS, COMPLAINT_WEEKDAYS)
INCIDENTS = Rhythm(INCIDENT_HOURS, INCIDENT_WEEKDAYS)


@dataclass(frozen=True)
class Slot:
    """One local hour of the past: its start (UTC), how long of it has passed, its weight."""

    start: dt.datetime
    seconds: float
    weight: float


def hour_slots(
    rhythm: Rhythm, now: dt.datetime, days: float, tz: ZoneInfo, *, growth: float = 0.0
) -> list[Slot]:
    """The hours of the last `days` days up to `now` (the current hour only in part), weighted
    by `rhythm`; `growth` > 0 makes recent hours heavier (per week, e.g. 0.05 = +5 %)."""
    now = now.astimezone(dt.UTC)
    first = (now - dt.timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    slots: list[Slot] = []
    start = first
    while start < now:
        seconds = min(3600.0, (now - start).total_seconds())
        weeks_back = (now - start).total_seconds() / (7 * 86400)
        weight = rhythm.weight(start.astimezone(tz)) * (1 + growth) ** (-weeks_back)
        slots.append(Slot(start, seconds, weight * seconds / 3600))
        start += dt.timedelta(hours=1)
    return slots


def draw_moments(rng: random.Random, slots: Sequence[Slot], count: int) -> list[dt.datetime]:
    """`count` moments drawn from the weighted slots, newest first."""
    if not slots or count <= 0:
        return []
    picked = rng.choices(slots, [s.weight for s in slots], k=count)
    moments = [s.start + dt.timedelta(seconds=int(rng.uniform(0, s.seconds))) for s in picked]
    return sorted(moments, reverse=True)
