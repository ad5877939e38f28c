"""Read and change live entities: the one service the entity API, the NGSI-LD API and the CLI call.

Writes take attributes in NGSI-LD normalized form ({"type": "Property", "value": ..., "observedAt":
...}; a bare value is read as a Property), validate them against the entity type, keep the history
of numeric values and publish an "entity.updated" live event once the transaction commits.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shapely import Point
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, bindparam, delete, func, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from citymeter.accounts.permissions import INGEST_WRITE, PUBLIC_VIEWER, READ_INTERNAL, Viewer
from citymeter.db.base import utcnow
from citymeter.entities.history import (
    HistoryPoint,
    driver_cursor,
    read_history,
    record_points,
    sqlite_text,
)
from citymeter.entities.ingest import (
    attribute_value,
    check_entity_id,
    entity_event,
    iso_utc,
    parse_time,
)
from citymeter.entities.models import AttributePoint, AttributeRollup, DeadLetter, Entity
from citymeter.entities.types import COMMON_ATTRIBUTES, EntityType, get_entity_type
from citymeter.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from citymeter.live.events import LiveEvent, publish_after_commit
from citymeter.places.locator import cached_locator
from citymeter.places.models import City
from citymeter.settings import get_settings
from citymeter.sources.models import Source

EARTH_RADIUS_M = 6_371_008.8
RESERVED = ("id", "type", "@context", "location", "observedAt", "createdAt", "modifiedAt")


@dataclass
class AttributeChange:
    """What a partial write did, as NGSI-LD reports it: names updated, (name, reason) refused."""

    updated: list[str] = field(default_factory=list)
    not_updated: list[tuple[str, str]] = field(default_factory=list)


# --- who sees what ---


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Public entities for everyone; internal ones for staff, and a district head's own district."""
    if not viewer.can(READ_INTERNAL):
        return Entity.visibility == "public"
    if viewer.role == "district_head":
        return or_(Entity.visibility == "public", Entity.district_id == viewer.district_id)
    return true()


def may_see(viewer: Viewer, visibility: str, district_id: int | None) -> bool:
    """`visible_to` for a row already read: the same rule, in Python."""
    if not viewer.can(READ_INTERNAL):
        return visibility == "public"
    if viewer.role == "district_head":
        return visibility == "public" or district_id == viewer.district_id
    return True


def _require_write(viewer: Viewer) -> None:
    if not viewer.can(INGEST_WRITE):
        raise PermissionDenied(
            f"The role {viewer.role!r} may not change entities ({INGEST_WRITE})."
        )


# --- reading ---


# Built once: every NGSI-LD write and read starts with this lookup.
_BY_ID = select(Entity).where(Entity.entity_id == bindparam("entity_id"))
_BY_ID_PUBLIC = _BY_ID.where(Entity.visibility == "public")


def get_entity(session: Session, entity_id: str, viewer: Viewer = PUBLIC_VIEWER) -> Entity:
    if not viewer.can(READ_INTERNAL):
        statement = _BY_ID_PUBLIC
    elif viewer.role == "district_head":
        statement = _BY_ID.where(visible_to(viewer))
    else:
        statement = _BY_ID
    entity = session.scalar(statement, {"entity_id": entity_id})
    if entity is None:
        raise NotFound(f"No entity {entity_id!r}; `citymeter entities list` shows them.")
    return entity


