"""Real-time urban status panels: air quality by district, live incidents, traffic and parking,
active alerts, the freshness of the connected sources, CCTV near an incident."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.dashboard.scope import Scope
from citymeter.db.base import utcnow
from citymeter.entities.models import Entity
from citymeter.entities.service import visible_to
from citymeter.incidents import nearby as incident_nearby
from citymeter.incidents.alerts import MIN_SEVERITY, PM25_THRESHOLD
from citymeter.incidents.models import Incident, IncidentType
from citymeter.sources import service as sources
from citymeter.sources.health import freshness

ACTIVE_HOURS = 24  # an incident stays on the live map for a day unless resolved
CLOSED_STATUSES = ("cleared", "resolved")
READING_MAX_AGE = dt.timedelta(hours=3)  # older sensor readings do not count as "now"
# Korea's PM2.5 bands (µg/m³): good, moderate, bad, very bad.
PM25_BANDS = (15.0, 35.0, 75.0)
PM10_BANDS = (30.0, 80.0, 150.0)


def _value(entity: Entity, attr: str) -> Any:
    item = (entity.attributes or {}).get(attr)
    return item.get("value") if isinstance(item, dict) else None


def _number(entity: Entity, attr: str) -> float | None:
    value = _value(entity, attr)
    return float(value) if isinstance(value, int | float) else None


def band(value: float | None, bands: tuple[float, float, float]) -> str:
    if value is None:
        return "none"
    names = ("good", "moderate", "bad", "very_bad")
    return names[sum(1 for limit in bands if value > limit)]


@dataclass(frozen=True)
class DistrictAir:
    code: str
    pm25: float | None
    pm10: float | None
    stations: int
    pm25_band: str
    pm10_band: str


@dataclass(frozen=True)
class AirQuality:
    districts: list[DistrictAir]
    observed_at: dt.datetime | None
    worst: DistrictAir | None  # highest PM2.5

    @property
    def empty(self) -> bool:
        return not any(d.stations for d in self.districts)


def _entities(session: Session, scope: Scope, entity_type: str) -> list[Entity]:
    since = utcnow() - READING_MAX_AGE
    return list(
        session.scalars(
            select(Entity).where(
                visible_to(scope.reader),
                Entity.type == entity_type,
                Entity.city_id == scope.city.id,
                Entity.district_id.in_(scope.district_ids),
                Entity.observed_at >= since,
            )
        )
    )


def air_quality(session: Session, scope: Scope) -> AirQuality:
    """Mean PM2.5 and PM10 of each district's stations, from readings of the last hours."""
    found = _entities(session, scope, "AirQualityStation")
    by_district: dict[int, list[Entity]] = {}
    for entity in found:
        if entity.district_id is not None:
            by_district.setdefault(entity.district_id, []).append(entity)
    shown = [scope.district] if scope.district else scope.districts
    out = []
    for district in shown:
        assert district is not None
        stations = by_district.get(district.id, [])
        pm25 = [v for v in (_number(e, "pm25") for e in stations) if v is not None]
        pm10 = [v for v in (_number(e, "pm10") for e in stations) if v is not None]
        mean25 = round(statistics.fmean(pm25), 1) if pm25 else None
        mean10 = round(statistics.fmean(pm10), 1) if pm10 else None
        out.append(
            DistrictAir(
                district.code,
                mean25,
                mean10,
                len(stations),
                band(mean25, PM25_BANDS),
                band(mean10, PM10_BANDS),
            )
        )
    observed = max((e.observed_at for e in found if e.observed_at), default=None)
    rated = [d for d in out if d.pm25 is not None]
    worst = max(rated, key=lambda d: d.pm25 or 0) if rated else None
    return AirQuality(out, observed, worst)


@dataclass(frozen=True)
class LiveIncident:
    number: str
    type: str
    category: str
    severity: int
    status: str
    reported_at: dt.datetime
    lat: float | None
    lon: float | None
    district_code: str | None
    address: str | None  # internal only


@dataclass(frozen=True)
class Incidents:
    active: list[LiveIncident]
    total_today: int
    severe: int
    latest_id: int  # the newest incident's row id: the live refresh compares it


