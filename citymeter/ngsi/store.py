"""What the NGSI-LD API needs of the entity store beyond citymeter.entities.service: candidate
selection for queries (the `q` and geo filters then run on the candidates), system attributes,
and a per-attribute check so that a partial write can report which attributes it refused (207).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from citymeter.accounts.permissions import Viewer
from citymeter.entities.models import Entity
from citymeter.entities.service import visible_to
from citymeter.entities.types import EntityType, find_entity_type, known_type_names
from citymeter.ngsi.errors import BadRequestData
from citymeter.ngsi.geo import GeoQuery
from citymeter.ngsi.representation import format_time, parse_time

LOCATION = "location"


@dataclass(frozen=True)
class Selection:
    """What GET /entities selects in SQL before `q`, `idPattern` and geo filters."""

    types: Sequence[str] | None = None
    ids: Sequence[str] | None = None
    id_pattern: re.Pattern[str] | None = None
    geo: GeoQuery | None = None


def candidates_statement(viewer: Viewer, selection: Selection) -> Select[tuple[Entity]]:
    statement = select(Entity).where(visible_to(viewer))
    if selection.types:
        statement = statement.where(Entity.type.in_(list(selection.types)))
    if selection.ids:
        statement = statement.where(Entity.entity_id.in_(list(selection.ids)))
    geo = selection.geo
    if geo is not None and geo.geoproperty == LOCATION:
        statement = statement.where(Entity.lat.is_not(None))
        box = geo.bounding_box()
        if box is not None and geo.relation in ("within", "equals"):
            # Whatever lies within (or equals) the reference has its representative point, kept
            # in the lon/lat columns, inside the reference's bounds.
            min_lon, min_lat, max_lon, max_lat = box
            statement = statement.where(
                Entity.lon.between(min_lon, max_lon), Entity.lat.between(min_lat, max_lat)
            )
    return statement.order_by(Entity.entity_id)


def count_statement(viewer: Viewer, selection: Selection) -> Select[tuple[int]]:
    inner = candidates_statement(viewer, selection).order_by(None).subquery()
    return select(func.count()).select_from(inner)


def system_attributes(entity: Entity) -> dict[str, str]:
    return {
        "createdAt": format_time(entity.created_at),
        "modifiedAt": format_time(entity.modified_at),
    }


def entity_type_of(name: str) -> EntityType:
    entity_type = find_entity_type(name)
    if entity_type is None:
        raise BadRequestData(
            f"Unknown entity type {name!r}; this city knows {', '.join(known_type_names())}."
        )
    return entity_type


def check_attribute(
    entity_type: EntityType,
    name: str,
    attribute: dict[str, Any],
    *,
    now: dt.datetime,
    future_tolerance: dt.timedelta,
) -> str | None:
    """Why the attribute cannot be stored on an entity of this type, or None."""
    kind = attribute.get("type")
    if name == LOCATION:
        return None if kind == "GeoProperty" else "location must be a GeoProperty"
    spec = entity_type.attribute(name)
    if spec is None:
        allowed = ", ".join([*entity_type.attributes, "name", "description", LOCATION])
        return f"unknown attribute {name!r} for {entity_type.name}; allowed: {allowed}"
    if spec.kind == "relationship":
        if kind != "Relationship":
            return f"attribute {name!r} is a Relationship (give an object URI)"
        return spec.check(name, attribute.get("object"))
    if kind != "Property":
        return f"attribute {name!r} is a Property (give a value), not a {kind}"
    reason = spec.check(name, attribute.get("value"))
    if reason:
        return reason
    unit = attribute.get("unitCode")
    if unit is not None and spec.unit_code is not None and unit != spec.unit_code:
        return f"attribute {name!r} is measured in unitCode {spec.unit_code!r}, not {unit!r}"
    observed = attribute.get("observedAt")
    if observed is not None and parse_time(observed, "observedAt") > now + future_tolerance:
        return f"observedAt of {name!r} is in the future beyond the allowed tolerance"
    return None
