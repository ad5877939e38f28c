"""Seeded citizen activity for the demo city: complaints over the last weeks and emergency
incidents over the last days, so that the dashboard's citizen-voice and live panels have a city
to show. `citymeter demo` builds it with the city, the browser tests and `citymeter bench pages`
too; everything goes through the ordinary services.

Complaints follow office hours and working days (citymeter.demo.rhythm); districts differ in how
busy they are, what their residents complain about most and how fast their offices close
requests, so some close on time, some late and some are still open past their deadline. Road
damage rises this week (heavy rain). Incidents carry their units' timelines (dispatched → en route
→ on scene → cleared) up to now: the newest are still being worked on.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.complaints import service as complaints
from citymeter.complaints.models import ServiceRequest, ServiceType, StatusChange
from citymeter.db.base import utcnow
from citymeter.demo import rhythm
from citymeter.errors import InvalidInput
from citymeter.incidents import service as incidents
from citymeter.incidents.models import Incident
from citymeter.places.locator import AreaLocator, cached_locator
from citymeter.places.models import Area, City

# code, name, hours to close, keywords
SERVICES: tuple[tuple[str, str, float, str], ...] = (
    ("illegal-parking", "불법 주정차 (Illegal parking)", 24.0, "parking"),
    ("noise", "소음 (Noise)", 48.0, "noise"),
    ("road-damage", "도로 파손 (Road damage)", 72.0, "road"),
    ("streetlight", "가로등 고장 (Streetlight out)", 72.0, "light"),
    ("waste", "쓰레기 무단투기 (Dumped waste)", 48.0, "waste"),
    ("water-leak", "상수도 누수 (Water leak)", 24.0, "water"),
    ("illegal-banner", "불법 현수막 (Illegal banner)", 96.0, "banner"),
)
# How common each service is city-wide (same order as SERVICES).
SERVICE_SHARE = (3.0, 2.2, 1.6, 1.2, 1.8, 0.6, 0.8)
RISING_SERVICE = "road-damage"  # potholes after this week's heavy rain
# What people write, per service (the words trends pick up).
WORDS = {
    "illegal-parking": ("골목 불법 주차 차량", "횡단보도 앞 주차", "소방차 전용구역 주차"),
    "noise": ("공사장 소음 심함", "야간 공사 소음", "상가 음악 소음"),
    "road-damage": ("도로 포트홀 위험", "보도블록 파손", "맨홀 뚜껑 흔들림"),
    "streetlight": ("가로등 꺼짐 어두움", "골목 가로등 깜빡임", "공원 가로등 고장"),
    "waste": ("쓰레기 무단투기 악취", "재활용 쓰레기 방치", "대형 폐기물 방치"),
    "water-leak": ("보도 위 수도관 누수", "계량기 누수 물 넘침"),
    "illegal-banner": ("가로수 불법 현수막", "교차로 불법 현수막 시야 가림"),
}
CLOSED_STATUSES = ("cleared", "resolved")  # an incident no longer being worked on
CLOSING_NOTES = ("처리 완료", "현장 확인 후 조치 완료", "관련 부서 이관 후 처리 완료")


@dataclass(frozen=True)
class IncidentKind:
    code: str
    category: str
    severity: int
    name_en: str
    name_ko: str
    units: tuple[str, ...]  # unit prefixes sent, first one first
    minutes_on_scene: tuple[int, int]
    share: float


# code, category, usual severity, English and Korean names, units sent, minutes on scene, share
_K = IncidentKind
INCIDENT_KINDS = (
    _K("ems-call", "medical", 2, "Emergency medical call", "응급 환자", ("A",), (12, 35), 34),
    _K(
        "traffic-crash",
        "traffic_accident",
        3,
        "Traffic crash",
        "교통사고",
        ("A", "PC"),
        (20, 60),
        18,
    ),
    _K("crime-assault", "crime", 3, "Assault report", "폭행 신고", ("PC",), (15, 45), 12),
    _K("rescue-lift", "rescue", 2, "Trapped in a lift", "승강기 갇힘", ("R",), (15, 40), 8),
    _K("fire-building", "fire", 4, "Building fire", "건물 화재", ("P", "L", "A"), (40, 200), 7),
    _K("flood-road", "flood", 3, "Flooded road", "도로 침수", ("R", "PC"), (60, 240), 6),
    _K("gas-leak", "gas", 3, "Gas leak", "가스 누출", ("P", "HZ"), (30, 100), 5),
    _K("fire-vehicle", "fire", 3, "Vehicle fire", "차량 화재", ("P",), (20, 60), 5),
    _K("rescue-water", "rescue", 3, "Water rescue", "수난 구조", ("R", "A"), (40, 120), 3),
)
# The first unit's way in: call to dispatch and dispatch to rolling (seconds), travel (minutes);
# other units follow a little later.
CALL_TO_DISPATCH_S = (40, 150)
DISPATCH_TO_ROLL_S = (30, 100)
TRAVEL_MIN = (3.0, 11.0)


@dataclass(frozen=True)
class Activity:
    complaints: int
    incidents: int
    open_complaints: int = 0
    overdue: int = 0  # open past the deadline
    closed_late: int = 0
    open_incidents: int = 0  # reported in the last day and not cleared yet


@dataclass(frozen=True)
class DistrictProfile:
    """How a district's residents and offices behave in the sample."""

    area: Area
    places: tuple[Area, ...]  # where its requests are made (its neighbourhoods, or itself)
    busy: float  # relative number of requests
    top: str  # the service its residents ask for most
    pace: float  # how long its offices take, relative to the deadline