def query_entities(
    session: Session,
    viewer: Viewer = PUBLIC_VIEWER,
    *,
    types: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    id_pattern: str | None = None,
    near: tuple[float, float, float] | None = None,
    within: Mapping[str, Any] | BaseGeometry | None = None,
    attrs_filter: Sequence[str] | None = None,
    city_id: int | None = None,
    district_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Entity], int]:
    """Entities the viewer may see, by type, id, id regex, distance (lat, lon, max metres), within
    a GeoJSON geometry, having at least one of `attrs_filter`; ordered by id; (page, total)."""
    if limit < 0 or offset < 0:
        raise InvalidInput("limit and offset must not be negative.")
    query = select(Entity).where(visible_to(viewer))
    if types:
        query = query.where(Entity.type.in_(list(types)))
    if ids:
        query = query.where(Entity.entity_id.in_(list(ids)))
    if city_id is not None:
        query = query.where(Entity.city_id == city_id)
    if district_id is not None:
        query = query.where(Entity.district_id == district_id)
    checks: list[Any] = []
    if id_pattern is not None:
        try:
            pattern = re.compile(id_pattern)
        except re.error as exc:
            raise InvalidInput(
                f"idPattern {id_pattern!r} is not a valid regular expression: {exc}"
            ) from None
        checks.append(lambda e: pattern.fullmatch(e.entity_id) is not None)
    if near is not None:
        lat, lon, max_m = near
        if max_m < 0:
            raise InvalidInput("The maximum distance must not be negative.")
        dlat = math.degrees(max_m / EARTH_RADIUS_M)
        dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
        query = query.where(
            Entity.lat.between(lat - dlat, lat + dlat), Entity.lon.between(lon - dlon, lon + dlon)
        )
        checks.append(lambda e: distance_m(lat, lon, e.lat, e.lon) <= max_m)
    if within is not None:
        geometry = within if isinstance(within, BaseGeometry) else _geometry(within)
        minx, miny, maxx, maxy = geometry.bounds
        query = query.where(Entity.lat.between(miny, maxy), Entity.lon.between(minx, maxx))
        checks.append(lambda e: geometry.covers(Point(e.lon, e.lat)))
    if attrs_filter:
        wanted = set(attrs_filter)
        checks.append(lambda e: bool(wanted & set(e.attributes)))
    query = query.order_by(Entity.entity_id)
    if not checks:
        total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        page = list(session.scalars(query.limit(limit).offset(offset)))
        return page, total
    matched = [e for e in session.scalars(query) if all(check(e) for check in checks)]
    return matched[offset : offset + limit], len(matched)


def distance_m(lat1: float, lon1: float, lat2: float | None, lon2: float | None) -> float:
    """Great-circle distance in metres (infinite when a point is missing)."""
    if lat2 is None or lon2 is None:
        return math.inf
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _geometry(raw: Mapping[str, Any]) -> BaseGeometry:
    try:
        geometry = shape(raw)
    except Exception as exc:  # shapely raises several types for bad GeoJSON
        raise InvalidInput(f"The geometry is not valid GeoJSON: {exc}") from None
    if geometry.is_empty:
        raise InvalidInput("The geometry is empty.")
    return geometry


def entity_history(
    session: Session,
    entity_id: str,
    attr: str | None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    grain: Literal["raw", "hour", "day"] | str = "raw",
    last_n: int | None = None,
    *,
    viewer: Viewer = PUBLIC_VIEWER,
) -> list[HistoryPoint]:
    """The time series of a numeric attribute (all numeric attributes when `attr` is None) in
    [start, end): raw points, or hourly/daily means with count, min and max; oldest first."""
    entity = get_entity(session, entity_id, viewer)
    if attr is not None:
        spec = get_entity_type(entity.type).attribute(attr)
        if spec is None or spec.kind != "number":
            numeric = ", ".join(get_entity_type(entity.type).numeric_attributes) or "none"
            raise InvalidInput(
                f"{entity.type} has no numeric attribute {attr!r}; numeric ones: {numeric}."
            )
    return read_history(session, entity, attr, start=start, end=end, grain=grain, last_n=last_n)


def list_dead_letters(
    session: Session,
    *,
    channel: str | None = None,
    source: Source | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[DeadLetter], int]:
    """Dead letters, newest first; (page, total)."""
    query = select(DeadLetter)
    if channel:
        query = query.where(DeadLetter.channel == channel)
    if source is not None:
        query = query.where(DeadLetter.source_id == source.id)
    if since is not None:
        query = query.where(DeadLetter.received_at >= since)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    page = session.scalars(query.order_by(DeadLetter.id.desc()).limit(limit).offset(offset)).all()
    return list(page), total


