"""Incident reads for the portal: the list filtered by type, time and distance from a point, and
one incident with its units' timelines, each shown at the level the viewer may see its district
(the public never sees address, dispatcher remarks or import details)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.entities.service import distance_m
from citymeter.errors import InvalidInput
from citymeter.incidents import nearby as incident_nearby
from citymeter.incidents import service as incidents
from citymeter.incidents.models import STAGES, Incident, IncidentType
from citymeter.places.models import Area
from citymeter.portal import access

DEFAULT_RADIUS_M = 2_000.0
MAX_RADIUS_M = 20_000.0
PAGE_SIZE = 100
_METRES_PER_DEGREE = 111_320.0


def parse_near(text: str | None) -> tuple[float, float] | None:
    """ "37.56,126.97" → (lat, lon); None when empty."""
    if text is None or not text.strip():
        return None
    parts = text.replace(" ", "").split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput(
            f"near is latitude,longitude in degrees (e.g. 37.5665,126.9780), not {text!r}."
        ) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput(f"({lat}, {lon}) is not a latitude and longitude.")
    return lat, lon


@dataclass(frozen=True)
class IncidentRow:
    view: dict[str, Any]
    type_names: dict[str, str]
    district: Area | None
    distance_m: float | None
    reported_at: dt.datetime


def _row(
    session: Session, viewer: Viewer, incident: Incident, distance: float | None
) -> IncidentRow:
    reader = access.reader_for(viewer, incident.district_id)
    itype = session.get(IncidentType, incident.type_id)
    names = {"en": itype.name_en, "ko": itype.name_ko or itype.name_en} if itype else {}
    district = session.get(Area, incident.district_id) if incident.district_id else None
    return IncidentRow(
        incidents.describe(session, reader, incident),
        names,
        district,
        distance,
        incident.reported_at,
    )


def find_incidents(
    session: Session,
    viewer: Viewer,
    *,
    near: tuple[float, float] | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    type_code: str | None = None,
    since: dt.datetime | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[IncidentRow], int]:
    """Newest first, or nearest first within `radius_m` of `near`; (page, total matching)."""
    if not 0 < radius_m <= MAX_RADIUS_M:
        raise InvalidInput(f"radius is above 0 and at most {MAX_RADIUS_M:g} metres.")
    query = select(Incident)
    if type_code:
        query = query.join(IncidentType, IncidentType.id == Incident.type_id).where(
            IncidentType.code == type_code
        )
    if since is not None:
        query = query.where(Incident.reported_at >= since)
    if near is None:
        total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        page = session.scalars(
            query.order_by(Incident.reported_at.desc(), Incident.number).limit(limit)
        )
        return [_row(session, viewer, i, None) for i in page], total
    lat, lon = near
    # A bounding box in the database, then the exact distance here.
    dlat = radius_m / _METRES_PER_DEGREE
    dlon = radius_m / (_METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    boxed = query.where(
        Incident.lat.between(lat - dlat, lat + dlat), Incident.lon.between(lon - dlon, lon + dlon)
    )
    found = []
    for incident in session.scalars(boxed):
        distance = distance_m(lat, lon, incident.lat, incident.lon)
        if distance <= radius_m:
            found.append((distance, incident))
    found.sort(key=lambda pair: (pair[0], pair[1].number))
    return [_row(session, viewer, i, d) for d, i in found[:limit]], len(found)


@dataclass
class UnitTimeline:
    unit: str
    stages: list[tuple[str, dt.datetime, float]]  # stage, time, seconds after the call


@dataclass
class IncidentDetail:
    view: dict[str, Any]
    type_names: dict[str, str]
    district: Area | None
    area: Area | None
    reported_at: dt.datetime
    units: list[UnitTimeline] = field(default_factory=list)
    response: incidents.ResponseTimes | None = None
    nearby: dict[str, Any] = field(default_factory=dict)
    internal: bool = False


def incident_detail(
    session: Session, viewer: Viewer, number: str, *, radius_m: float | None = None
) -> IncidentDetail:
    incident = incidents.get_incident(session, number)
    reader = access.reader_for(viewer, incident.district_id)
    itype = session.get(IncidentType, incident.type_id)
    names = {"en": itype.name_en, "ko": itype.name_ko or itype.name_en} if itype else {}
    units: dict[str, UnitTimeline] = {}
    for stage in incidents.timeline_of(session, incident):
        seconds = (stage.at - incident.reported_at).total_seconds()
        units.setdefault(stage.unit, UnitTimeline(stage.unit, [])).stages.append(
            (stage.stage, stage.at, seconds)
        )
    for timeline in units.values():
        timeline.stages.sort(key=lambda s: STAGES.index(s[0]))
    return IncidentDetail(
        view=incidents.describe(session, reader, incident),
        type_names=names,
        district=session.get(Area, incident.district_id) if incident.district_id else None,
        area=session.get(Area, incident.area_id) if incident.area_id else None,
        reported_at=incident.reported_at,
        units=sorted(units.values(), key=lambda u: (u.stages[0][1], u.unit)),
        response=incidents.response_times(session, incident),
        nearby=incident_nearby.nearby(
            session, reader, incident, radius_m=radius_m or incident_nearby.DEFAULT_RADIUS_M
        ),
        internal=viewer.sees_internal_of(incident.district_id),
    )


def incident_types(session: Session) -> list[IncidentType]:
    return incidents.list_types(session)