def district_profiles(
    session: Session, rng: random.Random, districts: list[Area]
) -> list[DistrictProfile]:
    """How each district behaves, drawn from `rng` (busy ones, their top service, their pace)."""
    children: dict[int, list[Area]] = {}
    for area in session.scalars(
        select(Area)
        .where(
            Area.parent_id.in_([d.id for d in districts]),
            Area.centroid_lat.is_not(None),
            Area.valid_to.is_(None),
        )
        .order_by(Area.code)
    ):
        assert area.parent_id is not None
        children.setdefault(area.parent_id, []).append(area)
    # Each district's top service, dealt round so that neighbours differ.
    tops = [code for code, *_ in SERVICES]
    rng.shuffle(tops)
    out = []
    for i, district in enumerate(districts):
        places = tuple(children.get(district.id) or [district])
        busy = math.exp(rng.gauss(0, 0.45)) * (1.6 if i % 7 == 0 else 1.0)
        out.append(
            DistrictProfile(district, places, busy, tops[i % len(tops)], rng.uniform(0.6, 1.35))
        )
    return out


def spot_in(
    locator: AreaLocator | None, rng: random.Random, area: Area, spread: float = 0.003
) -> tuple[float, float] | None:
    """A point near the centre of `area` that lies inside the city."""
    if area.centroid_lat is None or area.centroid_lon is None:
        return None
    lat = area.centroid_lat + rng.uniform(-spread, spread)
    lon = area.centroid_lon + rng.uniform(-spread, spread)
    if locator is not None and locator.locate(lat, lon) is None:
        return area.centroid_lat, area.centroid_lon
    return lat, lon


def city_locator(session: Session, city: City) -> AreaLocator | None:
    """The city's area locator, or None for a city without boundaries."""
    try:
        return cached_locator(session, city)
    except InvalidInput:
        return None


def _working_time(
    moment: dt.datetime, tz: ZoneInfo, rng: random.Random, *, shifts: bool
) -> dt.datetime:
    """`moment`, or the next working morning when it falls outside office hours (9-19 on
    working days; 7-23 every day for the services that work in `shifts`)."""
    local = moment.astimezone(tz)
    opens, closes = (7, 23) if shifts else (9, 19)
    if (shifts or local.weekday() < 5) and opens <= local.hour < closes:
        return moment
    day = local.date() + dt.timedelta(days=0 if local.hour < opens else 1)
    while not shifts and day.weekday() >= 5:
        day += dt.timedelta(days=1)
    opened = dt.datetime.combine(day, dt.time(opens), tzinfo=tz)
    return (opened + dt.timedelta(minutes=rng.uniform(0, 150))).astimezone(dt.UTC)


