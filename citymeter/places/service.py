"""Cities and their area trees: create, find, list."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.db.reference import ReferenceCache
from citymeter.errors import Conflict, InvalidInput, NotFound
from citymeter.places import geometry
from citymeter.places.models import Area, City, CityKey, CityRow

CITY_LEVEL = "city"
_C = TypeVar("_C")


def create_city(
    session: Session,
    actor: Viewer,
    *,
    code: str,
    name: str,
    names: dict[str, str] | None = None,
    country: str | None = None,
    timezone: str = "Asia/Seoul",
    default_language: str = "ko",
    root_area: bool = True,
    root_area_code: str | None = None,
) -> City:
    """A new city and, unless `root_area=False`, its city-level root area (the row observations
    for the whole city point at), coded `root_area_code` or else the city's code."""
    code = code.strip()
    if not code or not name.strip():
        raise InvalidInput("A city needs a code and a name.")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Unknown time zone {timezone!r}; use a name like Asia/Seoul.") from None
    if session.scalar(select(City).where(City.code == code)) is not None:
        raise Conflict(f"A city with the code {code!r} already exists.")
    city = City(
        code=code,
        name=name,
        names=names or {},
        country=country,
        timezone=timezone,
        default_language=default_language,
    )
    session.add(city)
    session.flush()
    audit.record(session, actor, "city.create", "city", city.id, {"code": code, "name": name})
    if root_area:
        add_area(
            session,
            None,
            city=city,
            code=root_area_code or code,
            level=CITY_LEVEL,
            name=name,
            names=names,
        )
    return city


def root_area_of(session: Session, city: City) -> Area | None:
    """The city's own area (level "city", no parent), if it has one."""
    return session.scalar(
        select(Area)
        .where(Area.city_id == city.id, Area.level == CITY_LEVEL, Area.parent_id.is_(None))
        .order_by(Area.id)
        .limit(1)
    )


_FIRST_TWO_CITIES = select(City).order_by(City.id).limit(2)  # built once: most API calls ask
_CITY_ROWS = select(City.id, City.code, City.name)
_CITY_ROW_BY_CODE = _CITY_ROWS.where(City.code == bindparam("code"))
_FIRST_TWO_CITY_ROWS = _CITY_ROWS.order_by(City.id).limit(2)


def _the_city(found: Sequence[_C], code: str | None) -> _C:
    """The one city a lookup found: by `code`, or the only one when no code was given."""
    if code is not None:
        if not found:
            raise NotFound(f"No city has the code {code!r}; `citymeter cities list` shows them.")
        return found[0]
    if not found:
        raise NotFound("There is no city yet; create one with `citymeter cities add`.")
    if len(found) > 1:
        raise InvalidInput("There are several cities; say which one with its code.")
    return found[0]


def get_city(session: Session, code: str | None = None) -> City:
    """The city with this code; without a code, the only city (an error if there are several)."""
    query = _FIRST_TWO_CITIES if code is None else select(City).where(City.code == code)
    return _the_city(list(session.scalars(query)), code)


_CITY_ROWS_KEPT: ReferenceCache[CityRow] = ReferenceCache(("city",))


def get_city_row(session: Session, code: str | None = None) -> CityRow:
    """`get_city` as three plain columns, without building an ORM object, kept while the city
    table is unchanged (the complaint feed asks on every filing); the same answers and errors."""

    def load() -> CityRow:
        connection = session.connection()
        if code is None:
            rows = connection.execute(_FIRST_TWO_CITY_ROWS).all()
        else:
            rows = connection.execute(_CITY_ROW_BY_CODE, {"code": code}).all()
        return CityRow(*_the_city(rows, code))

    return _CITY_ROWS_KEPT.get(session, code, load)


def list_cities(session: Session) -> list[City]:
    return list(session.scalars(select(City).order_by(City.name)))


