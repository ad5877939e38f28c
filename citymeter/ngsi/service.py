"""The NGSI-LD operations over the entity store: what each endpoint does, without HTTP.

Each function takes the session and the viewer, works through citymeter.entities.service, and
returns plain data already shaped for NGSI-LD (entities compacted with the request's @context).
Service errors (NotFound, InvalidInput, …) come back as NGSI-LD errors (ngsi.errors).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.db.base import utcnow
from citymeter.entities import service as entities
from citymeter.entities.history import read_history
from citymeter.entities.models import Entity
from citymeter.errors import CityMeterError
from citymeter.ngsi import store
from citymeter.ngsi.context import LdContext
from citymeter.ngsi.errors import (
    AlreadyExists,
    BadRequestData,
    NgsiError,
    ResourceNotFound,
    TooManyResults,
    from_citymeter,
)
from citymeter.ngsi.geo import GeoQuery
from citymeter.ngsi.query import Expr, matches
from citymeter.ngsi.representation import EntityIn, entity_from_body, format_time, render_entity
from citymeter.settings import get_settings

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
MAX_TEMPORAL_POINTS = 10_000
MAX_BATCH = 1000

T = TypeVar("T")


@contextmanager
def ngsi_errors() -> Iterator[None]:
    """Service errors raised inside become their NGSI-LD counterparts."""
    try:
        yield
    except CityMeterError as exc:
        raise from_citymeter(exc) from None


def _entity(session: Session, viewer: Viewer, entity_id: str) -> Entity:
    try:
        return entities.get_entity(session, entity_id, viewer)
    except CityMeterError:
        raise ResourceNotFound(f"There is no entity {entity_id!r}.") from None


# ---- retrieve and query ----------------------------------------------------------------------


def retrieve_entity(
    session: Session,
    viewer: Viewer,
    entity_id: str,
    *,
    ctx: LdContext,
    attrs: Sequence[str] | None,
    options: set[str],
) -> dict[str, Any]:
    entity = _entity(session, viewer, entity_id)
    wanted = {ctx.expand(a) for a in attrs} if attrs else None
    return render_entity(
        entities.to_normalized(entity),
        ctx=ctx,
        options=options,
        attrs=wanted,
        system=store.system_attributes(entity),
    )


@dataclass(frozen=True)
class EntityQuery:
    types: Sequence[str] | None = None
    ids: Sequence[str] | None = None
    id_pattern: str | None = None
    attrs: Sequence[str] | None = None
    q: Expr | None = None
    geo: GeoQuery | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def query_entities(
    session: Session, viewer: Viewer, query: EntityQuery, *, ctx: LdContext, options: set[str]
) -> tuple[list[dict[str, Any]], int]:
    """A page of matching entities (compacted) and the number of all matches."""
    if not (query.types or query.ids or query.id_pattern or query.attrs or query.q or query.geo):
        raise BadRequestData(
            "Say what to query: give at least one of type, id, idPattern, attrs, q or a "
            "geo-query (georel, geometry, coordinates)."
        )
    if query.limit < 0 or query.offset < 0:
        raise BadRequestData("limit and offset must be zero or more.")
    if query.limit > MAX_LIMIT:
        raise TooManyResults(f"limit may be at most {MAX_LIMIT}; page with offset.")
    pattern = None
    if query.id_pattern is not None:
        try:
            pattern = re.compile(query.id_pattern)
        except re.error as exc:
            raise BadRequestData(f"idPattern is not a valid regular expression: {exc}.") from None
    selection = store.Selection(
        types=[ctx.expand(t) for t in query.types] if query.types else None,
        ids=query.ids,
        id_pattern=pattern,
        geo=query.geo,
    )
    wanted = {ctx.expand(a) for a in query.attrs} if query.attrs else None
    statement = store.candidates_statement(viewer, selection)
    needs_filter = pattern is not None or query.q is not None or query.geo is not None or wanted
    if not needs_filter:
        total = int(session.scalar(store.count_statement(viewer, selection)) or 0)
        rows = list(session.scalars(statement.limit(query.limit).offset(query.offset)))
        page = [entities.to_normalized(e) for e in rows]
        systems = [store.system_attributes(e) for e in rows]
    else:
        page_rows: list[tuple[dict[str, Any], Entity]] = []
        total = 0
        for entity in session.scalars(statement):
            if pattern is not None and pattern.fullmatch(entity.entity_id) is None:
                continue
            body = entities.to_normalized(entity)
            if wanted is not None and not wanted & set(body):
                continue
            if query.q is not None and not matches(query.q, body):
                continue
            if query.geo is not None:
                geometry = body.get(query.geo.geoproperty)
                value = geometry.get("value") if isinstance(geometry, dict) else None
                if not query.geo.matches(value):
                    continue
            if query.offset <= total < query.offset + query.limit:
                page_rows.append((body, entity))
            total += 1
        page = [body for body, _ in page_rows]
        systems = [store.system_attributes(e) for _, e in page_rows]
    rendered = [
        render_entity(body, ctx=ctx, options=options, attrs=wanted, system=system)
        for body, system in zip(page, systems, strict=True)
    ]
    return rendered, total


# ---- create, delete -------------------------------------------------------------------------


def create_entity(session: Session, viewer: Viewer, item: EntityIn) -> str:
    """Create an entity; AlreadyExists (409) when the id is taken."""
    entity_type = store.entity_type_of(item.type)
    _check_all(entity_type, item.attributes, label=item.entity_id)
    body = {"id": item.entity_id, "type": item.type, **item.attributes}
    with ngsi_errors():
        try:
            entities.create_entity(
                session, body, viewer=viewer, visibility=entity_type.default_visibility
            )
        except CityMeterError as exc:
            if exc.status == 409:
                raise AlreadyExists(f"An entity {item.entity_id!r} already exists.") from None
            raise
    audit.record(session, viewer, "entity.create", "entity", item.entity_id, {"type": item.type})
    return item.entity_id


def delete_entity(session: Session, viewer: Viewer, entity_id: str) -> None:
    _entity(session, viewer, entity_id)
    with ngsi_errors():
        entities.delete_entity(session, entity_id, viewer)
    audit.record(session, viewer, "entity.delete", "entity", entity_id)


def _check_all(entity_type: Any, attrs: dict[str, dict[str, Any]], *, label: str) -> None:
    now, tolerance = _clock()
    problems = [
        reason
        for name, attribute in attrs.items()
        if (
            reason := store.check_attribute(
                entity_type, name, attribute, now=now, future_tolerance=tolerance
            )
        )
    ]
    if problems:
        raise BadRequestData(f"Entity {label}: " + "; ".join(problems) + ".")


def _clock() -> tuple[dt.datetime, dt.timedelta]:
    return utcnow(), dt.timedelta(seconds=get_settings().ingest_future_tolerance_s)


# ---- attributes -----------------------------------------------------------------------------


@dataclass
class UpdateResult:
    """NGSI-LD's UpdateResult: attributes changed and those refused with the reason."""

    updated: list[str] = field(default_factory=list)
    not_updated: list[dict[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.not_updated

    def body(self, ctx: LdContext) -> dict[str, Any]:
        return {
            "updated": [ctx.compact(n) for n in self.updated],
            "notUpdated": [
                {"attributeName": ctx.compact(n["attributeName"]), "reason": n["reason"]}
                for n in self.not_updated
            ],
        }


def _checked(
    entity_type: Any,
    attrs: dict[str, dict[str, Any]],
    now: dt.datetime,
    tolerance: dt.timedelta,
    result: UpdateResult,
) -> dict[str, dict[str, Any]]:
    """The attributes that pass `store.check_attribute`; the others go to `result.not_updated`."""
    accepted: dict[str, dict[str, Any]] = {}
    for name, attribute in attrs.items():
        reason = store.check_attribute(
            entity_type, name, attribute, now=now, future_tolerance=tolerance
        )
        if reason:
            result.not_updated.append({"attributeName": name, "reason": reason})
        else:
            accepted[name] = attribute
    return accepted


def write_attributes(
    session: Session,
    viewer: Viewer,
    entity_id: str,
    attrs: dict[str, dict[str, Any]],
    *,
    mode: str,
) -> UpdateResult:
    """Append (`mode="append"`/`"noOverwrite"`) or update existing (`"update"`) attributes.

    Each refused attribute is listed in `not_updated`; the others are written.
    """
    if not attrs:
        raise BadRequestData("The body names no attribute to write.")
    entity = _entity(session, viewer, entity_id)
    entity_type = store.entity_type_of(entity.type)
    now, tolerance = _clock()
    result = UpdateResult()
    accepted = _checked(entity_type, attrs, now, tolerance, result)
    if accepted:
        how: Literal["append", "no_overwrite", "update"] = (
            "update" if mode == "update" else "no_overwrite" if mode == "noOverwrite" else "append"
        )
        with ngsi_errors():
            # The row read above (with the viewer's visibility) is the one written.
            change = entities.write_attrs(session, entity, accepted, viewer=viewer, mode=how)
        result.updated.extend(change.updated)
        result.not_updated.extend(
            {"attributeName": name, "reason": reason} for name, reason in change.not_updated
        )
    return result


@dataclass(frozen=True)
class PendingUpdate:
    """One `PATCH /entities/{id}/attrs` to store: who asks, which entity, which attributes."""

    viewer: Viewer
    entity_id: str
    attrs: dict[str, dict[str, Any]]


def update_attributes_many(
    session: Session, updates: Sequence[PendingUpdate]
) -> list[UpdateResult | NgsiError]:
    """Several `write_attributes(..., mode="update")` in one transaction, in order: each gets the
    answer it would get alone, or the NGSI-LD error it would raise — an update refused this way
    has changed nothing, and the others stand.

    The entities of consecutive updates are read with one SELECT and written with one UPDATE
    statement and one history insert. An update of `location` (resolved against the city's map)
    goes through `write_attributes`, in a savepoint of its own.
    """
    answers: list[UpdateResult | NgsiError] = []
    start = 0
    while start < len(updates):
        if store.LOCATION in updates[start].attrs:
            answers.append(_update_alone(session, updates[start]))
            start += 1
            continue
        end = start
        while end < len(updates) and store.LOCATION not in updates[end].attrs:
            end += 1
        answers += _update_together(session, updates[start:end])
        start = end
    return answers


def _update_alone(session: Session, update: PendingUpdate) -> UpdateResult | NgsiError:
    try:
        with session.begin_nested():
            return write_attributes(
                session, update.viewer, update.entity_id, update.attrs, mode="update"
            )
    except NgsiError as exc:
        return exc
    except CityMeterError as exc:
        return from_citymeter(exc)


def _update_together(
    session: Session, updates: Sequence[PendingUpdate]
) -> list[UpdateResult | NgsiError]:
    states = entities.load_states(session, {update.entity_id for update in updates})
    answers: list[UpdateResult | NgsiError] = []
    stored: list[entities.StateUpdate] = []
    tolerance = dt.timedelta(seconds=get_settings().ingest_future_tolerance_s)
    for update in updates:
        now = utcnow()
        try:
            state = states.get(update.entity_id)
            answer, written = _update_state(update, state, now, tolerance)
        except NgsiError as exc:
            answers.append(exc)
            continue
        except CityMeterError as exc:
            answers.append(from_citymeter(exc))
            continue
        answers.append(answer)
        if written is not None:
            stored.append(written)
    entities.store_states(session, states.values(), stored)
    return answers


def _update_state(
    update: PendingUpdate,
    state: entities.EntityState | None,
    now: dt.datetime,
    tolerance: dt.timedelta,
) -> tuple[UpdateResult, entities.StateUpdate | None]:
    """`write_attributes` in update mode on a row read by `load_states`."""
    if not update.attrs:
        raise BadRequestData("The body names no attribute to write.")
    if state is None or not entities.may_see(update.viewer, state.visibility, state.district_id):
        raise ResourceNotFound(f"There is no entity {update.entity_id!r}.")
    entity_type = store.entity_type_of(state.type)
    result = UpdateResult()
    accepted = _checked(entity_type, update.attrs, now, tolerance, result)
    if not accepted:
        return result, None
    written = entities.update_state(state, accepted, viewer=update.viewer, now=now)
    result.updated.extend(written.change.updated)
    result.not_updated.extend(
        {"attributeName": name, "reason": reason} for name, reason in written.change.not_updated
    )
    return result, written


def update_attribute(
    session: Session, viewer: Viewer, entity_id: str, name: str, fragment: dict[str, Any]
) -> None:
    """Partial attribute update (PATCH …/attrs/{attrId}): the given members replace the stored
    ones; the attribute must exist."""
    entity = _entity(session, viewer, entity_id)
    current = entities.to_normalized(entity).get(name)
    if not isinstance(current, dict):
        raise ResourceNotFound(f"Entity {entity_id} has no attribute {name!r}.")
    if "type" in fragment and fragment["type"] != current.get("type"):
        raise BadRequestData(
            f"Attribute {name!r} is a {current.get('type')}; a partial update cannot turn it "
            f"into a {fragment['type']}."
        )
    merged = {**current, **{k: v for k, v in fragment.items() if k != "type"}}
    if ("value" in fragment or "object" in fragment) and "observedAt" not in fragment:
        merged.pop("observedAt", None)  # a new value sent without a time is observed now
    result = write_attributes(session, viewer, entity_id, {name: merged}, mode="update")
    if not result.complete:
        raise BadRequestData(f"Attribute {name!r}: {result.not_updated[0]['reason']}.")


def delete_attribute(session: Session, viewer: Viewer, entity_id: str, name: str) -> None:
    _entity(session, viewer, entity_id)
    with ngsi_errors():
        entities.delete_attr(session, entity_id, name, viewer=viewer)


# ---- batch operations -----------------------------------------------------------------------


@dataclass
class BatchResult:
    """NGSI-LD's BatchOperationResult; `created` lists the ids an upsert created."""

    success: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {"success": self.success, "errors": self.errors}


def _batch(
    session: Session,
    items: Sequence[T],
    entity_id_of: Callable[[T], str | None],
    operation: Callable[[T], bool | None],
) -> BatchResult:
    """Run `operation` on each item in its own savepoint: a failure undoes only that item."""
    if len(items) > MAX_BATCH:
        raise BadRequestData(f"A batch holds at most {MAX_BATCH} entities; split it.")
    result = BatchResult()
    for item in items:
        entity_id = entity_id_of(item)
        try:
            with session.begin_nested():
                created = operation(item)
        except NgsiError as exc:
            result.errors.append({"entityId": entity_id, "error": exc.problem()})
            continue
        except CityMeterError as exc:
            result.errors.append({"entityId": entity_id, "error": from_citymeter(exc).problem()})
            continue
        assert entity_id is not None
        result.success.append(entity_id)
        if created:
            result.created.append(entity_id)
    return result


@dataclass(frozen=True)
class BatchItem:
    """One element of a batch body: the entity, or why it could not be read."""

    entity_id: str | None
    entity: EntityIn | None = None
    error: NgsiError | None = None

    def checked(self) -> EntityIn:
        if self.entity is None:
            raise self.error or BadRequestData("The batch element is not an entity.")
        return self.entity


def parse_batch(body: list[Any], ctx: LdContext, *, need_type: bool = True) -> list[BatchItem]:
    items = []
    for element in body:
        raw_id = element.get("id") if isinstance(element, dict) else None
        entity_id = raw_id if isinstance(raw_id, str) else None
        try:
            items.append(BatchItem(entity_id, entity_from_body(element, ctx, need_type=need_type)))
        except NgsiError as exc:
            items.append(BatchItem(entity_id, error=exc))
    return items


def batch_create(session: Session, viewer: Viewer, items: Sequence[BatchItem]) -> BatchResult:
    def create(item: BatchItem) -> bool:
        create_entity(session, viewer, item.checked())
        return True

    return _batch(session, items, _id_of, create)


def batch_upsert(
    session: Session, viewer: Viewer, items: Sequence[BatchItem], *, replace: bool
) -> BatchResult:
    def upsert(batch_item: BatchItem) -> bool:
        item = batch_item.checked()
        existing = _find(session, viewer, item.entity_id)
        if existing is None:
            create_entity(session, viewer, item)
            return True
        if item.type and store.entity_type_of(item.type).name != existing.type:
            raise BadRequestData(
                f"Entity {item.entity_id} is a {existing.type}, not a {item.type}."
            )
        entity_type = store.entity_type_of(existing.type)
        _check_all(entity_type, item.attributes, label=item.entity_id)
        with ngsi_errors():
            if replace:
                entities.replace_attrs(session, item.entity_id, item.attributes, viewer=viewer)
            else:
                entities.append_attrs(session, item.entity_id, item.attributes, viewer=viewer)
        return False

    return _batch(session, items, _id_of, upsert)


def batch_update(
    session: Session, viewer: Viewer, items: Sequence[BatchItem], *, no_overwrite: bool
) -> BatchResult:
    def update(batch_item: BatchItem) -> None:
        item = batch_item.checked()
        result = write_attributes(
            session,
            viewer,
            item.entity_id,
            item.attributes,
            mode="noOverwrite" if no_overwrite else "append",
        )
        if not result.complete:
            reasons = "; ".join(f"{n['attributeName']}: {n['reason']}" for n in result.not_updated)
            raise BadRequestData(f"Not updated: {reasons}.")

    return _batch(session, items, _id_of, update)


def batch_delete(session: Session, viewer: Viewer, entity_ids: Sequence[Any]) -> BatchResult:
    def remove(entity_id: Any) -> None:
        if not isinstance(entity_id, str):
            raise BadRequestData(f"{entity_id!r} is not an entity id.")
        delete_entity(session, viewer, entity_id)

    return _batch(session, entity_ids, lambda i: i if isinstance(i, str) else str(i), remove)


def _id_of(item: BatchItem) -> str | None:
    return item.entity_id


def _find(session: Session, viewer: Viewer, entity_id: str) -> Entity | None:
    try:
        return entities.get_entity(session, entity_id, viewer)
    except CityMeterError:
        return None


# ---- temporal -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemporalQuery:
    timerel: str | None = None
    time_at: dt.datetime | None = None
    end_time_at: dt.datetime | None = None
    last_n: int | None = None
    attrs: Sequence[str] | None = None


def time_window(query: TemporalQuery) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start, end) of a temporal query (clause 4.11: before, after, between)."""
    if query.timerel is None:
        if query.time_at is not None or query.end_time_at is not None:
            raise BadRequestData("timeAt and endTimeAt go with timerel (before, after, between).")
        return None, None
    if query.time_at is None:
        raise BadRequestData(f"timerel={query.timerel} needs timeAt.")
    if query.timerel == "before":
        return None, query.time_at
    if query.timerel == "after":
        return query.time_at + dt.timedelta(microseconds=1), None
    if query.timerel == "between":
        if query.end_time_at is None:
            raise BadRequestData("timerel=between needs endTimeAt.")
        if query.end_time_at <= query.time_at:
            raise BadRequestData("endTimeAt must be later than timeAt.")
        return query.time_at, query.end_time_at
    raise BadRequestData(f"Unknown timerel {query.timerel!r}; use before, after or between.")


def temporal_entity(
    session: Session,
    viewer: Viewer,
    entity_id: str,
    query: TemporalQuery,
    *,
    ctx: LdContext,
    options: set[str],
) -> dict[str, Any]:
    """The entity's attribute history in the temporal representation (clause 4.5.7), or the
    simplified one (`options=temporalValues`). Only numeric attributes keep history."""
    if query.last_n is not None and query.last_n < 1:
        raise BadRequestData("lastN must be a positive whole number.")
    start, end = time_window(query)
    entity = _entity(session, viewer, entity_id)
    wanted = {ctx.expand(a) for a in query.attrs} if query.attrs else None
    with ngsi_errors():
        points = read_history(session, entity, None, start=start, end=end, last_n=query.last_n)
    if len(points) > MAX_TEMPORAL_POINTS:
        raise TooManyResults(
            f"{len(points):,} points match (at most {MAX_TEMPORAL_POINTS:,} per request); "
            "narrow the window with timerel or use lastN."
        )
    current = entities.to_normalized(entity)
    series: dict[str, list[tuple[float, dt.datetime]]] = {}
    for point in points:
        if wanted is None or point.attr in wanted:
            series.setdefault(point.attr, []).append((point.value, point.at))
    out: dict[str, Any] = {"id": entity.entity_id, "type": ctx.compact(entity.type)}
    simplified = "temporalValues" in options
    for name, values in sorted(series.items()):
        unit = (
            current.get(name, {}).get("unitCode") if isinstance(current.get(name), dict) else None
        )
        key = ctx.compact(name)
        if simplified:
            out[key] = {"type": "Property", "values": [[v, format_time(at)] for v, at in values]}
        else:
            instances = []
            for value, at in values:
                instance: dict[str, Any] = {"type": "Property", "value": value}
                instance["observedAt"] = format_time(at)
                if unit:
                    instance["unitCode"] = unit
                instances.append(instance)
            out[key] = instances
    return out