def districts_of(session: Session, city: City) -> list[Area]:
    return list(
        session.scalars(
            select(Area)
            .where(Area.city_id == city.id, Area.level == "district", Area.valid_to.is_(None))
            .order_by(Area.code)
        )
    )


def ensure_services(session: Session, actor: Viewer, city: City) -> list[ServiceType]:
    """The sample's complaint service types of `city` (created when missing)."""
    found = []
    for code, name, hours, keywords in SERVICES:
        service = complaints.find_service(session, city, code)
        found.append(
            service
            or complaints.create_service_type(
                session, actor, city, code=code, name=name, keywords=keywords, target_hours=hours
            )
        )
    return found


def pick_service(
    rng: random.Random, profile: DistrictProfile, *, rising: bool = False
) -> tuple[str, str]:
    """(service code, what the resident writes) for a request in the profile's district."""
    if rising and rng.random() < 0.35:
        code = RISING_SERVICE
    else:
        weights = [
            share * (3.5 if code == profile.top else 1.0)
            for (code, *_), share in zip(SERVICES, SERVICE_SHARE, strict=True)
        ]
        code = rng.choices([c for c, *_ in SERVICES], weights)[0]
    return code, rng.choice(WORDS[code])


def seed_activity(
    session: Session,
    actor: Viewer,
    city: City,
    *,
    seed: int = 2026,
    complaints_count: int = 240,
    incidents_count: int = 30,
    days: float = 35,
    incident_days: float = 3,
    now: dt.datetime | None = None,
) -> Activity:
    """Add `complaints_count` complaints over the last `days` days and `incidents_count`
    incidents over the last `incident_days` to `city` (each part refused quietly if already
    there). The same seed and `now` give the same activity."""
    rng = random.Random(seed)
    now = (now or utcnow()).astimezone(dt.UTC).replace(microsecond=0)
    tz = ZoneInfo(city.timezone)
    districts = districts_of(session, city)
    if not districts:
        return Activity(0, 0)
    profiles = district_profiles(session, rng, districts)
    services = {s.service_code: s for s in ensure_services(session, actor, city)}
    existing = session.scalar(select(ServiceRequest.id).where(ServiceRequest.city_id == city.id))
    made_requests = 0
    if existing is None:
        made_requests = _seed_complaints(
            session, actor, city, rng, profiles, services, complaints_count, days, now, tz
        )
    made_incidents = _seed_incidents(
        session, actor, city, rng, profiles, incidents_count, incident_days, now, tz
    )
    return _summary(session, city, made_requests, made_incidents, now)