def to_normalized(entity: Entity) -> dict[str, Any]:
    """The entity in NGSI-LD normalized form (without @context)."""
    body: dict[str, Any] = {"id": entity.entity_id, "type": entity.type}
    body.update({name: dict(value) for name, value in sorted(entity.attributes.items())})
    if entity.location is not None:
        body["location"] = {"type": "GeoProperty", "value": entity.location}
    return body


# --- writing ---


@dataclass
class _Parsed:
    stored: dict[str, Any]
    number: float | None
    at: dt.datetime


def _put_parsed(
    parsed: Mapping[str, _Parsed],
    current: dict[str, Any],
    change: AttributeChange,
    pk: int,
    observed_at: dt.datetime | None,
    mode: str,
) -> tuple[list[tuple[int, str, dt.datetime, float]], dt.datetime | None]:
    """Put the parsed attributes into `current` as `mode` allows, noting each in `change`; the
    history points of the numbers written and the entity's new observed_at."""
    points: list[tuple[int, str, dt.datetime, float]] = []
    for name, item in parsed.items():
        if mode == "update" and name not in current:
            change.not_updated.append((name, "the entity has no such attribute"))
            continue
        if mode == "no_overwrite" and name in current:
            change.not_updated.append((name, "the attribute exists and noOverwrite is set"))
            continue
        current[name] = item.stored
        change.updated.append(name)
        if item.number is not None:
            points.append((pk, name, item.at, item.number))
        if observed_at is None or item.at > observed_at:
            observed_at = item.at
    return points, observed_at


def _parse_attribute(entity_type: EntityType, name: str, raw: Any, now: dt.datetime) -> _Parsed:
    spec = entity_type.attribute(name)
    if spec is None:
        allowed = ", ".join([*entity_type.attributes, *COMMON_ATTRIBUTES])
        raise InvalidInput(
            f"Unknown attribute {name!r} for {entity_type.name}; allowed: {allowed}."
        )
    if isinstance(raw, Mapping):
        kind = raw.get("type", "Relationship" if "object" in raw else "Property")
        if spec.kind == "relationship":
            if kind != "Relationship" or "object" not in raw:
                raise InvalidInput(f"Attribute {name!r} is a Relationship with an 'object'.")
            value = raw["object"]
        else:
            if kind != "Property" or "value" not in raw:
                raise InvalidInput(f"Attribute {name!r} is a Property with a 'value'.")
            value = raw["value"]
        unit = raw.get("unitCode")
        if unit is not None and spec.unit_code is not None and unit != spec.unit_code:
            raise InvalidInput(
                f"Attribute {name!r} is measured in unitCode {spec.unit_code}, not {unit}."
            )
        observed = raw.get("observedAt")
    else:
        value, observed = raw, None
    reason = spec.check(name, value)
    if reason:
        raise InvalidInput(reason[0].upper() + reason[1:] + ".")
    at = now
    if observed is not None:
        try:
            at = parse_time(str(observed))
        except ValueError:
            raise InvalidInput(f"observedAt of {name!r} is not an ISO 8601 time.") from None
        if at.tzinfo is None:
            raise InvalidInput(f"observedAt of {name!r} needs a time zone (e.g. Z).")
        tolerance = dt.timedelta(seconds=get_settings().ingest_future_tolerance_s)
        if at > now + tolerance:
            raise InvalidInput(f"observedAt of {name!r} is in the future beyond the tolerance.")
    stored = attribute_value(spec, value, at if observed is not None else None)
    if observed is None and spec.kind == "number":
        stored["observedAt"] = iso_utc(now)
    number = float(value) if spec.kind == "number" else None
    return _Parsed(stored, number, at.astimezone(dt.UTC))


