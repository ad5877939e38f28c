"""Seeded citizen activity for the demo city: complaint services and requests over the last
weeks (some closed late, some still open past their deadline) and a day of incidents, so that the
dashboard's citizen-voice and live panels have something to show. Used by the browser tests and
`citymeter bench pages`; it goes through the ordinary services."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.complaints import service as complaints
from citymeter.complaints.models import ServiceRequest, StatusChange
from citymeter.db.base import utcnow
from citymeter.incidents import service as incidents
from citymeter.incidents.models import Incident
from citymeter.places.models import Area, City

# code, name, hours to close, keywords
SERVICES: tuple[tuple[str, str, float, str], ...] = (
    ("illegal-parking", "불법 주정차 (Illegal parking)", 24.0, "parking"),
    ("noise", "소음 (Noise)", 48.0, "noise"),
    ("road-damage", "도로 파손 (Road damage)", 72.0, "road"),
    ("streetlight", "가로등 고장 (Streetlight out)", 72.0, "light"),
    ("waste", "쓰레기 무단투기 (Dumped waste)", 48.0, "waste"),
)
# What people write, per service (the words trends pick up).
WORDS = {
    "illegal-parking": ("골목 불법 주차 차량", "횡단보도 앞 주차", "소방차 전용구역 주차"),
    "noise": ("공사장 소음 심함", "야간 공사 소음", "상가 음악 소음"),
    "road-damage": ("도로 포트홀 위험", "보도블록 파손", "맨홀 뚜껑 흔들림"),
    "streetlight": ("가로등 꺼짐 어두움", "골목 가로등 깜빡임", "공원 가로등 고장"),
    "waste": ("쓰레기 무단투기 악취", "재활용 쓰레기 방치", "대형 폐기물 방치"),
}
INCIDENT_TYPES = (
    ("fire-building", "fire", 4),
    ("ems-call", "medical", 2),
    ("traffic-crash", "traffic_accident", 3),
    ("rescue-water", "rescue", 3),
)


@dataclass(frozen=True)
class Activity:
    complaints: int
    incidents: int


def _spot(rng: random.Random, district: Area) -> tuple[float, float] | None:
    if district.centroid_lat is None or district.centroid_lon is None:
        return None
    return (
        district.centroid_lat + rng.uniform(-0.004, 0.004),
        district.centroid_lon + rng.uniform(-0.004, 0.004),
    )


def seed_activity(
    session: Session,
    actor: Viewer,
    city: City,
    *,
    seed: int = 2026,
    complaints_count: int = 240,
    incidents_count: int = 30,
    now: dt.datetime | None = None,
) -> Activity:
    """Add the sample complaints and incidents to `city` (refused quietly if already there)."""
    rng = random.Random(seed)
    now = now or utcnow()
    districts = list(
        session.scalars(
            select(Area)
            .where(Area.city_id == city.id, Area.level == "district", Area.valid_to.is_(None))
            .order_by(Area.code)
        )
    )
    if not districts:
        return Activity(0, 0)
    services = []
    for code, name, hours, keywords in SERVICES:
        found = complaints.find_service(session, city, code)
        services.append(
            found
            or complaints.create_service_type(
                session, actor, city, code=code, name=name, keywords=keywords, target_hours=hours
            )
        )
    made_requests = 0
    existing = session.scalar(select(ServiceRequest.id).where(ServiceRequest.city_id == city.id))
    if existing is None:
        for n in range(complaints_count):
            district = districts[n % len(districts)] if n % 3 else rng.choice(districts[:6])
            spot = _spot(rng, district)
            if spot is None:
                continue
            recent = n < complaints_count // 3
            # Road damage is this week's rising topic: more of it lately.
            service = services[2] if recent and rng.random() < 0.4 else rng.choice(services)
            request = complaints.submit_request(
                session,
                actor,
                city,
                complaints.NewRequest(
                    service_code=service.service_code,
                    lat=spot[0],
                    long=spot[1],
                    description=rng.choice(WORDS.get(service.service_code, ("불편 사항",))),
                    first_name="홍",
                    last_name="길동",
                    email=f"citizen{n}@example.org",
                ),
            )
            # A third in the last week (a dozen of them today), the rest over five weeks before.
            if n < 12:
                age = dt.timedelta(minutes=20 * n + 5)
            elif recent:
                age = dt.timedelta(hours=rng.uniform(4, 160))
            else:
                age = dt.timedelta(hours=rng.uniform(170, 840))
            requested = now - age
            request.requested_at = request.updated_at = requested
            if service.target_hours:
                request.expected_at = requested + dt.timedelta(hours=service.target_hours)
            for change in session.scalars(
                select(StatusChange).where(StatusChange.request_id == request.id)
            ):
                change.changed_at = requested
            if rng.random() < 0.7 and age > dt.timedelta(hours=2):
                took = dt.timedelta(hours=rng.uniform(1, (service.target_hours or 48) * 1.6))
                closed = min(requested + took, now - dt.timedelta(minutes=1))
                complaints.set_status(session, actor, request, "closed", "처리 완료")
                request.closed_at = request.updated_at = closed
            made_requests += 1
        session.flush()
    made_incidents = 0
    numbers = [f"DEMO-{now:%Y%m%d}-{i:03d}" for i in range(incidents_count)]
    if not session.scalar(select(Incident.id).where(Incident.number.in_(numbers))):
        items = []
        for i, number in enumerate(numbers):
            spot = _spot(rng, rng.choice(districts))
            if spot is None:
                continue
            code, category, severity = INCIDENT_TYPES[i % len(INCIDENT_TYPES)]
            items.append(
                incidents.IncidentIn(
                    number=number,
                    type=code,
                    category=category,
                    severity=max(1, min(5, severity + rng.choice((-1, 0, 0, 1)))),
                    reported_at=now - dt.timedelta(minutes=15 + 40 * i),
                    lat=spot[0],
                    lon=spot[1],
                    address=f"{i + 1} 중앙로",
                    remarks="출동 지령 메모 (internal)",
                )
            )
        made_incidents = len(incidents.create_incidents(session, actor, items, batch="demo"))
    return Activity(made_requests, made_incidents)
