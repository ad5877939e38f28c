"""Service levels of complaints per district and month: received, closed, open backlog at the
month's end, median and mean processing hours, share closed after the deadline, top types.

Months are calendar months in the city's time zone. Processing time is closing minus opening of
the requests closed in the month, negative durations (closes recorded before opens) included as
they are. "Closed late" is closed after the request's expected time; requests without a deadline
are not counted in that share.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.complaints.models import ServiceRequest
from citymeter.places.models import Area, City

CITY_WIDE = "all"


class _Row(NamedTuple):
    district_id: int | None
    service_code: str
    requested_at: dt.datetime
    closed_at: dt.datetime | None
    expected_at: dt.datetime | None


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


def _month_of(value: dt.datetime, zone: ZoneInfo) -> dt.date:
    local = value.astimezone(zone)
    return dt.date(local.year, local.month, 1)


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _rows(session: Session, city: City) -> list[_Row]:
    stmt = select(
        ServiceRequest.district_id,
        ServiceRequest.service_code,
        ServiceRequest.requested_at,
        ServiceRequest.closed_at,
        ServiceRequest.expected_at,
    ).where(ServiceRequest.city_id == city.id)
    return [_Row(*r) for r in session.execute(stmt)]


def processing_hours(session: Session, city: City) -> list[float]:
    """Opening to closing, in hours, of every closed request of the city."""
    return [
        (r.closed_at - r.requested_at).total_seconds() / 3600
        for r in _rows(session, city)
        if r.closed_at is not None
    ]


def monthly(session: Session, city: City, month: dt.date | None = None) -> list[SlaFigures]:
    """Figures per (district, month), plus a city-wide row per month; one month if given."""
    zone = ZoneInfo(city.timezone)
    rows = _rows(session, city)
    codes: dict[int, str] = {
        row.id: row.code
        for row in session.execute(select(Area.id, Area.code).where(Area.city_id == city.id))
    }
    months = sorted({_month_of(r.requested_at, zone) for r in rows})
    if month is not None:
        months = [month.replace(day=1)]
    figures: dict[tuple[str, dt.date], SlaFigures] = {}
    types: dict[tuple[str, dt.date], Counter[str]] = defaultdict(Counter)

    def cell(key: tuple[str, dt.date]) -> SlaFigures:
        if key not in figures:
            figures[key] = SlaFigures(district=key[0], month=key[1])
        return figures[key]

    wanted = set(months)
    ends = {
        m: dt.datetime.combine(_next_month(m), dt.time(), tzinfo=zone).astimezone(dt.UTC)
        for m in months
    }
    for r in rows:
        district = codes.get(r.district_id, "unassigned") if r.district_id else "unassigned"
        opened = _month_of(r.requested_at, zone)
        closed = _month_of(r.closed_at, zone) if r.closed_at is not None else None
        for name in (district, CITY_WIDE):
            if opened in wanted:
                cell((name, opened)).received += 1
                types[(name, opened)][r.service_code] += 1
            if closed is not None and closed in wanted:
                fig = cell((name, closed))
                fig.closed += 1
                fig.hours.append((r.closed_at - r.requested_at).total_seconds() / 3600)  # type: ignore[operator]
                if r.expected_at is not None:
                    fig.with_deadline += 1
                    fig.closed_late += r.closed_at > r.expected_at  # type: ignore[operator]
            for m, end in ends.items():
                if r.requested_at < end and (r.closed_at is None or r.closed_at >= end):
                    cell((name, m)).backlog += 1
    for key, fig in figures.items():
        if fig.hours:
            fig.median_hours = statistics.median(fig.hours)
            fig.mean_hours = statistics.fmean(fig.hours)
        fig.top_types = types[key].most_common(5)
    return sorted(figures.values(), key=lambda f: (f.month, f.district != CITY_WIDE, f.district))
