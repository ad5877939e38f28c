"""The living demo city: complaints with an office-hours and working-day rhythm, districts that
differ, deadlines met, missed and passed; incidents with unit timelines, a few still open; the
air stations' past behind the annual PM2.5 indicator; all the same for the same seed and moment."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.complaints.models import ServiceRequest, StatusChange
from citymeter.demo import build
from citymeter.entities.models import AttributeRollup, Entity
from citymeter.incidents import service as incidents
from citymeter.incidents.models import Incident, IncidentType
from citymeter.indicators.models import IndicatorValue
from citymeter.places import service as places
from citymeter.places.models import Area

SEOUL = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 11, 18, 3, 0, tzinfo=dt.UTC)  # a Wednesday, noon in Seoul
SMALL: dict[str, Any] = {
    "seed": 11,
    "end": dt.date(2026, 10, 1),
    "months": 14,
    "districts": 4,
    "neighbourhoods": 12,
}


@pytest.fixture
def living(db: Session) -> build.DemoBuild:
    return build.build_demo_city(db, SYSTEM_VIEWER, **SMALL, activity=True, now=NOW)


def _requests(db: Session) -> list[ServiceRequest]:
    return list(db.scalars(select(ServiceRequest).order_by(ServiceRequest.requested_at)))


def test_complaints_come_in_office_hours_and_on_working_days(
    db: Session, living: build.DemoBuild
) -> None:
    rows = _requests(db)
    assert len(rows) == 4 * build.COMPLAINTS_PER_DISTRICT == living.figures["complaints"]
    first = NOW - dt.timedelta(days=build.COMPLAINT_DAYS)
    assert all(first <= r.requested_at <= NOW for r in rows)
    local = [r.requested_at.astimezone(SEOUL) for r in rows]
    office = sum(1 for t in local if 9 <= t.hour < 18)
    night = sum(1 for t in local if t.hour < 6)
    assert office > 8 * max(night, 1)
    # Per day of each kind in the window: working days are far busier than weekends.
    days = Counter(
        (first.astimezone(SEOUL) + dt.timedelta(days=d)).weekday() >= 5
        for d in range(build.COMPLAINT_DAYS)
    )
    weekend = sum(1 for t in local if t.weekday() >= 5) / days[True]
    working = sum(1 for t in local if t.weekday() < 5) / days[False]
    assert working > 1.6 * weekend > 0
    # The status history carries the same times as the requests.
    for request in rows[:20]:
        changes = db.scalars(
            select(StatusChange).where(StatusChange.request_id == request.id)
        ).all()
        assert {c.status: c.changed_at for c in changes}.get("open") == request.requested_at
        if request.closed_at is not None:
            assert {c.status: c.changed_at for c in changes}["closed"] == request.closed_at


def test_districts_differ_and_deadlines_are_met_missed_and_passed(
    db: Session, living: build.DemoBuild
) -> None:
    rows = _requests(db)
    per_district: dict[int | None, Counter[str]] = {}
    for r in rows:
        per_district.setdefault(r.district_id, Counter())[r.service_code] += 1
    assert None not in per_district and len(per_district) == 4
    sizes = [sum(c.values()) for c in per_district.values()]
    assert max(sizes) > 1.5 * min(sizes)
    tops = {c.most_common(1)[0][0] for c in per_district.values()}
    assert len(tops) >= 2
    on_time = sum(1 for r in rows if r.closed_at and r.expected_at and r.closed_at <= r.expected_at)
    late = sum(1 for r in rows if r.closed_at and r.expected_at and r.closed_at > r.expected_at)
    overdue = sum(1 for r in rows if r.closed_at is None and r.expected_at and r.expected_at < NOW)
    waiting = sum(1 for r in rows if r.closed_at is None and r.expected_at and r.expected_at >= NOW)
    assert on_time > 2 * late > 0 and overdue > 0 and waiting > 0
    assert all(r.closed_at is None or r.requested_at < r.closed_at <= NOW for r in rows)
    assert living.figures["complaints_closed_late"] == late
    assert living.figures["complaints_overdue"] == overdue


def test_incidents_carry_unit_timelines_and_a_few_are_still_open(
    db: Session, living: build.DemoBuild
) -> None:
    found = list(db.scalars(select(Incident).order_by(Incident.reported_at)))
    assert len(found) == 4 * build.INCIDENTS_PER_DISTRICT == living.figures["incidents"]
    assert all(NOW - dt.timedelta(days=build.INCIDENT_DAYS) <= i.reported_at <= NOW for i in found)
    assert len({i.severity for i in found}) >= 3
    assert len({i.type_id for i in found}) >= 4
    named = db.scalars(select(IncidentType.name_ko).where(IncidentType.name_ko != "")).all()
    assert "응급 환자" in named
    open_now = [i for i in found if i.status not in ("cleared", "resolved")]
    assert 1 <= len(open_now) <= len(found) // 3
    assert all(i.reported_at >= NOW - dt.timedelta(hours=24) for i in open_now)
    assert living.figures["incidents_open"] == len(open_now)
    for incident in found:
        timeline = incidents.timeline_of(db, incident)
        assert timeline, incident.number
        stages = [(s.unit, s.stage, s.at) for s in timeline]
        assert incidents.check_timeline(stages) is None
        assert all(incident.reported_at <= s.at <= NOW for s in timeline)
        assert incident.status == incidents.status_from([s.stage for s in timeline])
    times = incidents.response_summary(db, batch="demo")
    assert times.with_both > len(found) // 2
    assert times.median_s is not None and 3 * 60 < times.median_s < 15 * 60


def test_the_air_stations_past_gives_the_annual_pm25(db: Session, living: build.DemoBuild) -> None:
    stations = db.scalar(
        select(func.count()).select_from(Entity).where(Entity.type == "AirQualityStation")
    )
    assert stations == living.figures["air_stations"] >= 4
    days = db.scalar(
        select(func.count(func.distinct(AttributeRollup.bucket_start))).where(
            AttributeRollup.attr == "pm25", AttributeRollup.grain == "day"
        )
    )
    assert days == living.figures["air_history_days"] > 365
    values: dict[dt.date, float] = dict(
        db.execute(
            select(IndicatorValue.period_start, IndicatorValue.value)
            .join(Area, Area.id == IndicatorValue.area_id)
            .where(
                IndicatorValue.code == "pm25_annual_mean",
                IndicatorValue.grain == "year",
                Area.level == "city",
            )
        )
        .tuples()
        .all()
    )
    assert set(values) == {dt.date(2025, 1, 1), dt.date(2026, 1, 1)}
    assert all(8 < v < 35 for v in values.values()), values
    bad_days = db.scalar(
        select(func.sum(IndicatorValue.value))
        .join(Area, Area.id == IndicatorValue.area_id)
        .where(
            IndicatorValue.code == "pm25_days_above_35",
            IndicatorValue.grain == "month",
            Area.level == "city",
        )
    )
    assert bad_days is not None and 0 < bad_days < 120


def _fingerprint(db: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    codes: dict[int, str] = dict(db.execute(select(Area.id, Area.code)).tuples().all())
    requests = [
        (r.requested_at, r.closed_at, r.service_code, codes.get(r.district_id or 0), r.lat)
        for r in _requests(db)
    ]
    found = [
        (
            i.number,
            i.severity,
            i.status,
            codes.get(i.district_id or 0),
            tuple((s.unit, s.stage, s.at) for s in incidents.timeline_of(db, i)),
        )
        for i in db.scalars(select(Incident).order_by(Incident.number))
    ]
    return requests, found


def test_the_same_seed_and_moment_make_the_same_city(db: Session) -> None:
    # Another city in the store (the certification demo adds some): incidents are still
    # placed in the demo city's districts.
    places.create_city(db, SYSTEM_VIEWER, code="elsewhere", name="Elsewhere")
    build.build_demo_city(db, SYSTEM_VIEWER, **SMALL, activity=True, now=NOW)
    first = _fingerprint(db)
    assert all(district is not None for *_, district, _ in first[1])
    assert build.remove_demo_city(db, SYSTEM_VIEWER)
    # The city's incidents go with it (they belong to its areas only).
    assert db.scalar(select(func.count()).select_from(Incident)) == 0
    build.build_demo_city(db, SYSTEM_VIEWER, **SMALL, activity=True, now=NOW)
    assert _fingerprint(db) == first