def _set_location(session: Session, entity: Entity, raw: Any) -> None:
    geometry_raw = raw.get("value") if isinstance(raw, Mapping) and "value" in raw else raw
    if not isinstance(geometry_raw, Mapping):
        raise InvalidInput("location must be a GeoProperty whose value is a GeoJSON geometry.")
    geometry = _geometry(geometry_raw)
    point = geometry if geometry.geom_type == "Point" else geometry.representative_point()
    lat, lon = float(point.y), float(point.x)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("location coordinates are [longitude, latitude] in WGS84.")
    entity.location = dict(geometry_raw)
    entity.lat, entity.lon = lat, lon
    entity.area_id = entity.district_id = None
    city = session.get(City, entity.city_id) if entity.city_id is not None else None
    if city is None:
        return
    try:
        locator = cached_locator(session, city)
    except InvalidInput:
        return  # the city has no map yet: keep the point, resolve nothing
    location = locator.locate(lat, lon)
    if location is None:
        raise InvalidInput(f"location ({lat}, {lon}) is outside {city.name}.")
    district = location.at_level("district")
    entity.area_id, entity.district_id = location.area.id, district.id if district else None


def _apply(
    session: Session,
    entity: Entity,
    attrs: Mapping[str, Any],
    *,
    mode: Literal["append", "no_overwrite", "update", "replace"],
) -> AttributeChange:
    """Validate every attribute first (any error: nothing changes), then write them."""
    entity_type = get_entity_type(entity.type)
    now = utcnow()
    parsed: dict[str, _Parsed] = {}
    location: Any = None
    for name, raw in attrs.items():
        if name in ("id", "type", "@context"):
            continue
        if name == "location":
            location = raw
            continue
        if name in RESERVED:
            raise InvalidInput(f"{name!r} cannot be set as an attribute.")
        parsed[name] = _parse_attribute(entity_type, name, raw, now)
    change = AttributeChange()
    current = {} if mode == "replace" else dict(entity.attributes)
    if location is not None:
        if mode == "update" and entity.location is None:
            change.not_updated.append(("location", "the entity has no location to update"))
        elif mode == "no_overwrite" and entity.location is not None:
            change.not_updated.append(("location", "the attribute exists and noOverwrite is set"))
        else:
            _set_location(session, entity, location)
            change.updated.append("location")
    elif mode == "replace":
        entity.location = entity.lat = entity.lon = entity.area_id = entity.district_id = None
    points, observed_at = _put_parsed(parsed, current, change, entity.id, entity.observed_at, mode)
    _write_state(session, entity, current, observed_at, now)
    record_points(session, points)
    values = {n: p.stored.get("value", p.stored.get("object")) for n, p in parsed.items()}
    publish_after_commit(
        session, entity_event(entity, {n: values[n] for n in change.updated if n in values})
    )
    return change


# Built once: every attribute write ends with it.
_ENTITY_TABLE: Any = Entity.__table__
_WRITE_STATE = (
    update(_ENTITY_TABLE)
    .where(_ENTITY_TABLE.c.id == bindparam("pk"))
    .values(
        attributes=bindparam("new_attributes"),
        observed_at=bindparam("new_observed_at"),
        modified_at=bindparam("new_modified_at"),
    )
)