def add_area(
    session: Session,
    actor: Viewer | None,
    *,
    city: City,
    code: str,
    level: str,
    name: str,
    names: dict[str, str] | None = None,
    parent: Area | None = None,
    boundary: dict[str, Any] | None = None,
    population: int | None = None,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    properties: dict[str, Any] | None = None,
) -> Area:
    """Add one area. `boundary` is a GeoJSON geometry in WGS84 (lon, lat); it is validated.

    `actor=None` skips the per-area audit entry (bulk loaders record one entry for the batch).
    """
    if parent is not None and parent.city_id != city.id:
        raise InvalidInput(f"The parent area {parent.code} belongs to another city.")
    if valid_from and valid_to and valid_to < valid_from:
        raise InvalidInput(f"Area {code}: valid_to {valid_to} is before valid_from {valid_from}.")
    shape = geometry.parse_boundary(boundary, label=f"area {code}") if boundary else None
    area = Area(
        city_id=city.id,
        parent_id=parent.id if parent is not None else None,
        code=code,
        level=level,
        name=name,
        names=names or {},
        boundary=json.dumps(boundary, separators=(",", ":")) if boundary else None,
        population=population,
        valid_from=valid_from,
        valid_to=valid_to,
        properties=properties or {},
    )
    if shape is not None:
        centroid = shape.representative_point()
        area.centroid_lon, area.centroid_lat = round(centroid.x, 6), round(centroid.y, 6)
        area.area_km2 = round(geometry.area_km2(shape), 4)
    session.add(area)
    session.flush()
    if actor is not None:
        audit.record(session, actor, "area.create", "area", area.id, {"code": code})
    return area


def get_area(session: Session, city: City, code: str, at: dt.date | None = None) -> Area:
    """The area with this code, valid on `at` (default: the latest version)."""
    area = find_area(session, city, code, at)
    if area is None:
        raise NotFound(f"{city.name} has no area with the code {code!r}.")
    return area


def find_area(session: Session, city: City, code: str, at: dt.date | None = None) -> Area | None:
    """Like `get_area`, but None when there is no such area."""
    query = select(Area).where(Area.city_id == city.id, Area.code == code)
    if at is not None:
        query = query.where(valid_on(at))
    return session.scalar(query.order_by(Area.valid_from.desc().nulls_last(), Area.id.desc()))


def valid_on(at: dt.date | ColumnElement[dt.date]) -> ColumnElement[bool]:
    """SQL condition: the area's validity period covers the day `at` (a date or a bound
    parameter, for statements built once)."""
    return and_(
        or_(Area.valid_from.is_(None), Area.valid_from <= at),
        or_(Area.valid_to.is_(None), Area.valid_to >= at),
    )


def area_version(
    session: Session, city: City, code: str, valid_from: dt.date | None
) -> Area | None:
    """The stored version of an area that starts on `valid_from` (None matches None)."""
    query = select(Area).where(Area.city_id == city.id, Area.code == code)
    if valid_from is None:
        query = query.where(Area.valid_from.is_(None))
    else:
        query = query.where(Area.valid_from == valid_from)
    return session.scalar(query.order_by(Area.id).limit(1))


def find_area_anywhere(session: Session, code: str) -> tuple[City, Area]:
    """An area by code across all cities (for commands where the city is implied)."""
    areas = list(
        session.scalars(
            select(Area)
            .where(Area.code == code)
            .order_by(Area.valid_from.desc().nulls_last(), Area.id.desc())
        )
    )
    if not areas:
        raise NotFound(f"No area has the code {code!r}; `citymeter areas list` shows them.")
    if len({area.city_id for area in areas}) > 1:
        raise InvalidInput(f"Several cities have an area {code!r}; say which city with --city.")
    return areas[0].city, areas[0]


def ancestors(session: Session, area: Area) -> list[Area]:
    """The area's parents, nearest first, up to the root."""
    chain: list[Area] = []
    seen = {area.id}
    current = area.parent
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = current.parent
    return chain


def list_areas(
    session: Session,
    city: CityKey,
    *,
    level: str | None = None,
    parent: Area | None = None,
    at: dt.date | None = None,
) -> list[Area]:
    query = select(Area).where(Area.city_id == city.id)
    if level is not None:
        query = query.where(Area.level == level)
    if parent is not None:
        query = query.where(Area.parent_id == parent.id)
    if at is not None:
        query = query.where(valid_on(at))
    return list(session.scalars(query.order_by(Area.level, Area.code)))
