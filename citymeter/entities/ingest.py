"""Ingest readings into the entity store: validate all, then store all or nothing.

A batch is checked whole before anything is written. If any reading is invalid the batch is
refused: each invalid reading becomes a dead letter (reason and raw payload) and nothing else is
stored. The dead letters are the only writes of a refused batch, so they survive: the caller
commits as usual (the HTTP route answers 422 *without* raising, so its transaction commits). The
writes of an accepted batch run inside a SAVEPOINT; if the database refuses them midway, only the
savepoint rolls back, and the batch is dead-lettered and reported refused instead.

Storing a reading upserts its entity, appends its numeric values to the attribute history (the
same reading twice is stored once and counted as a duplicate), keeps the hour/day roll-ups in step,
resolves the location to its area and district, and publishes an "entity.updated" live event per
changed entity once the transaction commits.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from citymeter.accounts.permissions import Viewer
from citymeter.db.base import utcnow
from citymeter.entities.history import ReadingKey, driver_cursor, record_readings, sqlite_text
from citymeter.entities.models import DeadLetter, Entity
from citymeter.entities.types import (
    COMMON_ATTRIBUTES,
    AttributeSpec,
    EntityType,
    attribute_checks,
    find_entity_type,
    known_type_names,
)
from citymeter.errors import InvalidInput
from citymeter.live.events import LiveEvent, publish_after_commit
from citymeter.places.locator import AreaLocator, cached_locator
from citymeter.places.models import City
from citymeter.settings import get_settings
from citymeter.sources.models import Source

URN_PREFIX = "urn:ngsi-ld:"
_SPACE = re.compile(r"\s")
MAX_PAYLOAD_CHARS = 200_000
_IN_CHUNK = 500

AttrValue = float | int | str | bool | None


class ReadingLocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Reading(BaseModel):
    """One observation of one entity: some attribute values at one time, maybe a position."""

    model_config = ConfigDict(extra="forbid")

    entity_id: str | None = Field(
        default=None, description="URN; built as urn:ngsi-ld:<type>:<id> when absent."
    )
    type: str
    id: str | None = Field(default=None, description="The sender's local id of the entity.")
    observed_at: AwareDatetime
    attrs: dict[str, AttrValue] = Field(default_factory=dict)
    location: ReadingLocation | None = None
    name: str | None = None


class ItemError(BaseModel):
    """Why one reading of a batch was refused."""

    index: int
    reason: str
    entity_id: str | None = None
    dead_letter_id: int | None = None


class IngestResult(BaseModel):
    """What became of a batch: received = accepted + duplicates + rejected."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    dead_letter_ids: list[int] = Field(default_factory=list)
    entity_ids: list[str] = Field(default_factory=list)
    errors: list[ItemError] = Field(default_factory=list)
    # The readings were good but the database refused to store them (a constraint, a conflict
    # with another writer, ...): a caller that can retry the whole transaction may.
    store_refused: bool = Field(default=False, exclude=True)

    @property
    def received(self) -> int:
        return self.accepted + self.duplicates + self.rejected

    @property
    def refused(self) -> bool:
        return bool(self.errors)


@dataclass(slots=True)
class _Valid:
    """A reading that passed every check, ready to store."""

    index: int
    entity_id: str
    entity_type: EntityType
    at: dt.datetime
    attrs: dict[str, AttrValue]
    name: str | None
    lat: float | None = None
    lon: float | None = None
    area_id: int | None = None
    district_id: int | None = None
    city_id: int | None = None


# A reading's entity type, entity id, and the refusal if the entity is stored as another type.
_Identity = tuple[EntityType, str, str | None]


@dataclass
class _Context:
    """What the checks of one batch share: the city and its locator, the entities already known."""

    session: Session
    city: City | None
    now: dt.datetime
    tolerance: dt.timedelta
    existing: dict[str, Entity] = field(default_factory=dict)
    locator: AreaLocator | None = None
    locator_error: str | None = None
    located: dict[tuple[float, float], tuple[int, int | None] | None] = field(default_factory=dict)
    existing_types: dict[str, str] = field(default_factory=dict)
    times: dict[str, dt.datetime] = field(default_factory=dict)
    # (type, entity_id, id) of a reading -> its entity type and entity id, once checked.
    identities: dict[tuple[str, str | None, str | None], _Identity] = field(default_factory=dict)