def _seed_complaints(
    session: Session,
    actor: Viewer,
    city: City,
    rng: random.Random,
    profiles: list[DistrictProfile],
    services: dict[str, ServiceType],
    count: int,
    days: float,
    now: dt.datetime,
    tz: ZoneInfo,
) -> int:
    moments = rhythm.draw_moments(
        rng, rhythm.hour_slots(rhythm.COMPLAINTS, now, days, tz, growth=0.03), count
    )
    weights = [p.busy for p in profiles]
    locator = city_locator(session, city)
    opened: list[dict[str, object]] = []
    closed: list[dict[str, object]] = []
    week_ago = now - dt.timedelta(days=7)
    for n, requested in enumerate(moments):
        profile = rng.choices(profiles, weights)[0]
        code, words = pick_service(rng, profile, rising=requested >= week_ago)
        spot = spot_in(locator, rng, rng.choice(profile.places))
        if spot is None:
            continue
        service = services[code]
        request = complaints.submit_request(
            session,
            actor,
            city,
            complaints.NewRequest(
                service_code=code,
                lat=spot[0],
                long=spot[1],
                description=words,
                first_name="홍",
                last_name="길동",
                email=f"citizen{n}@example.org",
            ),
        )
        request.requested_at = request.updated_at = requested
        hours = service.target_hours or 48.0
        request.expected_at = requested + dt.timedelta(hours=hours)
        opened.append({"request": request.id, "step": "open", "moment": requested})
        # Most are handled well inside the deadline; a district's pace and a few stuck
        # requests make the late ones.
        took = hours * profile.pace * math.exp(rng.gauss(-1.0, 0.55))
        if rng.random() < 0.05:
            took *= 4
        done = _working_time(
            requested + dt.timedelta(hours=max(0.3, took)), tz, rng, shifts=hours <= 24
        )
        # A few wait on another department and are still open, whatever their deadline.
        waiting = rng.random() < 0.035
        if done < now - dt.timedelta(minutes=5) and not waiting:
            complaints.set_status(session, actor, request, "closed", rng.choice(CLOSING_NOTES))
            request.closed_at = request.updated_at = done
            closed.append({"request": request.id, "step": "closed", "moment": done})
    session.flush()
    # The status history gets the same times as the requests (one statement per status).
    statement = (
        update(StatusChange)
        .where(
            StatusChange.request_id == bindparam("request"),
            StatusChange.status == bindparam("step"),
        )
        .values(changed_at=bindparam("moment"))
    )
    connection = session.connection()
    for rows in (opened, closed):
        if rows:
            connection.execute(statement, rows)
    for held in list(session.identity_map.values()):
        if isinstance(held, StatusChange):
            session.expire(held)
    return len(opened)


def street_address(rng: random.Random, place: Area) -> str:
    """A road-name address in `place` (the demo city's streets branch off its 중앙로)."""
    return f"{place.name} 중앙로{rng.randint(1, 80)}길 {rng.randint(1, 60)}"


def _unit_name(district: Area, prefix: str, rng: random.Random) -> str:
    place = str(district.names.get("en") or district.code).removesuffix("-gu")
    return f"{place[:14]}-{prefix}{rng.randint(1, 3)}"


def pick_incident(rng: random.Random, profile: DistrictProfile) -> tuple[IncidentKind, int]:
    """What happened in the profile's district, and how severe it is (1-5)."""
    kind = rng.choices(INCIDENT_KINDS, [k.share for k in INCIDENT_KINDS])[0]
    return kind, max(1, min(5, kind.severity + rng.choice((-1, 0, 0, 0, 1))))


def unit_plan(
    rng: random.Random,
    kind: IncidentKind,
    district: Area,
    reported: dt.datetime,
    severity: int,
    *,
    work_scale: float = 1.0,
) -> list[incidents.StageIn]:
    """Every stage of every unit sent, from the call on (a severe call gets every unit of its
    kind, a lighter one the first); `work_scale` shortens the time on scene."""
    stages: list[incidents.StageIn] = []
    units = kind.units if severity >= kind.severity else kind.units[:1]
    dispatched = reported + dt.timedelta(seconds=rng.uniform(*CALL_TO_DISPATCH_S))
    low, high = kind.minutes_on_scene
    work = rng.uniform(low, high) * (1 + 0.4 * max(0, severity - 3)) * work_scale
    for i, prefix in enumerate(units):
        at = dispatched + dt.timedelta(seconds=rng.uniform(0, 120) if i else 0)
        rolling = at + dt.timedelta(seconds=rng.uniform(*DISPATCH_TO_ROLL_S))
        arrived = rolling + dt.timedelta(minutes=rng.uniform(*TRAVEL_MIN))
        cleared = arrived + dt.timedelta(minutes=work * rng.uniform(0.7, 1.0))
        unit = _unit_name(district, prefix, rng)
        for stage, moment in (
            ("dispatched", at),
            ("en_route", rolling),
            ("on_scene", arrived),
            ("cleared", cleared),
        ):
            stages.append(
                incidents.StageIn(unit=unit, stage=stage, at=moment.replace(microsecond=0))
            )
    return stages


