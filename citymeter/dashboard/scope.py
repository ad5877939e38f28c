"""What a dashboard shows: the city or one district, and at which level of detail for this viewer.

The mayor and staff see everything internal; a district head sees their own district's internal
data and everything else at public level; the public sees public data only. A panel function
receives the `Scope` and reads with `scope.reader`, the viewer it may show data to.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER, Viewer
from citymeter.errors import NotFound
from citymeter.places import service as places
from citymeter.places.models import Area, City


@dataclass(frozen=True)
class District:
    id: int
    code: str
    name: str
    names: dict[str, str]
    population: int | None
    area_km2: float | None

    def label(self, lang: str) -> str:
        return self.names.get(lang) or self.name


@dataclass(frozen=True)
class Scope:
    city: City
    root: Area | None
    districts: list[District]  # all districts of the city, by code
    district: District | None  # the district shown, None for the whole city
    viewer: Viewer  # who asked
    reader: Viewer  # whose permissions the panels read with
    internal: bool  # whether internal data is shown

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.city.timezone or "UTC")

    @property
    def district_ids(self) -> list[int]:
        """The districts whose data the panels sum: one, or all."""
        return [self.district.id] if self.district else [d.id for d in self.districts]

    def district_by_id(self, area_id: int | None) -> District | None:
        return next((d for d in self.districts if d.id == area_id), None)


def resolve(
    session: Session, viewer: Viewer, *, city_code: str | None = None, district: str | None = None
) -> Scope | None:
    """The scope for a city (default: the first) and optionally one of its districts; None when
    the store has no city yet. NotFound for an unknown district code."""
    cities = places.list_cities(session)
    if not cities:
        return None
    city = places.get_city(session, city_code) if city_code else min(cities, key=lambda c: c.id)
    root = places.root_area_of(session, city)
    rows = session.scalars(
        select(Area)
        .where(Area.city_id == city.id, Area.level == "district", Area.valid_to.is_(None))
        .order_by(Area.code)
    )
    districts = [
        District(a.id, a.code, a.name, dict(a.names or {}), a.population, a.area_km2) for a in rows
    ]
    shown = None
    if district is not None:
        shown = next((d for d in districts if d.code == district), None)
        if shown is None:
            raise NotFound(f"{city.name} has no district with the code {district!r}.")
    internal = viewer.sees_internal_of(shown.id if shown else None)
    return Scope(
        city=city,
        root=root,
        districts=districts,
        district=shown,
        viewer=viewer,
        reader=viewer if internal else PUBLIC_VIEWER,
        internal=internal,
    )