@lru_cache(maxsize=4096)
def iso_utc(at: dt.datetime) -> str:
    """NGSI-LD's form of a time: UTC with a Z, milliseconds only when there are any."""
    at = at.astimezone(dt.UTC)
    if at.microsecond:
        return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def attribute_value(spec: AttributeSpec, value: Any, at: dt.datetime | None) -> dict[str, Any]:
    """An attribute in NGSI-LD normalized form."""
    stored: dict[str, Any]
    if spec.kind == "relationship":
        stored = {"type": "Relationship", "object": value}
    else:
        stored = {"type": "Property", "value": value}
        if spec.unit_code:
            stored["unitCode"] = spec.unit_code
    if at is not None:
        stored["observedAt"] = iso_utc(at)
    return stored


def build_entity_id(entity_type: str, local_id: str) -> str:
    return f"{URN_PREFIX}{entity_type}:{local_id}"


def check_entity_id(entity_id: str) -> str | None:
    """Why `entity_id` is not a usable entity URI, or None."""
    if not entity_id or len(entity_id) > 256:
        return "an entity id must be a URI of 1 to 256 characters"
    if _SPACE.search(entity_id):
        return f"entity id {entity_id!r} contains white space"
    scheme, sep, rest = entity_id.partition(":")
    if not sep or not rest or not scheme.isascii() or not scheme[:1].isalpha():
        return f"entity id {entity_id!r} is not a URI (e.g. urn:ngsi-ld:AirQualityStation:1)"
    return None


def payload_text(payload: Any) -> str:
    """The raw payload as text for a dead letter (bytes decoded leniently, objects as JSON)."""
    if isinstance(payload, bytes):
        text = payload.decode("utf-8", errors="replace")
    elif isinstance(payload, str):
        text = payload
    elif isinstance(payload, BaseModel):
        text = payload.model_dump_json()
    else:
        try:
            text = json.dumps(payload, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(payload)
    return text[:MAX_PAYLOAD_CHARS]


def record_dead_letter(
    session: Session,
    *,
    channel: str,
    reason: str,
    payload: Any,
    source: Source | None = None,
    entity_id: str | None = None,
) -> DeadLetter:
    """Keep something a channel refused, with the reason and the raw payload; flushed, not
    committed (the caller's transaction decides)."""
    letter = DeadLetter(
        channel=channel,
        reason=reason[:2000],
        payload=payload_text(payload),
        source_id=source.id if source is not None else None,
        entity_id=entity_id[:256] if entity_id else None,
    )
    session.add(letter)
    session.flush()
    return letter


def _pydantic_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "reading"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _resolve_city(ctx: _Context) -> City | None:
    if ctx.city is not None:
        return ctx.city
    cities = list(ctx.session.scalars(select(City).order_by(City.id).limit(2)))
    ctx.city = cities[0] if len(cities) == 1 else None
    return ctx.city


def _place_all(ctx: _Context, checked: list[_Valid | ItemError]) -> None:
    """Resolve the area and district of every checked reading (checked[i] is reading i) with a
    location, in place: one
    vectorised lookup for all the batch's points not yet seen (a point-by-point STRtree query
    costs ~20 µs of overhead each). A point outside the city turns its reading into an error."""
    pending = [
        (c, (c.lat, c.lon))
        for c in checked
        if isinstance(c, _Valid) and c.lat is not None and c.lon is not None
    ]
    if not pending:
        return
    city = _resolve_city(ctx)
    if city is None:
        return
    if ctx.locator is None and ctx.locator_error is None:
        try:
            ctx.locator = cached_locator(ctx.session, city)
        except InvalidInput as exc:
            ctx.locator_error = exc.message
    locator = ctx.locator
    if locator is None:
        return  # the city has no map yet: keep the points, resolve nothing
    unseen = list({point for _, point in pending if point not in ctx.located})
    if unseen:
        found = locator.locate_many([p[0] for p in unseen], [p[1] for p in unseen])
        for point, location in zip(unseen, found, strict=True):
            if location is None:
                ctx.located[point] = None
            else:
                district = location.at_level("district")
                ctx.located[point] = (location.area.id, district.id if district else None)
    for valid, point in pending:
        hit = ctx.located[point]
        if hit is None:
            checked[valid.index] = ItemError(
                index=valid.index,
                reason=f"location ({point[0]}, {point[1]}) is outside {city.name}",
                entity_id=valid.entity_id,
            )
        else:
            valid.area_id, valid.district_id = hit


_FIELDS = frozenset(Reading.model_fields)
_LOCATION_FIELDS = frozenset(ReadingLocation.model_fields)
_ATTR_TYPES = frozenset({float, int, str, bool, type(None)})
_OPTIONAL_TEXT = frozenset({str, type(None)})
_NUMBER_TYPES = frozenset({float, int})
# The common RFC 3339 form; anything else goes through pydantic's own datetime parsing.
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)\Z")