def incidents(session: Session, scope: Scope, *, limit: int = 200) -> Incidents:
    """Incidents reported in the last day and not yet resolved, newest first."""
    since = utcnow() - dt.timedelta(hours=ACTIVE_HOURS)
    query = (
        select(Incident, IncidentType.code, IncidentType.category)
        .join(IncidentType, IncidentType.id == Incident.type_id)
        .where(Incident.reported_at >= since, Incident.status.not_in(CLOSED_STATUSES))
    )
    if scope.district is not None:
        query = query.where(Incident.district_id == scope.district.id)
    rows = session.execute(
        query.order_by(Incident.reported_at.desc(), Incident.number).limit(limit)
    ).all()
    active = [
        LiveIncident(
            number=incident.number,
            type=code,
            category=category,
            severity=incident.severity,
            status=incident.status,
            reported_at=_aware(incident.reported_at),
            lat=incident.lat,
            lon=incident.lon,
            district_code=d.code if (d := scope.district_by_id(incident.district_id)) else None,
            address=incident.address if scope.internal else None,
        )
        for incident, code, category in rows
    ]
    count_query = select(func.count(), func.max(Incident.id)).where(Incident.reported_at >= since)
    latest_query = select(func.max(Incident.id))
    if scope.district is not None:
        count_query = count_query.where(Incident.district_id == scope.district.id)
        latest_query = latest_query.where(Incident.district_id == scope.district.id)
    total, _ = session.execute(count_query).one()
    return Incidents(
        active=active,
        total_today=int(total or 0),
        severe=sum(1 for i in active if i.severity >= MIN_SEVERITY),
        latest_id=int(session.scalar(latest_query) or 0),
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class DistrictMobility:
    code: str
    speed_kmh: float | None
    congested: int
    segments: int
    parking_occupied: int
    parking_capacity: int

    @property
    def parking_share(self) -> float | None:
        if not self.parking_capacity:
            return None
        return 100 * self.parking_occupied / self.parking_capacity


@dataclass(frozen=True)
class Mobility:
    districts: list[DistrictMobility]
    speed_kmh: float | None
    congested: int
    segments: int
    parking_occupied: int
    parking_capacity: int
    observed_at: dt.datetime | None

    @property
    def parking_share(self) -> float | None:
        if not self.parking_capacity:
            return None
        return 100 * self.parking_occupied / self.parking_capacity

    @property
    def empty(self) -> bool:
        return not self.segments and not self.parking_capacity


def mobility(session: Session, scope: Scope) -> Mobility:
    """Road speed and congestion from traffic segments; car-park occupancy."""
    segments = _entities(session, scope, "TrafficSegment")
    lots = _entities(session, scope, "ParkingLot")
    rows = []
    for district in [scope.district] if scope.district else scope.districts:
        assert district is not None
        mine = [s for s in segments if s.district_id == district.id]
        speeds = [v for v in (_number(s, "speed") for s in mine) if v is not None]
        parks = [p for p in lots if p.district_id == district.id]
        rows.append(
            DistrictMobility(
                code=district.code,
                speed_kmh=round(statistics.fmean(speeds), 1) if speeds else None,
                congested=sum(1 for s in mine if _value(s, "congestion") in ("heavy", "jam")),
                segments=len(mine),
                parking_occupied=int(sum(_number(p, "occupied") or 0 for p in parks)),
                parking_capacity=int(sum(_number(p, "capacity") or 0 for p in parks)),
            )
        )
    speeds = [v for v in (_number(s, "speed") for s in segments) if v is not None]
    return Mobility(
        districts=rows,
        speed_kmh=round(statistics.fmean(speeds), 1) if speeds else None,
        congested=sum(r.congested for r in rows),
        segments=len(segments),
        parking_occupied=sum(r.parking_occupied for r in rows),
        parking_capacity=sum(r.parking_capacity for r in rows),
        observed_at=max(
            (e.observed_at for e in segments + lots if e.observed_at is not None), default=None
        ),
    )


@dataclass(frozen=True)
class ActiveAlert:
    rule: str  # "incident.severity", "pm25", "source.stale"
    level: str  # "critical" or "warning"
    subject: str  # incident number, district code or source code
    value: float | None = None


def alerts(
    session: Session, scope: Scope, air: AirQuality, live: Incidents, health: SourceHealth
) -> list[ActiveAlert]:
    """What needs attention now: severe open incidents, districts whose PM2.5 is in the bad band
    and (staff only) sources that went stale or are failing — the same rules as the live alerts
    of citymeter.incidents.alerts, evaluated on the current state."""
    found = [
        ActiveAlert("incident.severity", "critical", i.number, float(i.severity))
        for i in live.active
        if i.severity >= MIN_SEVERITY
    ]
    found += [
        ActiveAlert("pm25", "warning" if d.pm25 < 75 else "critical", d.code, d.pm25)
        for d in air.districts
        if d.pm25 is not None and d.pm25 > PM25_THRESHOLD
    ]
    if scope.internal:
        found += [
            ActiveAlert("source." + s.state, "warning", s.code)
            for s in health.sources
            if s.state in ("stale", "failing")
        ]
    return found


@dataclass(frozen=True)
class SourceState:
    code: str
    name: str
    kind: str
    state: str  # fresh, late, stale, failing, unknown
    last_data_at: dt.datetime | None


@dataclass(frozen=True)
class SourceHealth:
    sources: list[SourceState]
    counts: dict[str, int] = field(default_factory=dict)


def source_health(session: Session, scope: Scope) -> SourceHealth:
    now = utcnow()
    states = [
        SourceState(
            s.code,
            s.name,
            s.kind,
            freshness(s, now),
            s.last_data_at or s.last_success_at,
        )
        for s in sources.visible_sources(session, scope.reader)
        if s.enabled
    ]
    counts: dict[str, int] = {}
    for s in states:
        counts[s.state] = counts.get(s.state, 0) + 1
    return SourceHealth(states, counts)


@dataclass(frozen=True)
class NearbyCamera:
    entity_id: str
    name: str | None
    distance_m: float
    lat: float | None
    lon: float | None
    status: str | None


def cctv_near(
    session: Session, scope: Scope, number: str, radius_m: float = 800.0
) -> list[NearbyCamera]:
    """CCTV sites around an incident, nearest first (empty when it has no location)."""
    incident = session.scalar(select(Incident).where(Incident.number == number))
    if incident is None:
        from citymeter.errors import NotFound

        raise NotFound(f"There is no incident {number!r}.")
    found = incident_nearby.nearby(session, scope.reader, incident, radius_m=radius_m)["cctv"]
    ids = [c["entity_id"] for c in found]
    entities = {
        e.entity_id: e for e in session.scalars(select(Entity).where(Entity.entity_id.in_(ids)))
    }
    return [
        NearbyCamera(
            c["entity_id"],
            c["name"],
            c["distance_m"],
            entities[c["entity_id"]].lat if c["entity_id"] in entities else None,
            entities[c["entity_id"]].lon if c["entity_id"] in entities else None,
            _value(entities[c["entity_id"]], "status") if c["entity_id"] in entities else None,
        )
        for c in found[:12]
    ]
