"""Create incidents, advance a unit's timeline, derive response times, list and show.

Stages of one unit go dispatched → en_route → on_scene → cleared; a stage may be skipped but never
comes before one already reached, and its time is never earlier than the unit's previous stage.
Clock times without a date (dispatch logs) follow the midnight rule: a stage time earlier than the
previous stage's on the same date belongs to the next day (`place_clock`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import INGEST_WRITE, READ_INTERNAL, Viewer
from citymeter.errors import InvalidInput, NotFound, PermissionDenied
from citymeter.incidents.models import (
    CATEGORIES,
    STAGES,
    STATUSES,
    Incident,
    IncidentType,
    IncidentUnitStage,
)
from citymeter.live.events import LiveEvent, publish_after_commit
from citymeter.places.locator import cached_locator
from citymeter.places.models import Area, City

DAY = dt.timedelta(days=1)


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str = Field(min_length=1, max_length=32)
    stage: str
    at: AwareDatetime


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64, description="Incident type code.")
    category: str | None = Field(default=None, description="Creates the type when it is new.")
    severity: int | None = Field(default=None, ge=1, le=5)
    reported_at: AwareDatetime
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, max_length=500)
    remarks: str | None = None
    stages: list[StageIn] = Field(default_factory=list)


@dataclass(frozen=True)
class ResponseTimes:
    call_to_dispatch_s: float | None
    dispatch_to_arrival_s: float | None


@dataclass(frozen=True)
class ResponseSummary:
    incidents: int
    with_dispatch: int
    with_arrival: int
    with_both: int
    median_s: float | None
    mean_s: float | None


def place_clock(
    day: dt.date, clock: dt.time, previous: dt.datetime | None, tz: dt.tzinfo
) -> dt.datetime:
    """The moment of `clock` on `day`, moved to the next day when earlier than `previous`."""
    moment = dt.datetime.combine(day, clock, tzinfo=tz)
    if previous is not None:
        while moment < previous:
            moment += DAY
    return moment


def _require_write(viewer: Viewer) -> None:
    if not viewer.can(INGEST_WRITE):
        raise PermissionDenied(
            f"The role {viewer.role!r} may not record incidents ({INGEST_WRITE})."
        )


# --- types ---


def ensure_type(
    session: Session,
    code: str,
    *,
    category: str = "other",
    name_en: str | None = None,
    name_ko: str = "",
    severity: int = 2,
) -> IncidentType:
    found = session.scalar(select(IncidentType).where(IncidentType.code == code))
    if found is not None:
        return found
    if category not in CATEGORIES:
        raise InvalidInput(f"Category {category!r} is not one of {', '.join(CATEGORIES)}.")
    itype = IncidentType(
        code=code,
        name_en=name_en or code,
        name_ko=name_ko,
        category=category,
        default_severity=severity,
    )
    session.add(itype)
    session.flush()
    return itype


def list_types(session: Session) -> list[IncidentType]:
    return list(session.scalars(select(IncidentType).order_by(IncidentType.code)))


# --- checking a timeline ---


def check_timeline(stages: Sequence[tuple[str, str, dt.datetime]]) -> str | None:
    """Why a list of (unit, stage, at) is out of order, or None. Stages of each unit must follow
    STAGES and never go back in time."""
    last: dict[str, tuple[int, dt.datetime]] = {}
    for unit, stage, at in stages:
        if stage not in STAGES:
            return f"unit {unit}: unknown stage {stage!r}; stages are {', '.join(STAGES)}"
        index = STAGES.index(stage)
        if unit in last:
            prev_index, prev_at = last[unit]
            if index <= prev_index:
                return (
                    f"unit {unit}: stage {stage!r} out of order — it already reached "
                    f"{STAGES[prev_index]!r}; stages go {' → '.join(STAGES)}"
                )
            if at < prev_at:
                return (
                    f"unit {unit}: {stage!r} at {at.isoformat()} is before its "
                    f"{STAGES[prev_index]!r} at {prev_at.isoformat()}"
                )
        last[unit] = (index, at)
    return None


def status_from(stages: Sequence[str]) -> str:
    reached = [STAGES.index(s) for s in stages if s in STAGES]
    return STAGES[max(reached)] if reached else "reported"


# --- creating ---


def _locate(
    session: Session, lat: float, lon: float, city: City | None = None
) -> tuple[int | None, int | None]:
    """(area id, district id) of a point in `city` (default: the only city of the store)."""
    cities = [city] if city else list(session.scalars(select(City).order_by(City.id).limit(2)))
    if len(cities) != 1:
        return None, None
    try:
        locator = cached_locator(session, cities[0])
    except InvalidInput:
        return None, None
    location = locator.locate(lat, lon)
    if location is None:
        raise InvalidInput(f"Location ({lat}, {lon}) is outside {cities[0].name}.")
    district = location.at_level("district")
    return location.area.id, district.id if district else None


def create_incidents(
    session: Session,
    viewer: Viewer,
    items: Sequence[IncidentIn],
    *,
    batch: str | None = None,
    source_id: int | None = None,
    city: City | None = None,
) -> list[Incident]:
    """Check every incident, then store them all or none; InvalidInput lists every problem.
    Locations are placed in `city` (default: the only city of the store)."""
    from citymeter.incidents import alerts

    _require_write(viewer)
    problems: list[str] = []
    numbers = [i.number for i in items]
    seen: set[str] = set()
    for number in numbers:
        if number in seen:
            problems.append(f"incident {number}: appears twice in the batch")
        seen.add(number)
    existing = set(session.scalars(select(Incident.number).where(Incident.number.in_(numbers))))
    for number in sorted(existing):
        problems.append(f"incident {number}: already exists")
    types: dict[str, IncidentType | None] = {}
    for item in items:
        if item.type not in types:
            types[item.type] = session.scalar(
                select(IncidentType).where(IncidentType.code == item.type)
            )
        if types[item.type] is None and item.category is None:
            problems.append(
                f"incident {item.number}: unknown type {item.type!r}; give a category to create it"
            )
        if item.category is not None and item.category not in CATEGORIES:
            problems.append(
                f"incident {item.number}: category {item.category!r} is not one of "
                f"{', '.join(CATEGORIES)}"
            )
        if (item.lat is None) != (item.lon is None):
            problems.append(f"incident {item.number}: give both lat and lon, or neither")
        reason = check_timeline([(s.unit, s.stage, s.at) for s in item.stages])
        if reason:
            problems.append(f"incident {item.number}: {reason}")
        elif item.stages and min(s.at for s in item.stages) < item.reported_at:
            problems.append(
                f"incident {item.number}: a stage is earlier than the call "
                f"({item.reported_at.isoformat()})"
            )
    located: dict[str, tuple[int | None, int | None]] = {}
    if not problems:
        for item in items:
            if item.lat is not None and item.lon is not None:
                try:
                    located[item.number] = _locate(session, item.lat, item.lon, city)
                except InvalidInput as exc:
                    problems.append(f"incident {item.number}: {exc.message}")
    if problems:
        raise InvalidInput("Nothing was stored: " + "; ".join(problems))
    created: list[Incident] = []
    for item in items:
        itype = types[item.type] or ensure_type(
            session, item.type, category=item.category or "other"
        )
        types[item.type] = itype
        area_id, district_id = located.get(item.number, (None, None))
        incident = Incident(
            number=item.number,
            type_id=itype.id,
            severity=item.severity or itype.default_severity,
            reported_at=item.reported_at,
            lat=item.lat,
            lon=item.lon,
            area_id=area_id,
            district_id=district_id,
            address=item.address,
            remarks=item.remarks,
            status=status_from([s.stage for s in item.stages]),
            import_batch=batch,
            source_id=source_id,
        )
        session.add(incident)
        session.flush()
        for s in item.stages:
            session.add(
                IncidentUnitStage(incident_id=incident.id, unit=s.unit, stage=s.stage, at=s.at)
            )
        created.append(incident)
    session.flush()
    for incident in created:
        audit.record(session, viewer, "incident.create", "incident", incident.number)
        alerts.on_incident(session, incident)
        announce(session, incident, "incident.created")
    return created


def announce(session: Session, incident: Incident, kind: str) -> None:
    """Tell open dashboards, once the transaction commits, what they may show of an incident:
    never its address, remarks or source."""
    district = session.get(Area, incident.district_id) if incident.district_id else None
    itype = session.get(IncidentType, incident.type_id)
    publish_after_commit(
        session,
        LiveEvent(
            kind=kind,
            data={
                "number": incident.number,
                "type": itype.code if itype else None,
                "category": itype.category if itype else None,
                "severity": incident.severity,
                "status": incident.status,
                "reported_at": incident.reported_at.isoformat(),
                "district": district.code if district else None,
            },
            city_id=district.city_id if district else None,
            district_id=incident.district_id,
        ),
    )


def advance(
    session: Session, viewer: Viewer, number: str, unit: str, stage: str, at: dt.datetime
) -> IncidentUnitStage:
    """Record that `unit` reached `stage` at `at`; refused when out of order."""
    _require_write(viewer)
    incident = _get(session, number)
    if at.tzinfo is None:
        raise InvalidInput("A stage time must carry a time zone.")
    timeline = [(s.unit, s.stage, s.at) for s in timeline_of(session, incident) if s.unit == unit]
    reason = check_timeline([*timeline, (unit, stage, at)])
    if reason:
        raise InvalidInput(f"Incident {number}: {reason}.")
    if at < incident.reported_at:
        raise InvalidInput(f"Incident {number}: {stage!r} at {at.isoformat()} is before the call.")
    row = IncidentUnitStage(incident_id=incident.id, unit=unit, stage=stage, at=at)
    session.add(row)
    session.flush()
    incident.status = status_from([incident.status, stage]) if incident.status in STAGES else stage
    session.flush()
    audit.record(
        session, viewer, "incident.stage", "incident", number, {"unit": unit, "stage": stage}
    )
    announce(session, incident, "incident.updated")
    return row


# --- reading ---


def _get(session: Session, number: str) -> Incident:
    incident = session.scalar(select(Incident).where(Incident.number == number))
    if incident is None:
        raise NotFound(f"No incident {number!r}; `citymeter incidents list` shows them.")
    return incident


def get_incident(session: Session, number: str) -> Incident:
    return _get(session, number)


def timeline_of(session: Session, incident: Incident) -> list[IncidentUnitStage]:
    rows = session.scalars(
        select(IncidentUnitStage).where(IncidentUnitStage.incident_id == incident.id)
    )
    return sorted(rows, key=lambda s: (s.at, STAGES.index(s.stage), s.unit))


def response_times(session: Session, incident: Incident) -> ResponseTimes:
    stages = timeline_of(session, incident)
    dispatches = [s.at for s in stages if s.stage == "dispatched"]
    arrivals = [s.at for s in stages if s.stage == "on_scene"]
    first_dispatch = min(dispatches) if dispatches else None
    first_arrival = min(arrivals) if arrivals else None
    call = (
        (first_dispatch - incident.reported_at).total_seconds()
        if first_dispatch and incident.reported_precision == "time"
        else None
    )
    arrive = (
        (first_arrival - first_dispatch).total_seconds()
        if first_dispatch and first_arrival
        else None
    )
    return ResponseTimes(call_to_dispatch_s=call, dispatch_to_arrival_s=arrive)


def response_summary(session: Session, *, batch: str | None = None) -> ResponseSummary:
    """First dispatch to first arrival over stored incidents (optionally one import batch)."""
    query = (
        select(
            IncidentUnitStage.incident_id, IncidentUnitStage.stage, func.min(IncidentUnitStage.at)
        )
        .where(IncidentUnitStage.stage.in_(["dispatched", "on_scene"]))
        .group_by(IncidentUnitStage.incident_id, IncidentUnitStage.stage)
    )
    count_query = select(func.count()).select_from(Incident)
    if batch is not None:
        query = query.join(Incident, Incident.id == IncidentUnitStage.incident_id).where(
            Incident.import_batch == batch
        )
        count_query = count_query.where(Incident.import_batch == batch)
    firsts: dict[int, dict[str, dt.datetime]] = defaultdict(dict)
    for incident_id, stage, at in session.execute(query):
        firsts[incident_id][stage] = at
    values = [
        (f["on_scene"] - f["dispatched"]).total_seconds()
        for f in firsts.values()
        if "on_scene" in f and "dispatched" in f
    ]
    return ResponseSummary(
        incidents=int(session.scalar(count_query) or 0),
        with_dispatch=sum("dispatched" in f for f in firsts.values()),
        with_arrival=sum("on_scene" in f for f in firsts.values()),
        with_both=len(values),
        median_s=statistics.median(values) if values else None,
        mean_s=statistics.fmean(values) if values else None,
    )


def list_incidents(
    session: Session,
    *,
    type_code: str | None = None,
    district_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Incident], int]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"Status {status!r} is not one of {', '.join(STATUSES)}.")
    if limit < 1 or limit > 1000 or offset < 0:
        raise InvalidInput("limit must be 1–1000 and offset not negative.")
    query = select(Incident)
    if type_code is not None:
        query = query.join(IncidentType, IncidentType.id == Incident.type_id).where(
            IncidentType.code == type_code
        )
    if district_id is not None:
        query = query.where(Incident.district_id == district_id)
    if start is not None:
        query = query.where(Incident.reported_at >= start)
    if end is not None:
        query = query.where(Incident.reported_at < end)
    if status is not None:
        query = query.where(Incident.status == status)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    page = session.scalars(
        query.order_by(Incident.reported_at.desc(), Incident.number).limit(limit).offset(offset)
    )
    return list(page), total


def describe(session: Session, viewer: Viewer, incident: Incident) -> dict[str, Any]:
    """The incident as the viewer may see it: the public never sees address, remarks or batch."""
    itype = session.get(IncidentType, incident.type_id)
    out: dict[str, Any] = {
        "number": incident.number,
        "type": itype.code if itype else None,
        "category": itype.category if itype else None,
        "severity": incident.severity,
        "reported_at": incident.reported_at.isoformat(),
        "reported_precision": incident.reported_precision,
        "status": incident.status,
        "area_id": incident.area_id,
        "district_id": incident.district_id,
        "lat": incident.lat,
        "lon": incident.lon,
    }
    if viewer.can(READ_INTERNAL):
        out |= {
            "address": incident.address,
            "remarks": incident.remarks,
            "raw_call_type": incident.raw_call_type,
            "import_batch": incident.import_batch,
            "source_id": incident.source_id,
        }
    return out


def detail(
    session: Session, viewer: Viewer, number: str, *, radius_m: float | None = None
) -> dict[str, Any]:
    """One incident with its timeline, response times and what is near it."""
    from citymeter.incidents import nearby

    incident = _get(session, number)
    times = response_times(session, incident)
    return {
        **describe(session, viewer, incident),
        "timeline": [
            {"unit": s.unit, "stage": s.stage, "at": s.at.isoformat()}
            for s in timeline_of(session, incident)
        ],
        "response_times": {
            "call_to_dispatch_s": times.call_to_dispatch_s,
            "dispatch_to_arrival_s": times.dispatch_to_arrival_s,
        },
        "nearby": nearby.nearby(
            session, viewer, incident, radius_m=radius_m or nearby.DEFAULT_RADIUS_M
        ),
    }