@dataclass(slots=True)
class _Fields:
    """The fields of a reading that passed the Reading model's type checks."""

    entity_id: str | None
    type: str
    id: str | None
    observed_at: dt.datetime
    attrs: dict[str, AttrValue]
    location: tuple[float, float] | None
    name: str | None


def _plain_fields(item: Any, times: dict[str, dt.datetime]) -> _Fields | None:
    """The fields of a reading whose every member already has the JSON type the Reading model
    wants (the usual case), without building the model; None for anything else, which then goes
    through the model itself (its coercions and its error messages). observed_at is RFC 3339
    text (`times` caches the parsed texts across a batch) or, from in-process callers such as
    the MQTT connector, an aware datetime."""
    if type(item) is not dict or not item.keys() <= _FIELDS:
        return None
    kind, attrs, observed = item.get("type"), item.get("attrs", {}), item.get("observed_at")
    entity_id, local, name = item.get("entity_id"), item.get("id"), item.get("name")
    if (
        type(kind) is not str
        or type(attrs) is not dict
        or type(entity_id) not in _OPTIONAL_TEXT
        or type(local) not in _OPTIONAL_TEXT
        or type(name) not in _OPTIONAL_TEXT
    ):
        return None
    for key, value in attrs.items():
        if type(key) is not str or type(value) not in _ATTR_TYPES:
            return None
    if type(observed) is dt.datetime:
        if observed.tzinfo is None:
            return None  # the model refuses it with its message
        at: dt.datetime | None = observed
    elif type(observed) is not str:
        return None
    else:
        at = times.get(observed)
    if at is None:
        assert isinstance(observed, str)
        if _RFC3339.match(observed) is None:
            return None
        try:
            at = dt.datetime.fromisoformat(observed)
        except ValueError:
            return None
        times[observed] = at
    location = item.get("location")
    point: tuple[float, float] | None = None
    if location is not None:
        if type(location) is not dict or location.keys() != _LOCATION_FIELDS:
            return None
        lat, lon = location["lat"], location["lon"]
        if type(lat) not in _NUMBER_TYPES or type(lon) not in _NUMBER_TYPES:
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        point = (float(lat), float(lon))
    return _Fields(entity_id, kind, local, at, attrs, point, name)


def _model_fields(reading: Reading) -> _Fields:
    location = reading.location
    return _Fields(
        reading.entity_id,
        reading.type,
        reading.id,
        reading.observed_at,
        reading.attrs,
        (location.lat, location.lon) if location is not None else None,
        reading.name,
    )


def _identify(ctx: _Context, reading: _Fields) -> _Identity | str | ItemError:
    """The type and entity id of a reading and, if the entity is stored as another type, that
    refusal; or why they are refused (a reason; an ItemError when the entity id is known). The
    same for every reading with the same type and ids, so worked out once per batch."""
    entity_type = find_entity_type(reading.type)
    if entity_type is None:
        known = ", ".join(known_type_names())
        return f"unknown entity type {reading.type!r}; known types: {known}"
    if reading.entity_id is not None:
        entity_id = reading.entity_id
    elif reading.id:
        entity_id = build_entity_id(entity_type.name, reading.id)
    else:
        return "a reading needs an entity_id or an id"
    problem = check_entity_id(entity_id)
    if problem:
        return ItemError(index=-1, reason=problem, entity_id=entity_id)
    existing_type = ctx.existing_types.get(entity_id)
    mismatch = None
    if existing_type is not None and existing_type != entity_type.name:
        mismatch = f"entity {entity_id} is a {existing_type}, not a {entity_type.name}"
    return entity_type, entity_id, mismatch


