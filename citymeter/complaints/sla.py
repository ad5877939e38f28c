"""Service levels of complaints per district and month: received, closed, open backlog at the
month's end, median and mean processing hours, share closed after the deadline, top types.

Months are calendar months in the city's time zone. Processing time is closing minus opening of
the requests closed in the month, negative durations (closes recorded before opens) included as
they are. "Closed late" is closed after the request's expected time; requests without a deadline
are not counted in that share.

`buckets` is the one place that sorts requests into periods (month, quarter or year) and places
(any key the caller gives); `monthly` (the `complaints sla` command) and the indicator engine's
complaints input resolver (`metrics.py`) both build on it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.complaints.models import ServiceRequest
from citymeter.places.models import Area, City

CITY_WIDE = "all"
GRAINS = ("month", "quarter", "year")


class Row(NamedTuple):
    district_id: int | None
    area_id: int | None
    service_code: str
    requested_at: dt.datetime
    closed_at: dt.datetime | None
    expected_at: dt.datetime | None
    source: str | None

    @property
    def hours(self) -> float | None:
        """Opening to closing in hours (negative when the close was recorded before the open)."""
        if self.closed_at is None:
            return None
        return (self.closed_at - self.requested_at).total_seconds() / 3600

    @property
    def late(self) -> bool | None:
        """Closed after its deadline; None while open or without a deadline."""
        if self.closed_at is None or self.expected_at is None:
            return None
        return self.closed_at > self.expected_at


@dataclass
class Bucket:
    """The requests of one place and period: received in it, closed in it, open at its end."""

    received: list[Row] = field(default_factory=list)
    closed: list[Row] = field(default_factory=list)
    backlog: list[Row] = field(default_factory=list)


@dataclass
class SlaFigures:
    district: str  # area code, "unassigned", or "all" for the whole city
    month: dt.date
    received: int = 0
    closed: int = 0
    backlog: int = 0
    median_hours: float | None = None
    mean_hours: float | None = None
    closed_late: int = 0
    with_deadline: int = 0
    top_types: list[tuple[str, int]] = field(default_factory=list)
    hours: list[float] = field(default_factory=list, repr=False)

    @property
    def closed_late_share(self) -> float | None:
        return self.closed_late / self.with_deadline if self.with_deadline else None


def period_start(value: dt.datetime, zone: ZoneInfo, grain: str = "month") -> dt.date:
    """The first day of the month, quarter or year holding `value` in the city's time zone."""
    local = value.astimezone(zone)
    if grain == "year":
        return dt.date(local.year, 1, 1)
    if grain == "quarter":
        return dt.date(local.year, (local.month - 1) // 3 * 3 + 1, 1)
    return dt.date(local.year, local.month, 1)


def next_period(start: dt.date, grain: str = "month") -> dt.date:
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def periods_between(first: dt.date, last: dt.date, grain: str) -> list[dt.date]:
    found = []
    current = first
    while current <= last:
        found.append(current)
        current = next_period(current, grain)
    return found


def _month_of(value: dt.datetime, zone: ZoneInfo) -> dt.date:
    return period_start(value, zone, "month")


def load_rows(session: Session, city: City) -> list[Row]:
    stmt = select(
        ServiceRequest.district_id,
        ServiceRequest.area_id,
        ServiceRequest.service_code,
        ServiceRequest.requested_at,
        ServiceRequest.closed_at,
        ServiceRequest.expected_at,
        ServiceRequest.source_id,
    ).where(ServiceRequest.city_id == city.id)
    return [Row(*r) for r in session.execute(stmt)]


def as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def buckets(
    rows: Iterable[Row],
    zone: ZoneInfo,
    grain: str,
    periods: list[dt.date],
    places: Callable[[Row], Iterable[Hashable]],
) -> dict[tuple[Hashable, dt.date], Bucket]:
    """Sort requests into (place, period) buckets for the given periods (sorted starts)."""
    wanted = set(periods)
    ends = [
        dt.datetime.combine(next_period(p, grain), dt.time(), tzinfo=zone).astimezone(dt.UTC)
        for p in periods
    ]
    found: dict[tuple[Hashable, dt.date], Bucket] = defaultdict(Bucket)
    for r in rows:
        opened_at = as_utc(r.requested_at)
        closed_at = as_utc(r.closed_at) if r.closed_at is not None else None
        opened = period_start(opened_at, zone, grain)
        closed = period_start(closed_at, zone, grain) if closed_at is not None else None
        # Open at a period's end: opened before the end, not closed by it.
        first = bisect.bisect_right(ends, opened_at)
        last = len(ends) if closed_at is None else bisect.bisect_right(ends, closed_at)
        for place in places(r):
            if opened in wanted:
                found[(place, opened)].received.append(r)
            if closed is not None and closed in wanted:
                found[(place, closed)].closed.append(r)
            for index in range(first, last):
                found[(place, periods[index])].backlog.append(r)
    return dict(found)


def processing_hours(session: Session, city: City) -> list[float]:
    """Opening to closing, in hours, of every closed request of the city."""
    return [h for r in load_rows(session, city) if (h := r.hours) is not None]


def figures(place: str, month: dt.date, bucket: Bucket) -> SlaFigures:
    """The service-level figures of one bucket."""
    hours = [h for r in bucket.closed if (h := r.hours) is not None]
    late = [flag for r in bucket.closed if (flag := r.late) is not None]
    return SlaFigures(
        district=place,
        month=month,
        received=len(bucket.received),
        closed=len(bucket.closed),
        backlog=len(bucket.backlog),
        median_hours=statistics.median(hours) if hours else None,
        mean_hours=statistics.fmean(hours) if hours else None,
        closed_late=sum(late),
        with_deadline=len(late),
        top_types=Counter(r.service_code for r in bucket.received).most_common(5),
        hours=hours,
    )


def monthly(session: Session, city: City, month: dt.date | None = None) -> list[SlaFigures]:
    """Figures per (district, month), plus a city-wide row per month; one month if given."""
    zone = ZoneInfo(city.timezone)
    rows = load_rows(session, city)
    codes: dict[int, str] = {
        row.id: row.code
        for row in session.execute(select(Area.id, Area.code).where(Area.city_id == city.id))
    }
    months = sorted({_month_of(as_utc(r.requested_at), zone) for r in rows})
    if month is not None:
        months = [month.replace(day=1)]

    def places(r: Row) -> tuple[str, str]:
        district = codes.get(r.district_id, "unassigned") if r.district_id else "unassigned"
        return district, CITY_WIDE

    found = buckets(rows, zone, "month", months, places)
    result = [figures(str(place), start, bucket) for (place, start), bucket in found.items()]
    return sorted(result, key=lambda f: (f.month, f.district != CITY_WIDE, f.district))
