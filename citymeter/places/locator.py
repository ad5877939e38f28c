"""Point-in-area: which neighbourhood, district and city a latitude/longitude falls in.

A locator is built once per city and date from the stored boundaries (a Shapely 2 STRtree, whose
predicate queries prepare the candidate polygons), then answers each lookup in microseconds.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import shapely
from shapely import STRtree
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from citymeter.db.reference import ReferenceCache
from citymeter.errors import InvalidInput
from citymeter.places.models import CityKey
from citymeter.places.service import list_areas


@dataclass(frozen=True)
class AreaRef:
    """The parts of an area a lookup answers with; plain data, safe to keep across sessions."""

    id: int
    code: str
    level: str
    name: str
    parent_id: int | None


@dataclass(frozen=True)
class Location:
    """Where a point is: the smallest area holding it, then its parents up to the city."""

    area: AreaRef
    ancestors: tuple[AreaRef, ...]

    @property
    def chain(self) -> tuple[AreaRef, ...]:
        return (self.area, *self.ancestors)

    def at_level(self, level: str) -> AreaRef | None:
        return next((ref for ref in self.chain if ref.level == level), None)


class AreaLocator:
    """Finds the deepest area containing a point among polygons of one city."""

    def __init__(self, areas: list[AreaRef], shapes: dict[int, BaseGeometry]) -> None:
        self._refs = {ref.id: ref for ref in areas}
        depth = {ref.id: self._depth(ref) for ref in areas}
        ids = sorted(shapes, key=lambda i: (-depth[i], shapely.area(shapes[i])))
        # Deepest first: the first containing polygon of a candidate set is the answer.
        self._ids = ids
        self.shapes = [shapes[i] for i in ids]
        shapely.prepare(self.shapes)  # each point-in-polygon test then takes microseconds
        self._tree = STRtree(self.shapes)
        self._chains: dict[int, Location] = {i: self._location(i) for i in ids}

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of all polygons."""
        minx, miny, maxx, maxy = shapely.total_bounds(self.shapes).tolist()
        return minx, miny, maxx, maxy

    def locate(self, lat: float, lon: float) -> Location | None:
        """The smallest stored area containing (lat, lon), with its parents; None if outside."""
        hits = self._tree.query(shapely.Point(lon, lat), predicate="within")
        if len(hits) == 0:
            return None
        return self._chains[self._ids[int(hits.min())]]

    def locate_many(self, lats: list[float], lons: list[float]) -> list[Location | None]:
        """Vectorised lookups: one STRtree query for all points."""
        points = shapely.points(lons, lats)
        pairs = self._tree.query(points, predicate="within")
        best: dict[int, int] = {}
        for point_index, tree_index in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            if point_index not in best or tree_index < best[point_index]:
                best[point_index] = tree_index
        return [self._chains[self._ids[best[i]]] if i in best else None for i in range(len(points))]

    def _depth(self, ref: AreaRef) -> int:
        depth, current, seen = 0, ref, {ref.id}
        while current.parent_id is not None and current.parent_id in self._refs:
            current = self._refs[current.parent_id]
            if current.id in seen:
                break
            seen.add(current.id)
            depth += 1
        return depth

    def _location(self, area_id: int) -> Location:
        ref = self._refs[area_id]
        chain: list[AreaRef] = []
        seen = {ref.id}
        parent_id = ref.parent_id
        while parent_id is not None and parent_id in self._refs and parent_id not in seen:
            seen.add(parent_id)
            chain.append(self._refs[parent_id])
            parent_id = self._refs[parent_id].parent_id
        return Location(area=ref, ancestors=tuple(chain))


def build_locator(session: Session, city: CityKey, at: dt.date | None = None) -> AreaLocator:
    """A locator over the areas of `city` valid on `at` (default: today) that have a boundary."""
    at = at or dt.date.today()
    areas = list_areas(session, city, at=at)
    refs = [AreaRef(a.id, a.code, a.level, a.name, a.parent_id) for a in areas]
    shapes = {a.id: shape(json.loads(a.boundary)) for a in areas if a.boundary}
    if not shapes:
        raise _no_boundaries(city, at)
    return AreaLocator(refs, shapes)


def _no_boundaries(city: CityKey, at: dt.date) -> InvalidInput:
    return InvalidInput(
        f"{city.name} has no area boundaries valid on {at}; import them with "
        "`citymeter areas import`."
    )


# Kept while the area table is unchanged; a city without boundaries is kept too (as None), so
# asking again costs a read of the stamps, not a rebuild. Locators are large: a few at a time.
_LOCATORS: ReferenceCache[AreaLocator | None] = ReferenceCache(("area",), limit=8)


def cached_locator(session: Session, city: CityKey, at: dt.date | None = None) -> AreaLocator:
    """`build_locator`, reused while the areas are unchanged (areas added or changed in this
    session count: the lookup flushes first)."""
    at = at or dt.date.today()

    def load() -> AreaLocator | None:
        try:
            return build_locator(session, city, at)
        except InvalidInput:
            return None

    locator = _LOCATORS.get(session, (city.id, at), load)
    if locator is None:
        raise _no_boundaries(city, at)
    return locator
