"""Boundary geometry: validation of GeoJSON and areas on the ground."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from citymeter.errors import InvalidInput

_GEOD = Geod(ellps="WGS84")
POLYGONAL = ("Polygon", "MultiPolygon")


def parse_boundary(geojson: dict[str, Any], *, label: str) -> BaseGeometry:
    """A Shapely geometry from a GeoJSON (Multi)Polygon in WGS84, or a clear InvalidInput."""
    kind = geojson.get("type")
    if kind not in POLYGONAL:
        raise InvalidInput(f"{label}: a boundary must be a Polygon or MultiPolygon, not {kind!r}.")
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise InvalidInput(f"{label}: the boundary is not valid GeoJSON ({exc}).") from None
    if geom.is_empty:
        raise InvalidInput(f"{label}: the boundary is empty.")
    minx, miny, maxx, maxy = geom.bounds
    if not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90
    ):
        raise InvalidInput(
            f"{label}: coordinates ({minx:.0f}, {miny:.0f}) are not longitude/latitude; "
            "the file is probably in a projected CRS: give its CRS (e.g. --crs EPSG:5179)."
        )
    if not geom.is_valid:
        raise InvalidInput(
            f"{label}: the boundary is not a valid polygon ({explain_validity(geom)})."
        )
    return geom


def area_km2(geom: BaseGeometry) -> float:
    """Area on the WGS84 ellipsoid, in square kilometres."""
    area_m2, _perimeter = _GEOD.geometry_area_perimeter(geom)
    return abs(area_m2) / 1_000_000


# --- coordinate reference systems -------------------------------------------------------------

# GeoJSON (RFC 7946) is lon/lat on WGS84. Older files name that CRS84 or EPSG:4326 and still put
# longitude first, so both are taken as they are.
_LONLAT_NAMES = {"OGC:CRS84", "EPSG:4326", "WGS84", "CRS84"}


@dataclass(frozen=True)
class CoordinateSystem:
    """The CRS a file's coordinates are in, and how to bring them to WGS84 lon/lat."""

    name: str
    transformer: Transformer | None  # None: already lon/lat on WGS84
    # (west, south, east, north) in degrees where the CRS is meant to be used, if known
    area_of_use: tuple[float, float, float, float] | None = None
    area_of_use_name: str = ""

    @property
    def is_lonlat(self) -> bool:
        return self.transformer is None

    def misuse(self, source: BaseGeometry, converted: BaseGeometry) -> str | None:
        """Why these coordinates are probably not in this CRS, or None when they may be."""
        if self.transformer is None:
            return None
        if looks_lonlat(source):
            return (
                f"the coordinates look like longitude/latitude already, not {self.name} "
                "metres; is the CRS right?"
            )
        if self.area_of_use is not None:
            west, south, east, north = self.area_of_use
            minx, miny, maxx, maxy = (float(v) for v in converted.bounds)
            margin = 1.0  # degrees: CRSs are routinely used a little past their official area
            if (
                maxx < west - margin
                or minx > east + margin
                or maxy < south - margin
                or miny > north + margin
            ):
                return (
                    f"converted from {self.name} it lies at ({minx:.2f}, {miny:.2f}), outside "
                    f"that CRS's area ({self.area_of_use_name}); is the CRS right?"
                )
        return None


WGS84_LONLAT = CoordinateSystem("OGC:CRS84", None)


def coordinate_system(name: str) -> CoordinateSystem:
    """A CRS from a name such as "EPSG:5179", "urn:ogc:def:crs:EPSG::5186" or "CRS84"."""
    text = name.strip()
    if text.upper() in _LONLAT_NAMES:
        return CoordinateSystem(text.upper(), None)
    try:
        crs = CRS.from_user_input(text)
    except CRSError:
        raise InvalidInput(
            f"Unknown coordinate reference system {name!r}; give it like EPSG:5179 or EPSG:4326."
        ) from None
    label = f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.name
    datum = crs.datum.name if crs.datum is not None else ""
    if crs.is_geographic and "World Geodetic System 1984" in datum:
        return CoordinateSystem(label, None)
    area = crs.area_of_use
    return CoordinateSystem(
        label,
        Transformer.from_crs(crs, "EPSG:4326", always_xy=True),
        area.bounds if area is not None else None,
        area.name if area is not None else "",
    )


def declared_crs(collection: dict[str, Any]) -> str | None:
    """The CRS named in a GeoJSON file's (pre-RFC 7946) `crs` member, if any."""
    crs = collection.get("crs")
    if not isinstance(crs, dict):
        return None
    properties = crs.get("properties")
    if isinstance(properties, dict) and isinstance(properties.get("name"), str):
        return str(properties["name"])
    return None


def to_wgs84(geom: BaseGeometry, system: CoordinateSystem) -> BaseGeometry:
    if system.transformer is None:
        return geom
    transformer = system.transformer

    def _project(coords: Any) -> Any:
        xs, ys = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([xs, ys])

    projected: BaseGeometry = shapely.transform(geom, _project)
    return projected


def looks_lonlat(geom: BaseGeometry) -> bool:
    minx, miny, maxx, maxy = (float(v) for v in geom.bounds)
    return -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90


def boundary_problem(geom: BaseGeometry) -> str | None:
    """Why a WGS84 geometry cannot be an area's boundary, or None when it can."""
    if geom.geom_type not in POLYGONAL:
        return f"a boundary must be a Polygon or MultiPolygon, not {geom.geom_type}"
    if geom.is_empty:
        return "the boundary is empty"
    if not looks_lonlat(geom):
        minx, miny, _maxx, _maxy = geom.bounds
        return (
            f"coordinates ({minx:.0f}, {miny:.0f}) are not longitude/latitude; the file is "
            "probably in a projected CRS: give its CRS (e.g. --crs EPSG:5179)"
        )
    if not geom.is_valid:
        return f"the boundary is not a valid polygon ({explain_validity(geom)})"
    return None


def to_geojson(geom: BaseGeometry, precision: int = 7) -> dict[str, Any]:
    """A GeoJSON geometry dict; 7 decimals of a degree is about 1 cm."""
    data: dict[str, Any] = json.loads(shapely.to_geojson(geom))
    data["coordinates"] = _round(data["coordinates"], precision)
    return data


def _round(value: Any, precision: int) -> Any:
    if isinstance(value, float | int):
        return round(float(value), precision)
    return [_round(item, precision) for item in value]