def _check(ctx: _Context, index: int, item: Reading | Mapping[str, Any]) -> _Valid | ItemError:
    if isinstance(item, Reading):
        reading = _model_fields(item)
    else:
        fields = _plain_fields(item, ctx.times)
        if fields is None:
            raw_id = item.get("entity_id") if isinstance(item, Mapping) else None
            try:
                fields = _model_fields(Reading.model_validate(item))
            except ValidationError as exc:
                return ItemError(
                    index=index,
                    reason=_pydantic_reason(exc),
                    entity_id=raw_id if isinstance(raw_id, str) else None,
                )
        reading = fields
    identity = ctx.identities.get((reading.type, reading.entity_id, reading.id))
    if identity is None:
        found = _identify(ctx, reading)
        if isinstance(found, str):
            return ItemError(index=index, reason=found, entity_id=reading.entity_id)
        if isinstance(found, ItemError):
            found.index = index
            return found
        identity = ctx.identities[reading.type, reading.entity_id, reading.id] = found
    entity_type, entity_id, mismatch = identity
    at = reading.observed_at.astimezone(dt.UTC)
    if at > ctx.now + ctx.tolerance:
        ahead = int((at - ctx.now).total_seconds())
        return ItemError(
            index=index,
            reason=f"observed_at {iso_utc(at)} is {ahead} s in the future; more than "
            f"{int(ctx.tolerance.total_seconds())} s ahead is refused",
            entity_id=entity_id,
        )
    if not reading.attrs and reading.location is None and reading.name is None:
        return ItemError(
            index=index, reason="the reading carries no attribute", entity_id=entity_id
        )
    checks = attribute_checks(entity_type)
    for name, value in reading.attrs.items():
        check = checks.get(name)
        if check is None:
            allowed = ", ".join(entity_type.attributes)
            return ItemError(
                index=index,
                reason=f"unknown attribute {name!r} for {entity_type.name}; allowed: {allowed}",
                entity_id=entity_id,
            )
        if value is not None and (reason := check(value)):
            return ItemError(index=index, reason=reason, entity_id=entity_id)
    if mismatch is not None:
        return ItemError(index=index, reason=mismatch, entity_id=entity_id)
    valid = _Valid(
        index=index,
        entity_id=entity_id,
        entity_type=entity_type,
        at=at,
        attrs=reading.attrs
        if None not in reading.attrs.values()
        else {k: v for k, v in reading.attrs.items() if v is not None},
        name=reading.name,
    )
    if reading.location is not None:
        valid.lat, valid.lon = reading.location  # placed in areas for the whole batch at once
    return valid


def load_entities(session: Session, entity_ids: Sequence[str]) -> dict[str, Entity]:
    found: dict[str, Entity] = {}
    ids = sorted(set(entity_ids))
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        for entity in session.scalars(select(Entity).where(Entity.entity_id.in_(chunk))):
            found[entity.entity_id] = entity
    return found


def _raw_entity_id(item: Reading | Mapping[str, Any]) -> str | None:
    if isinstance(item, Reading):
        return item.entity_id or (build_entity_id(item.type, item.id) if item.id else None)
    entity_id, kind, local = item.get("entity_id"), item.get("type"), item.get("id")
    if isinstance(entity_id, str):
        return entity_id
    if isinstance(kind, str) and isinstance(local, str):
        return build_entity_id(kind, local)
    return None


