"""Boundaries for the dashboard map, as the browser's chart library reads them: the districts as a
GeoJSON FeatureCollection (one feature per district, its code as the feature name) and the
neighbourhood boundaries as bare rings, coordinates rounded to about a metre."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.dashboard.scope import Scope
from citymeter.places.models import Area

DIGITS = 5  # 1e-5 degrees is about a metre


def _round(coords: Any) -> Any:
    if isinstance(coords, list | tuple) and coords and isinstance(coords[0], int | float):
        return [round(float(c), DIGITS) for c in coords[:2]]
    return [_round(c) for c in coords]


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry.get("type") == "Polygon":
        return [_round(r) for r in geometry["coordinates"]]
    if geometry.get("type") == "MultiPolygon":
        return [_round(r) for polygon in geometry["coordinates"] for r in polygon]
    return []


@dataclass(frozen=True)
class MapShapes:
    districts: dict[str, Any]  # FeatureCollection
    neighbourhoods: list[list[list[float]]]  # rings [[lon, lat], ...]
    bounds: tuple[float, float, float, float] | None  # min lon, min lat, max lon, max lat

    def as_dict(self) -> dict[str, Any]:
        return {
            "districts": self.districts,
            "neighbourhoods": self.neighbourhoods,
            "bounds": self.bounds,
        }


def map_shapes(session: Session, scope: Scope) -> MapShapes:
    """The city's districts and their neighbourhoods (on a district page: that district and its
    neighbourhoods only)."""
    ids = scope.district_ids
    features = []
    lons: list[float] = []
    lats: list[float] = []
    for area in session.scalars(select(Area).where(Area.id.in_(ids)).order_by(Area.code)):
        if not area.boundary:
            continue
        geometry = json.loads(area.boundary)
        rings = _rings(geometry)
        for ring in rings:
            lons.extend(p[0] for p in ring)
            lats.extend(p[1] for p in ring)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "name": area.code,
                    "ko": (area.names or {}).get("ko") or area.name,
                    "en": (area.names or {}).get("en") or area.name,
                },
                "geometry": {
                    "type": geometry["type"],
                    "coordinates": _round(geometry["coordinates"]),
                },
            }
        )
    neighbourhoods: list[list[list[float]]] = []
    for text in session.scalars(
        select(Area.boundary).where(
            Area.parent_id.in_(ids), Area.level == "neighbourhood", Area.valid_to.is_(None)
        )
    ):
        if text:
            neighbourhoods.extend(_rings(json.loads(text)))
    bounds = (min(lons), min(lats), max(lons), max(lats)) if lons else None
    return MapShapes({"type": "FeatureCollection", "features": features}, neighbourhoods, bounds)
