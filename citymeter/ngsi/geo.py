"""NGSI-LD geo-queries (clause 4.10): `georel`, `geometry`, `coordinates`, `geoproperty`.

    georel := near;maxDistance==<metres> | near;minDistance==<metres>
            | within | contains | intersects | disjoint | equals | overlaps

Geometries are GeoJSON in WGS84 (longitude, latitude). Distances for `near` are metres, measured
in a local equirectangular projection around the reference geometry (error well under 0.5 % over
the few tens of kilometres of a city).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from citymeter.ngsi.errors import BadRequestData

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
RELATIONS = ("near", "within", "contains", "intersects", "disjoint", "equals", "overlaps")
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class GeoQuery:
    relation: str
    geometry: BaseGeometry
    geoproperty: str = "location"
    max_distance: float | None = None
    min_distance: float | None = None

    def bounding_box(self) -> tuple[float, float, float, float] | None:
        """(min lon, min lat, max lon, max lat) that every match lies in, when there is one:
        lets the store pre-filter on indexed coordinates."""
        if self.relation == "near":
            if self.max_distance is None:
                return None
            min_x, min_y, max_x, max_y = self.geometry.bounds
            dlat = math.degrees(self.max_distance / EARTH_RADIUS_M)
            mid = math.radians((min_y + max_y) / 2)
            dlon = dlat / max(math.cos(mid), 1e-6)
            return (min_x - dlon, min_y - dlat, max_x + dlon, max_y + dlat)
        if self.relation in ("within", "intersects", "equals", "overlaps"):
            bounds: tuple[float, float, float, float] = self.geometry.bounds
            return bounds
        return None

    def matches(self, geojson: dict[str, Any] | None) -> bool:
        """True when an entity's geometry (GeoJSON) stands in this relation to the query's."""
        if not isinstance(geojson, dict):
            return False
        try:
            target = shape(geojson)
        except (ValueError, TypeError, KeyError, AttributeError):
            return False
        if target.is_empty:
            return False
        if self.relation == "near":
            metres = distance_m(target, self.geometry)
            if self.max_distance is not None and metres > self.max_distance:
                return False
            return not (self.min_distance is not None and metres < self.min_distance)
        reference = self.geometry
        if self.relation == "within":
            return bool(target.within(reference) or target.equals(reference))
        if self.relation == "contains":
            return bool(target.contains(reference))
        if self.relation == "intersects":
            return bool(target.intersects(reference))
        if self.relation == "disjoint":
            return bool(target.disjoint(reference))
        if self.relation == "equals":
            return bool(target.equals(reference))
        return bool(target.overlaps(reference))


def distance_m(a: BaseGeometry, b: BaseGeometry) -> float:
    """Shortest distance in metres between two WGS84 geometries (local projection)."""
    lat0 = math.radians(b.centroid.y)
    lon0 = b.centroid.x
    scale_x = math.cos(lat0) * math.pi / 180 * EARTH_RADIUS_M
    scale_y = math.pi / 180 * EARTH_RADIUS_M

    def project(coords: Any) -> Any:
        return (coords - (lon0, 0.0)) * (scale_x, scale_y)

    return float(shapely.transform(a, project).distance(shapely.transform(b, project)))


def parse_geoquery(
    georel: str | None,
    geometry: str | None,
    coordinates: str | None,
    geoproperty: str | None = None,
) -> GeoQuery | None:
    """A GeoQuery from the query parameters, or None when none is given."""
    if georel is None and geometry is None and coordinates is None:
        return None
    if not georel or not geometry or not coordinates:
        raise BadRequestData(
            "A geo-query needs all three of georel, geometry and coordinates "
            "(e.g. georel=near;maxDistance==500&geometry=Point&coordinates=[127.03,37.50])."
        )
    relation, max_distance, min_distance = _parse_georel(georel)
    shape_ = parse_geometry(geometry, coordinates)
    return GeoQuery(
        relation=relation,
        geometry=shape_,
        geoproperty=geoproperty or "location",
        max_distance=max_distance,
        min_distance=min_distance,
    )


def _parse_georel(georel: str) -> tuple[str, float | None, float | None]:
    parts = [p.strip() for p in georel.split(";")]
    relation = parts[0]
    if relation not in RELATIONS:
        raise BadRequestData(f"Unknown georel {relation!r}; use one of {', '.join(RELATIONS)}.")
    if relation != "near":
        if len(parts) > 1:
            raise BadRequestData(f"georel={relation} takes no modifier ({georel!r}).")
        return relation, None, None
    max_distance: float | None = None
    min_distance: float | None = None
    for modifier in parts[1:]:
        name, sep, value = modifier.partition("==")
        if not sep:
            raise BadRequestData(
                f"The near modifier {modifier!r} must read maxDistance==<m> or minDistance==<m>."
            )
        try:
            metres = float(value)
        except ValueError:
            raise BadRequestData(f"The distance in {modifier!r} is not a number.") from None
        if not math.isfinite(metres) or metres < 0:
            raise BadRequestData(f"The distance in {modifier!r} must be zero or more metres.")
        if name == "maxDistance":
            max_distance = metres
        elif name == "minDistance":
            min_distance = metres
        else:
            raise BadRequestData(f"Unknown near modifier {name!r}; use maxDistance or minDistance.")
    if max_distance is None and min_distance is None:
        raise BadRequestData("georel=near needs maxDistance==<m> or minDistance==<m>.")
    return "near", max_distance, min_distance


def parse_geometry(geometry: str, coordinates: str | Any) -> BaseGeometry:
    """A shapely geometry from a GeoJSON type name and its coordinates (JSON text or a list)."""
    if geometry not in GEOMETRY_TYPES:
        raise BadRequestData(
            f"Unknown geometry {geometry!r}; use one of {', '.join(GEOMETRY_TYPES)}."
        )
    if isinstance(coordinates, str):
        try:
            coords = json.loads(coordinates)
        except json.JSONDecodeError:
            raise BadRequestData(
                f"coordinates must be a JSON array such as [127.03,37.50], not {coordinates!r}."
            ) from None
    else:
        coords = coordinates
    if not isinstance(coords, list):
        raise BadRequestData("coordinates must be a JSON array.")
    try:
        result = shape({"type": geometry, "coordinates": coords})
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise BadRequestData(f"The coordinates do not make a {geometry}: {exc}.") from None
    if result.is_empty:
        raise BadRequestData(f"The coordinates make an empty {geometry}.")
    if not result.is_valid:
        raise BadRequestData(f"The {geometry} is not valid (self-intersecting or unclosed ring).")
    min_x, min_y, max_x, max_y = result.bounds
    if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
        raise BadRequestData(
            "coordinates are outside WGS84 bounds; give [longitude, latitude] in degrees."
        )
    return result


def check_geojson(value: Any, label: str) -> dict[str, Any]:
    """A GeoProperty value checked as a GeoJSON geometry; returns it unchanged."""
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        raise BadRequestData(
            f"{label} must be a GeoJSON geometry ({', '.join(GEOMETRY_TYPES)}) "
            'such as {"type": "Point", "coordinates": [127.03, 37.50]}.'
        )
    parse_geometry(str(value["type"]), value.get("coordinates"))
    return value