def ingest_readings(
    session: Session,
    readings: Sequence[Reading | Mapping[str, Any]],
    *,
    city: City | None = None,
    source: Source | None = None,
    channel: str = "http",
    viewer: Viewer | None = None,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Check every reading, then store them all or none (see the module's docstring).

    `city` is where locations are resolved (default: the only city, if there is one). `now` is for
    tests of the future-time tolerance. Never raises for bad readings: they are in the result.
    """
    settings = get_settings()
    ctx = _Context(
        session=session,
        city=city,
        now=(now or utcnow()).astimezone(dt.UTC),
        tolerance=dt.timedelta(seconds=settings.ingest_future_tolerance_s),
    )
    candidate_ids = [i for i in (_raw_entity_id(r) for r in readings) if i]
    ctx.existing = load_entities(session, candidate_ids)
    ctx.existing_types = {entity_id: e.type for entity_id, e in ctx.existing.items()}
    checked = [_check(ctx, index, item) for index, item in enumerate(readings)]
    _place_all(ctx, checked)
    errors = [c for c in checked if isinstance(c, ItemError)]
    if errors:
        return _refuse(session, readings, errors, source=source, channel=channel)
    valid = [c for c in checked if isinstance(c, _Valid)]
    try:
        with session.begin_nested():
            result, changes = _store(session, ctx, valid, source=source)
    except SQLAlchemyError as exc:
        detail = getattr(exc, "orig", None) or exc
        reason = f"the store refused the batch: {exc.__class__.__name__}: {detail}"[:500]
        errors = [ItemError(index=v.index, reason=reason, entity_id=v.entity_id) for v in valid]
        refused = _refuse(session, readings, errors, source=source, channel=channel)
        refused.store_refused = True
        return refused
    for event in changes:
        publish_after_commit(session, event)
    return result


def _refuse(
    session: Session,
    readings: Sequence[Reading | Mapping[str, Any]],
    errors: list[ItemError],
    *,
    source: Source | None,
    channel: str,
) -> IngestResult:
    for error in errors:
        letter = record_dead_letter(
            session,
            channel=channel,
            reason=error.reason,
            payload=readings[error.index],
            source=source,
            entity_id=error.entity_id,
        )
        error.dead_letter_id = letter.id
    return IngestResult(
        rejected=len(readings),
        dead_letter_ids=[e.dead_letter_id for e in errors if e.dead_letter_id is not None],
        errors=errors,
    )


def _store(
    session: Session, ctx: _Context, valid: list[_Valid], *, source: Source | None
) -> tuple[IngestResult, list[LiveEvent]]:
    city = _resolve_city(ctx) if any(v.lat is not None for v in valid) else ctx.city
    now = utcnow()
    entities = dict(ctx.existing)
    for item in valid:
        if item.entity_id not in entities:
            entity = Entity(
                entity_id=item.entity_id,
                type=item.entity_type.name,
                city_id=city.id if city is not None else None,
                attributes={},
                source_id=source.id if source is not None else None,
                visibility=source.visibility if source is not None else "public",
                created_at=now,
                modified_at=now,
            )
            session.add(entity)
            entities[item.entity_id] = entity
    session.flush()

    pks = {entity_id: entity.id for entity_id, entity in entities.items()}
    numeric: dict[str, frozenset[str]] = {}
    readings: dict[ReadingKey, dict[str, float]] = {}
    for v in valid:
        names = numeric.get(v.entity_type.name)
        if names is None:
            names = numeric[v.entity_type.name] = frozenset(v.entity_type.numeric_attributes)
        key = (pks[v.entity_id], v.at)
        numbers = {n: float(x) for n, x in v.attrs.items() if n in names}  # type: ignore[arg-type]
        values = readings.get(key)
        if values is None:
            readings[key] = numbers
        else:  # two readings of one entity at one time: the first value of each attribute
            for name, number in numbers.items():
                values.setdefault(name, number)
    # The values this batch stored, per (entity, time); each one makes one reading new.
    fresh = record_readings(session, readings)

    # Each entity's readings oldest first; its current state is worked out on (value, observedAt)
    # pairs and written to the row once.
    by_entity: dict[str, list[tuple[int, _Valid]]] = {}
    for order, item in enumerate(sorted(valid, key=attrgetter("at"))):
        by_entity.setdefault(item.entity_id, []).append((order, item))
    accepted = duplicates = 0
    shapes: dict[str, dict[str, _Form]] = {}
    changes: list[tuple[int, LiveEvent]] = []
    writes: list[tuple[Entity, dict[str, Any]]] = []
    for entity_id, items in by_entity.items():
        entity = entities[entity_id]
        pk = pks[entity_id]
        state = _State(entity.attributes)
        observed_at, lat, lon = entity.observed_at, entity.lat, entity.lon
        place: _Valid | None = None
        first_change: int | None = None
        entity_type, forms = None, {}
        for order, item in items:
            if item.entity_type is not entity_type:
                entity_type, forms = item.entity_type, _forms(shapes, item.entity_type)
            is_new = state.apply(item, forms, fresh.get((pk, item.at)))
            if state.changed and first_change is None:
                first_change = order
            newest = observed_at is None or observed_at <= item.at or lat is None
            moved = item.lat is not None and (lat, lon) != (item.lat, item.lon)
            if newest and moved:
                is_new = True
                lat, lon, place = item.lat, item.lon, item
                if first_change is None:
                    first_change = order
            if observed_at is None or item.at > observed_at:
                observed_at = item.at
            if is_new:
                accepted += 1
            else:
                duplicates += 1
        written: dict[str, Any] = {}
        if state.changed:
            written["attributes"] = state.attributes()
        if place is not None:
            written["lat"], written["lon"] = place.lat, place.lon
            written["location"] = {"type": "Point", "coordinates": [place.lon, place.lat]}
            written["area_id"], written["district_id"] = place.area_id, place.district_id
        if observed_at != entity.observed_at:
            written["observed_at"] = observed_at
        if first_change is not None:
            written["modified_at"] = now
        if written:
            writes.append((entity, written))
            for column, value in written.items():
                set_committed_value(entity, column, value)
        if first_change is not None:
            changes.append((first_change, entity_event(entity, state.changed)))
    write_entity_states(session, writes)
    events = [event for _order, event in sorted(changes, key=lambda pair: pair[0])]
    touched = sorted(by_entity)
    return IngestResult(accepted=accepted, duplicates=duplicates, entity_ids=touched), events


_JSON_COLUMNS = frozenset({"attributes", "location"})
_TIME_COLUMNS = frozenset({"observed_at", "modified_at"})


def write_entity_states(session: Session, writes: list[tuple[Entity, dict[str, Any]]]) -> None:
    """UPDATE the given columns of each entity row: one prepared statement per set of columns,
    run with executemany on the session's DBAPI cursor instead of an ORM flush (the objects
    already hold the values as committed ones). JSON as SQLAlchemy's JSON type writes it."""
    if not writes:
        return
    sqlite = session.get_bind().dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    groups: dict[tuple[str, ...], list[list[Any]]] = {}
    for entity, written in writes:
        params: list[Any] = []
        for column, value in written.items():
            if column in _JSON_COLUMNS:
                value = json.dumps(value)
            elif sqlite and column in _TIME_COLUMNS:
                value = sqlite_text(value.astimezone(dt.UTC))
            params.append(value)
        params.append(entity.id)
        groups.setdefault(tuple(written), []).append(params)
    with driver_cursor(session) as cursor:
        for columns, rows in groups.items():
            sets = ", ".join(
                f"{column} = {mark}" + ("::json" if column in _JSON_COLUMNS and not sqlite else "")
                for column in columns
            )
            cursor.executemany(f"UPDATE entity SET {sets} WHERE id = {mark}", rows)


# How an attribute's value is stored: (a number?, a relationship?, its unit code).
_Form = tuple[bool, bool, str | None]
# A stored attribute that is not in the form this module writes: equal to no new value.
_ODD = object()


def _stored_form(form: _Form, value: Any, iso: str) -> dict[str, Any]:
    """attribute_value(), for a known form and an observedAt already formatted."""
    _number, relationship, unit = form
    if relationship:
        return {"type": "Relationship", "object": value, "observedAt": iso}
    if unit is not None:
        return {"type": "Property", "value": value, "unitCode": unit, "observedAt": iso}
    return {"type": "Property", "value": value, "observedAt": iso}


class _State:
    """One entity's current attributes while its readings of a batch are applied in time order.

    Each attribute is held as (value, observedAt text, observedAt time, form): two readings agree
    when the first two agree, as their NGSI-LD forms would. The stored dicts are read once per
    attribute and built once per changed attribute, not once per value."""

    __slots__ = ("_pairs", "_stored", "changed")

    def __init__(self, stored: dict[str, Any]) -> None:
        self._stored = stored
        self._pairs: dict[str, tuple[Any, str | None, dt.datetime | None, _Form]] = {}
        self.changed: dict[str, Any] = {}

    def _current(self, name: str, form: _Form) -> tuple[Any, str | None, dt.datetime | None, _Form]:
        pair = self._pairs.get(name)
        if pair is not None:
            return pair
        current = self._stored.get(name)
        if not isinstance(current, dict):
            pair = (_ODD, None, None, form)
        else:
            text = current.get("observedAt")
            at = parse_time(text) if text is not None else None
            value = current.get("object" if form[1] else "value", _ODD)
            same = text is not None and current == _stored_form(form, value, text)
            pair = (value, text, at, form) if same else (_ODD, None, at, form)
        self._pairs[name] = pair
        return pair

    def apply(
        self, item: _Valid, forms: dict[str, _Form], new_values: dict[str, float] | None
    ) -> bool:
        """Apply one reading; True when it brings something new: a value not stored before (taken
        from `new_values`, so that a repeat of it in the batch counts as a duplicate), or a new
        value of a text or relationship attribute."""
        is_new = False
        pairs = self._pairs
        iso = iso_utc(item.at)
        values: dict[str, Any] = item.attrs
        if item.name is not None:
            values = {**values, "name": item.name}
        for name, value in values.items():
            form = forms[name]
            if form[0] and new_values is not None and name in new_values:
                del new_values[name]
                is_new = True
            pair = pairs.get(name) or self._current(name, form)
            current_value, current_iso, current_at, _form = pair
            if current_iso == iso and current_value == value and current_value is not _ODD:
                continue
            if not form[0]:
                is_new = True
            if current_at is None or current_at <= item.at:
                pairs[name] = (value, iso, item.at, form)
                self.changed[name] = value
        return is_new

    def attributes(self) -> dict[str, Any]:
        """The attributes with the changed ones in their stored form."""
        attributes = dict(self._stored)
        for name in self.changed:
            value, iso, _at, form = self._pairs[name]
            assert iso is not None
            attributes[name] = _stored_form(form, value, iso)
        return attributes


def _forms(shapes: dict[str, dict[str, _Form]], entity_type: EntityType) -> dict[str, _Form]:
    """The _Form of each attribute of `entity_type`, worked out once per batch into `shapes`."""
    forms = shapes.get(entity_type.name)
    if forms is None:
        forms = shapes[entity_type.name] = {}
        for name in [*entity_type.attributes, *COMMON_ATTRIBUTES]:
            spec = entity_type.attribute(name)
            assert spec is not None
            relationship = spec.kind == "relationship"
            forms[name] = (spec.kind == "number", relationship, spec.unit_code)
    return forms


def entity_event(entity: Entity, attrs: dict[str, Any], kind: str = "entity.updated") -> LiveEvent:
    """The live event telling dashboards that `entity` changed (`attrs`: the new values)."""
    return LiveEvent(
        kind=kind,
        data={
            "entity_id": entity.entity_id,
            "type": entity.type,
            "district_id": entity.district_id,
            "observed_at": iso_utc(entity.observed_at) if entity.observed_at else None,
            "location": [entity.lon, entity.lat] if entity.lat is not None else None,
            "attrs": attrs,
        },
        city_id=entity.city_id,
        district_id=entity.district_id,
        entity_type=entity.type,
        visibility=entity.visibility,
    )


def count_dead_letters(session: Session) -> int:
    return int(session.scalar(select(func.count(DeadLetter.id))) or 0)


__all__ = [
    "IngestResult",
    "ItemError",
    "Reading",
    "ReadingLocation",
    "count_dead_letters",
    "ingest_readings",
    "record_dead_letter",
]


def parse_batch(
    session: Session, body: bytes, *, channel: str = "http"
) -> tuple[list[Any], Source | None] | IngestResult:
    """Read an ingest request body {"source": code?, "readings": [...]}. A body that is not such
    JSON is dead-lettered whole and answered with a refused result (one error, index -1)."""
    try:
        document = _parse_json(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _refuse_body(session, body, f"the body is not valid JSON: {exc}", channel)
    if not isinstance(document, dict) or not isinstance(document.get("readings"), list):
        return _refuse_body(
            session, body, 'the body must be a JSON object {"readings": [...]}', channel
        )
    extra = set(document) - {"source", "readings"}
    if extra:
        return _refuse_body(session, body, f"unknown fields {', '.join(sorted(extra))}", channel)
    source: Source | None = None
    code = document.get("source")
    if code is not None:
        source = session.scalar(select(Source).where(Source.code == str(code)))
        if source is None:
            return _refuse_body(session, body, f"no source has the code {code!r}", channel)
        if not source.enabled:
            return _refuse_body(session, body, f"the source {code!r} is disabled", channel)
    return list(document["readings"]), source


def _parse_json(body: bytes) -> Any:
    """The body parsed by orjson (three times faster than the standard library on a batch); what
    orjson refuses and the standard library reads (NaN and Infinity, integers beyond 64 bits, a
    BOM, lone surrogates) is read by the standard library, whose errors and messages stand."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _refuse_body(session: Session, body: bytes, reason: str, channel: str) -> IngestResult:
    letter = record_dead_letter(session, channel=channel, reason=reason, payload=body)
    return IngestResult(
        rejected=0,
        dead_letter_ids=[letter.id],
        errors=[ItemError(index=-1, reason=reason, dead_letter_id=letter.id)],
    )
