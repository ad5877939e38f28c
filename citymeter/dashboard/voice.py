"""Citizen-voice panels: complaints received and closed today, the backlog and the late share by
district, the newest complaints and suggestions, and the topics rising this week.

Nothing personal leaves this module: no requester name, e-mail, phone or account, ever; the
complaint's own words only for viewers who see the district's internal data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from citymeter.complaints.models import ServiceRequest, ServiceType
from citymeter.dashboard.scope import Scope
from citymeter.db.base import utcnow


@dataclass(frozen=True)
class DistrictComplaints:
    code: str
    received_today: int
    closed_today: int
    backlog: int
    late: int  # open past the deadline, or closed after it (last 30 days)
    with_deadline: int

    @property
    def late_share(self) -> float | None:
        return 100 * self.late / self.with_deadline if self.with_deadline else None


@dataclass(frozen=True)
class NewestComplaint:
    id: str
    service: str
    district_code: str | None
    requested_at: dt.datetime
    status: str
    late: bool
    description: str | None  # internal only


@dataclass(frozen=True)
class Complaints:
    received_today: int
    closed_today: int
    backlog: int
    late: int
    with_deadline: int
    districts: list[DistrictComplaints]
    newest: list[NewestComplaint]
    latest_id: int

    @property
    def late_share(self) -> float | None:
        return 100 * self.late / self.with_deadline if self.with_deadline else None

    @property
    def empty(self) -> bool:
        return self.latest_id == 0


def local_midnight(scope: Scope, now: dt.datetime) -> dt.datetime:
    local = now.astimezone(scope.tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(dt.UTC)


def _naive(moment: dt.datetime) -> dt.datetime:
    """Aware UTC, whatever the database driver handed back."""
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def complaints(session: Session, scope: Scope, *, newest: int = 6) -> Complaints:
    now = utcnow()
    today = local_midnight(scope, now)
    window = _naive(now) - dt.timedelta(days=30)
    naive_now = _naive(now)
    R = ServiceRequest
    is_late = or_(
        and_(R.closed_at.is_(None), R.expected_at < naive_now),
        and_(R.closed_at.is_not(None), R.closed_at > R.expected_at),
    )
    recent = or_(R.requested_at >= window, R.closed_at.is_(None))
    rows = session.execute(
        select(
            R.district_id,
            func.sum(case((R.requested_at >= today, 1), else_=0)),
            func.sum(case((R.closed_at >= today, 1), else_=0)),
            func.sum(case((R.closed_at.is_(None), 1), else_=0)),
            func.sum(case((and_(recent, R.expected_at.is_not(None), is_late), 1), else_=0)),
            func.sum(case((and_(recent, R.expected_at.is_not(None)), 1), else_=0)),
        )
        .where(R.city_id == scope.city.id)
        .group_by(R.district_id)
    ).all()
    by_id = {r[0]: [int(v or 0) for v in r[1:]] for r in rows}
    shown = [scope.district] if scope.district else scope.districts
    districts = []
    for d in shown:
        assert d is not None
        v = by_id.get(d.id, [0, 0, 0, 0, 0])
        districts.append(DistrictComplaints(d.code, *v))
    if scope.district is None:
        # Requests outside every district still count for the city.
        totals = [sum(v[i] for v in by_id.values()) for i in range(5)]
    else:
        totals = by_id.get(scope.district.id, [0, 0, 0, 0, 0])
    query = (
        select(R, ServiceType.name)
        .join(ServiceType, ServiceType.id == R.service_type_id)
        .where(R.city_id == scope.city.id)
    )
    if scope.district is not None:
        query = query.where(R.district_id == scope.district.id)
    latest = session.execute(query.order_by(R.requested_at.desc(), R.id.desc()).limit(newest))
    items = []
    for request, service_name in latest:
        district = scope.district_by_id(request.district_id)
        expected = request.expected_at
        late = expected is not None and _naive(request.closed_at or naive_now) > _naive(expected)
        items.append(
            NewestComplaint(
                id=request.service_request_id,
                service=service_name,
                district_code=district.code if district else None,
                requested_at=_aware(request.requested_at),
                status=request.status,
                late=bool(late),
                description=request.description if scope.internal else None,
            )
        )
    latest_query = select(func.max(R.id)).where(R.city_id == scope.city.id)
    if scope.district is not None:
        latest_query = latest_query.where(R.district_id == scope.district.id)
    received, closed, backlog, late_count, with_deadline = totals
    return Complaints(
        received_today=received,
        closed_today=closed,
        backlog=backlog,
        late=late_count,
        with_deadline=with_deadline,
        districts=districts,
        newest=items,
        latest_id=int(session.scalar(latest_query) or 0),
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class NewestSuggestion:
    id: int
    title: str
    category: str
    status: str
    votes: int
    district_code: str | None
    created_at: dt.datetime


def suggestions(session: Session, scope: Scope, *, newest: int = 5) -> list[NewestSuggestion]:
    """The newest citizen suggestions (their titles are public; authors never shown)."""
    from citymeter.suggestions.models import Suggestion

    query = select(Suggestion).where(Suggestion.city_id == scope.city.id)
    if scope.district is not None:
        query = query.where(Suggestion.district_id == scope.district.id)
    found = session.scalars(
        query.order_by(Suggestion.created_at.desc(), Suggestion.id.desc()).limit(newest)
    )
    return [
        NewestSuggestion(
            s.id,
            s.title,
            s.category,
            s.status,
            s.vote_count,
            d.code if (d := scope.district_by_id(s.district_id)) else None,
            _aware(s.created_at),
        )
        for s in found
    ]


@dataclass(frozen=True)
class Topic:
    term: str
    count: int
    ratio: float


def rising_topics(session: Session, scope: Scope, *, limit: int = 8) -> list[Topic]:
    """Terms rising this week in complaints, suggestions and text feeds (citymeter.trends)."""
    from citymeter.trends import service as trends

    report = trends.rising(
        session,
        scope.city,
        district_code=scope.district.code if scope.district else None,
        min_count=2,
        limit=limit,
    )
    return [Topic(t.term, t.count, round(t.ratio, 1)) for t in report.terms]
