"""What is near an incident: CCTV sites within a radius (nearest first), the nearest police station
and hospitals — entities of types CctvCamera, PoliceStation and Hospital."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.entities.models import Entity
from citymeter.entities.service import distance_m, query_entities
from citymeter.errors import InvalidInput
from citymeter.incidents.models import Incident

DEFAULT_RADIUS_M = 500.0
MAX_RADIUS_M = 20_000.0
# Police stations and hospitals are searched this far out at most.
SERVICE_RADIUS_M = 30_000.0


@dataclass(frozen=True)
class Near:
    entity_id: str
    type: str
    name: str | None
    distance_m: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "type": self.type,
            "name": self.name,
            "distance_m": round(self.distance_m, 1),
        }


def _nearest(
    session: Session, viewer: Viewer, entity_type: str, lat: float, lon: float, radius: float
) -> list[Near]:
    found, _ = query_entities(
        session, viewer, types=[entity_type], near=(lat, lon, radius), limit=100_000
    )
    return sorted((_near(e, lat, lon) for e in found), key=lambda n: (n.distance_m, n.entity_id))


def _near(entity: Entity, lat: float, lon: float) -> Near:
    name = entity.attributes.get("name", {}).get("value")
    return Near(entity.entity_id, entity.type, name, distance_m(lat, lon, entity.lat, entity.lon))


def nearby(
    session: Session,
    viewer: Viewer,
    incident: Incident,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    hospitals: int = 3,
) -> dict[str, Any]:
    """CCTV within `radius_m`, the nearest police station and the `hospitals` nearest hospitals;
    empty with a note when the incident has no location."""
    if not 0 < radius_m <= MAX_RADIUS_M:
        raise InvalidInput(f"radius_m must be above 0 and at most {MAX_RADIUS_M:g} metres.")
    if incident.lat is None or incident.lon is None:
        return {
            "note": "The incident has no location, so nothing nearby can be found.",
            "cctv": [],
            "police_station": None,
            "hospitals": [],
        }
    lat, lon = incident.lat, incident.lon
    cctv = _nearest(session, viewer, "CctvCamera", lat, lon, radius_m)
    police = _nearest(session, viewer, "PoliceStation", lat, lon, SERVICE_RADIUS_M)
    found = _nearest(session, viewer, "Hospital", lat, lon, SERVICE_RADIUS_M)
    return {
        "radius_m": radius_m,
        "cctv": [n.to_dict() for n in cctv],
        "police_station": police[0].to_dict() if police else None,
        "hospitals": [n.to_dict() for n in found[:hospitals]],
    }