def _write_state(
    session: Session,
    entity: Entity,
    attributes: dict[str, Any],
    observed_at: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """Store the entity's new current state. Outside a savepoint this is one prepared UPDATE,
    and the loaded row is told its new values as already stored: the ORM's unit of work costs
    several times the statement on the single-attribute update path. Inside a savepoint the
    unit of work does it, because a savepoint rollback only expires the rows it saw change."""
    if session.in_nested_transaction():
        entity.attributes = attributes
        entity.observed_at = observed_at
        entity.modified_at = now
        session.flush()
        return
    session.flush()  # anything else changed on the row (its location) goes first
    session.connection().execute(
        _WRITE_STATE,
        {
            "pk": entity.id,
            "new_attributes": attributes,
            "new_observed_at": observed_at,
            "new_modified_at": now,
        },
    )
    set_committed_value(entity, "attributes", attributes)
    set_committed_value(entity, "observed_at", observed_at)
    set_committed_value(entity, "modified_at", now)


# --- many attribute updates at once ---
#
# The NGSI-LD update lane stores the updates that wait together in one transaction. Through
# `get_entity` and `write_attrs` each of them paid an ORM load (identity map, instance state)
# and its own UPDATE and history insert; here the rows of a batch are read with one SELECT,
# changed in memory, and written with one executemany UPDATE and one `record_points` call.


@dataclass
class EntityState:
    """The columns of an entity row that an attribute update reads or changes, without the ORM."""

    pk: int
    entity_id: str
    type: str
    attributes: dict[str, Any]
    observed_at: dt.datetime | None
    modified_at: dt.datetime
    visibility: str
    city_id: int | None
    district_id: int | None
    lat: float | None
    lon: float | None
    changed: bool = False


@dataclass
class StateUpdate:
    """What `update_state` did to one entity: the NGSI-LD answer, and what is left to store."""

    change: AttributeChange
    points: list[tuple[int, str, dt.datetime, float]]
    event: LiveEvent


_STATES = select(
    *(
        _ENTITY_TABLE.c[name]
        for name in (
            "id",
            "entity_id",
            "type",
            "attributes",
            "observed_at",
            "modified_at",
            "visibility",
            "city_id",
            "district_id",
            "lat",
            "lon",
        )
    )
)
_STATE_BY_ID = _STATES.where(_ENTITY_TABLE.c.entity_id == bindparam("entity_id"))
_STATES_BY_IDS = _STATES.where(
    _ENTITY_TABLE.c.entity_id.in_(bindparam("entity_ids", expanding=True))
)


def load_states(session: Session, entity_ids: Collection[str]) -> dict[str, EntityState]:
    """The rows of these entities, by entity id, whoever may see them (check `may_see`)."""
    if not entity_ids:
        return {}
    if _on_sqlite(session):
        return _load_states_sqlite(session, list(entity_ids))
    if len(entity_ids) == 1:
        rows = session.execute(_STATE_BY_ID, {"entity_id": next(iter(entity_ids))})
    else:
        rows = session.execute(_STATES_BY_IDS, {"entity_ids": list(entity_ids)})
    return {row[1]: EntityState(*row) for row in rows}


# On SQLite the rows are read and written on the driver's cursor, as the history points are
# (entities/history.py): SQLAlchemy's statement and result handling cost more than SQLite's own
# work for a one-row read or write. The columns hold what SQLAlchemy stores there: the JSON text
# of `json.dumps` and UTC times as "YYYY-MM-DD HH:MM:SS.ffffff".
_SQLITE_STATES = (
    "SELECT id, entity_id, type, attributes, observed_at, modified_at, visibility, city_id, "
    "district_id, lat, lon FROM entity WHERE entity_id IN ({marks})"
)
_SQLITE_WRITE_STATE = (
    "UPDATE entity SET attributes = ?, observed_at = ?, modified_at = ? WHERE id = ?"
)


def _on_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _sqlite_time(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    at = dt.datetime.fromisoformat(text)
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _sqlite_text(at: dt.datetime | None) -> str | None:
    return None if at is None else sqlite_text(at.astimezone(dt.UTC))


def _load_states_sqlite(session: Session, entity_ids: list[str]) -> dict[str, EntityState]:
    with driver_cursor(session) as cursor:
        cursor.execute(_SQLITE_STATES.format(marks=",".join("?" * len(entity_ids))), entity_ids)
        rows = cursor.fetchall()
    states = {}
    for pk, entity_id, type_, attributes, observed, modified, *rest in rows:
        modified_at = _sqlite_time(modified)
        assert modified_at is not None
        states[entity_id] = EntityState(
            pk,
            entity_id,
            type_,
            json.loads(attributes) if attributes is not None else {},
            _sqlite_time(observed),
            modified_at,
            *rest,
        )
    return states


def update_state(
    state: EntityState, attrs: Mapping[str, Any], *, viewer: Viewer, now: dt.datetime
) -> StateUpdate:
    """`update_attrs` on a row read by `load_states`: the same checks, answer and live event, the
    row changed in memory only (`store_states` writes it). `location` is not taken here (it
    needs the city's map): `update_attrs` does that. Any error leaves `state` as it was."""
    _require_write(viewer)
    entity_type = get_entity_type(state.type)
    parsed: dict[str, _Parsed] = {}
    for name, raw in attrs.items():
        if name in ("id", "type", "@context"):
            continue
        if name in RESERVED:
            raise InvalidInput(f"{name!r} cannot be set as an attribute.")
        parsed[name] = _parse_attribute(entity_type, name, raw, now)
    change = AttributeChange()
    current = dict(state.attributes)
    points, observed_at = _put_parsed(
        parsed, current, change, state.pk, state.observed_at, "update"
    )
    state.attributes, state.observed_at, state.modified_at = current, observed_at, now
    state.changed = True
    values = {n: p.stored.get("value", p.stored.get("object")) for n, p in parsed.items()}
    event = LiveEvent(  # what `entity_event` makes of the ORM row
        kind="entity.updated",
        data={
            "entity_id": state.entity_id,
            "type": state.type,
            "district_id": state.district_id,
            "observed_at": iso_utc(observed_at) if observed_at else None,
            "location": [state.lon, state.lat] if state.lat is not None else None,
            "attrs": {n: values[n] for n in change.updated if n in values},
        },
        city_id=state.city_id,
        district_id=state.district_id,
        entity_type=state.type,
        visibility=state.visibility,
    )
    return StateUpdate(change, points, event)


def store_states(
    session: Session, states: Iterable[EntityState], updates: Sequence[StateUpdate]
) -> None:
    """Write the changed rows (one executemany UPDATE), the history points of `updates` (one
    `record_points`), and hold their live events until the commit. An Entity row this session
    has already loaded is expired, so that it shows the new values when next read."""
    changed = [state for state in states if state.changed]
    if changed:
        session.flush()  # ORM changes made earlier in this session go first
        if _on_sqlite(session):
            with driver_cursor(session) as cursor:
                cursor.executemany(
                    _SQLITE_WRITE_STATE,
                    [
                        (
                            json.dumps(state.attributes),
                            _sqlite_text(state.observed_at),
                            _sqlite_text(state.modified_at),
                            state.pk,
                        )
                        for state in changed
                    ],
                )
        else:
            session.connection().execute(
                _WRITE_STATE,
                [
                    {
                        "pk": state.pk,
                        "new_attributes": state.attributes,
                        "new_observed_at": state.observed_at,
                        "new_modified_at": state.modified_at,
                    }
                    for state in changed
                ],
            )
        for state in changed:
            state.changed = False
            loaded = session.identity_map.get(identity_key(Entity, state.pk))
            if loaded is not None:
                session.expire(loaded)  # read again when next used (in a savepoint too)
    record_points(session, [point for done in updates for point in done.points])
    for done in updates:
        publish_after_commit(session, done.event)


def create_entity(
    session: Session,
    entity: Mapping[str, Any],
    *,
    viewer: Viewer,
    city: City | None = None,
    source: Source | None = None,
    visibility: str | None = None,
) -> Entity:
    """A new entity from its NGSI-LD normalized form; Conflict if the id exists."""
    _require_write(viewer)
    entity_id, type_name = entity.get("id"), entity.get("type")
    if not isinstance(entity_id, str) or not isinstance(type_name, str):
        raise InvalidInput("An entity needs an 'id' (a URI) and a 'type'.")
    problem = check_entity_id(entity_id)
    if problem:
        raise InvalidInput(problem[0].upper() + problem[1:] + ".")
    get_entity_type(type_name)
    if session.scalar(select(Entity.id).where(Entity.entity_id == entity_id)) is not None:
        raise Conflict(f"An entity {entity_id!r} already exists.")
    if city is None:
        cities = list(session.scalars(select(City).order_by(City.id).limit(2)))
        city = cities[0] if len(cities) == 1 else None
    visibility = visibility or (source.visibility if source is not None else "public")
    if visibility not in ("public", "internal"):
        raise InvalidInput("visibility is public or internal.")
    now = utcnow()
    row = Entity(
        entity_id=entity_id,
        type=type_name,
        city_id=city.id if city is not None else None,
        attributes={},
        source_id=source.id if source is not None else None,
        visibility=visibility,
        created_at=now,
        modified_at=now,
    )
    session.add(row)
    session.flush()
    try:
        with session.begin_nested():
            _apply(session, row, entity, mode="append")
    except InvalidInput:
        session.delete(row)
        session.flush()
        raise
    return row


def upsert_entity(
    session: Session,
    entity: Mapping[str, Any],
    *,
    viewer: Viewer,
    replace: bool = False,
    city: City | None = None,
    source: Source | None = None,
) -> tuple[Entity, bool]:
    """Create the entity, or change the existing one: `replace` swaps all its attributes, else
    the given ones are appended/overwritten. Returns (entity, created?)."""
    _require_write(viewer)
    entity_id = entity.get("id")
    existing = (
        session.scalar(select(Entity).where(Entity.entity_id == entity_id))
        if isinstance(entity_id, str)
        else None
    )
    if existing is None:
        return create_entity(session, entity, viewer=viewer, city=city, source=source), True
    if entity.get("type") not in (None, existing.type):
        raise InvalidInput(f"Entity {entity_id} is a {existing.type}, not a {entity.get('type')}.")
    _apply(session, existing, entity, mode="replace" if replace else "append")
    return existing, False


def _writable(session: Session, entity_id: str, viewer: Viewer) -> Entity:
    _require_write(viewer)
    return get_entity(session, entity_id, viewer)


def append_attrs(
    session: Session,
    entity_id: str,
    attrs: Mapping[str, Any],
    *,
    viewer: Viewer,
    overwrite: bool = True,
) -> AttributeChange:
    """Add attributes, overwriting existing ones unless `overwrite=False` (noOverwrite)."""
    entity = _writable(session, entity_id, viewer)
    return _apply(session, entity, attrs, mode="append" if overwrite else "no_overwrite")


def replace_attrs(
    session: Session, entity_id: str, attrs: Mapping[str, Any], *, viewer: Viewer
) -> AttributeChange:
    """Replace all the entity's attributes by `attrs` (its id and type stay)."""
    entity = _writable(session, entity_id, viewer)
    return _apply(session, entity, attrs, mode="replace")


def update_attrs(
    session: Session, entity_id: str, attrs: Mapping[str, Any], *, viewer: Viewer
) -> AttributeChange:
    """Change attributes the entity already has; the others are reported as not updated."""
    entity = _writable(session, entity_id, viewer)
    return _apply(session, entity, attrs, mode="update")


def write_attrs(
    session: Session,
    entity: Entity,
    attrs: Mapping[str, Any],
    *,
    viewer: Viewer,
    mode: Literal["append", "no_overwrite", "update", "replace"],
) -> AttributeChange:
    """append_attrs / replace_attrs / update_attrs for an entity row the caller has already read
    as `viewer` (get_entity): saves looking it up a second time on every write."""
    _require_write(viewer)
    return _apply(session, entity, attrs, mode=mode)


def delete_attr(session: Session, entity_id: str, attr: str, *, viewer: Viewer) -> None:
    """Remove one attribute (its history stays)."""
    entity = _writable(session, entity_id, viewer)
    if attr == "location" and entity.location is not None:
        entity.location = entity.lat = entity.lon = entity.area_id = entity.district_id = None
    elif attr not in entity.attributes:
        raise NotFound(f"Entity {entity_id} has no attribute {attr!r}.")
    else:
        entity.attributes = {k: v for k, v in entity.attributes.items() if k != attr}
    entity.modified_at = utcnow()
    session.flush()
    publish_after_commit(session, entity_event(entity, {attr: None}))


def delete_entity(session: Session, entity_id: str, viewer: Viewer) -> None:
    """Remove the entity with its history and roll-ups."""
    entity = _writable(session, entity_id, viewer)
    event = entity_event(entity, {}, kind="entity.deleted")
    session.execute(delete(AttributePoint).where(AttributePoint.entity_pk == entity.id))
    session.execute(delete(AttributeRollup).where(AttributeRollup.entity_pk == entity.id))
    session.delete(entity)
    session.flush()
    publish_after_commit(session, event)


def count_entities(session: Session, viewer: Viewer = PUBLIC_VIEWER) -> dict[str, int]:
    """Entities per type the viewer may see."""
    rows = session.execute(
        select(Entity.type, func.count(Entity.id)).where(visible_to(viewer)).group_by(Entity.type)
    ).all()
    return {t: int(n) for t, n in rows}