def _timeline(
    plan: list[incidents.StageIn], rng: random.Random, *, ongoing: bool, now: dt.datetime
) -> list[incidents.StageIn]:
    """The stages of `plan` reached by `now`; an `ongoing` incident is not cleared yet."""
    if ongoing:
        later = now + dt.timedelta(minutes=rng.uniform(5, 40))
        plan = [
            s.model_copy(update={"at": max(s.at, later)}) if s.stage == "cleared" else s
            for s in plan
        ]
    return [s for s in plan if s.at <= now]


def _seed_incidents(
    session: Session,
    actor: Viewer,
    city: City,
    rng: random.Random,
    profiles: list[DistrictProfile],
    count: int,
    days: float,
    now: dt.datetime,
    tz: ZoneInfo,
) -> int:
    if count <= 0:
        return 0
    # A few calls of the last hour are still being worked on; the rest follow the rhythm.
    ongoing = max(1, min(count, round(count * 0.04) + 1))
    recent = [
        (now - dt.timedelta(seconds=int(rng.uniform(240, 4200))), True) for _ in range(ongoing)
    ]
    slots = rhythm.hour_slots(rhythm.INCIDENTS, now - dt.timedelta(hours=1), days, tz)
    earlier = [(m, False) for m in rhythm.draw_moments(rng, slots, count - ongoing)]
    per_day: dict[dt.date, int] = {}
    numbered = []
    for moment, current in sorted([*recent, *earlier]):
        day = moment.astimezone(tz).date()
        per_day[day] = per_day.get(day, 0) + 1
        numbered.append((f"DEMO-{day:%Y%m%d}-{per_day[day]:03d}", moment, current))
    numbers = [number for number, _, _ in numbered]
    if session.scalar(select(Incident.id).where(Incident.number.in_(numbers)).limit(1)):
        return 0
    for kind in INCIDENT_KINDS:
        incidents.ensure_type(
            session,
            kind.code,
            category=kind.category,
            name_en=kind.name_en,
            name_ko=kind.name_ko,
            severity=kind.severity,
        )
    weights = [p.busy**0.5 for p in profiles]
    locator = city_locator(session, city)
    items = []
    for number, reported, current in numbered:
        profile = rng.choices(profiles, weights)[0]
        kind, severity = pick_incident(rng, profile)
        place = rng.choice(profile.places)
        spot = spot_in(locator, rng, place, spread=0.004)
        if spot is None:
            continue
        plan = unit_plan(rng, kind, profile.area, reported, severity)
        items.append(
            incidents.IncidentIn(
                number=number,
                type=kind.code,
                category=kind.category,
                severity=severity,
                reported_at=reported,
                lat=spot[0],
                lon=spot[1],
                address=street_address(rng, place),
                remarks="출동 지령 메모 (internal)",
                stages=_timeline(plan, rng, ongoing=current, now=now),
            )
        )
    return len(incidents.create_incidents(session, actor, items, batch="demo", city=city))


def _summary(
    session: Session, city: City, requests: int, made_incidents: int, now: dt.datetime
) -> Activity:
    R = ServiceRequest
    open_, overdue, late = session.execute(
        select(
            func.count().filter(R.closed_at.is_(None)),
            func.count().filter(R.closed_at.is_(None), R.expected_at < now),
            func.count().filter(R.closed_at > R.expected_at),
        ).where(R.city_id == city.id)
    ).one()
    district_ids = select(Area.id).where(Area.city_id == city.id).scalar_subquery()
    open_incidents = session.scalar(
        select(func.count()).where(
            Incident.district_id.in_(district_ids),
            Incident.reported_at >= now - dt.timedelta(hours=24),
            Incident.status.not_in(CLOSED_STATUSES),
        )
    )
    return Activity(
        requests,
        made_incidents,
        int(open_ or 0),
        int(overdue or 0),
        int(late or 0),
        int(open_incidents or 0),
    )
