"""Who reads what on the portal: internal data of a district for those who see it, the public view
for everything else. A district head reads their own district internally and the rest of the city,
including city-wide figures, at the public level."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER, Viewer
from citymeter.errors import InvalidInput, NotFound
from citymeter.places import service as places
from citymeter.places.models import Area, City

DISTRICT_LEVEL = "district"


def reader_for(viewer: Viewer, district_id: int | None) -> Viewer:
    """The viewer itself where it sees the district's internal data, else the public."""
    return viewer if viewer.sees_internal_of(district_id) else PUBLIC_VIEWER


def city_for(session: Session, code: str | None = None) -> City:
    """The city with this code, else the first city; NotFound when the store has none."""
    if code is not None:
        return places.get_city(session, code)
    city = session.scalar(select(City).order_by(City.id).limit(1))
    if city is None:
        raise NotFound("There is no city yet; `citymeter demo` builds a demo city.")
    return city


def district_id_of(session: Session, area: Area) -> int | None:
    """The district an area lies in (itself when it is one); None above district level."""
    if area.level == DISTRICT_LEVEL:
        return area.id
    for parent in places.ancestors(session, area):
        if parent.level == DISTRICT_LEVEL:
            return parent.id
    return None


def district_area_codes(session: Session, district_id: int) -> set[str]:
    """The codes of a district and every area below it."""
    codes: set[str] = set()
    frontier = [district_id]
    while frontier:
        rows = session.execute(select(Area.id, Area.code).where(Area.id.in_(frontier))).all()
        codes.update(code for _, code in rows)
        frontier = list(session.scalars(select(Area.id).where(Area.parent_id.in_(frontier))))
    return codes


def districts(session: Session, city: City) -> list[Area]:
    return list(
        session.scalars(
            select(Area)
            .where(Area.city_id == city.id, Area.level == DISTRICT_LEVEL, Area.valid_to.is_(None))
            .order_by(Area.code)
        )
    )


def area_in(session: Session, city: City, code: str | None) -> Area | None:
    """An area of the city by code (None when no code is given)."""
    if code is None or code == "":
        return None
    area = places.find_area(session, city, code)
    if area is None:
        raise InvalidInput(f"{city.name} has no area with the code {code!r}.")
    return area


def area_name(area: Area, lang: str) -> str:
    return (area.names or {}).get(lang) or area.name
