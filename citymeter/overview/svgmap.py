"""An overview drawn as SVG path data: lon/lat projected to a flat map, no tile server.

The projection is equirectangular around the city's middle latitude, which is accurate enough
for one city. Coordinates are rounded to whole SVG units and shared neighbourhood edges are drawn
once, to keep the page light.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from citymeter.overview.service import CityOverview

WIDTH = 1000
PADDING = 12
CLASSES = 5


@dataclass(frozen=True)
class DistrictShape:
    code: str
    path: str
    label_x: int
    label_y: int
    value: float | None
    css_class: str  # "c0" … "c4", or "none" without a value


@dataclass(frozen=True)
class LegendClass:
    css_class: str
    low: float
    high: float


@dataclass(frozen=True)
class MapDrawing:
    width: int
    height: int
    outline: str
    neighbourhoods: str
    districts: list[DistrictShape]
    legend: list[LegendClass]


def _path(geom: BaseGeometry, to_xy: Callable[[np.ndarray], np.ndarray]) -> str:
    """SVG path data for polygons (closed rings) or lines, in whole units."""
    parts: list[str] = []
    for line in _lines(geom):
        xy = np.rint(to_xy(np.asarray(line.coords))).astype(int)
        keep = np.ones(len(xy), dtype=bool)
        keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)
        xy = xy[keep]
        if len(xy) < 2:
            continue
        closed = line.is_ring and len(xy) > 2 and (xy[0] == xy[-1]).all()
        if closed:
            xy = xy[:-1]
        points = " ".join(f"{x} {y}" for x, y in xy.tolist())
        parts.append(f"M{points}{'Z' if closed else ''}")
    return "".join(parts)


def _lines(geom: BaseGeometry) -> list[Any]:
    if geom.is_empty:
        return []
    kind = geom.geom_type
    if kind == "Polygon":
        return [geom.exterior, *geom.interiors]
    if kind in ("MultiPolygon", "MultiLineString", "GeometryCollection"):
        return [line for part in geom.geoms for line in _lines(part)]
    if kind in ("LineString", "LinearRing"):
        return [geom]
    return []


def _classes(values: Sequence[float | None]) -> tuple[list[str], list[LegendClass]]:
    """Quantile classes: each colour holds about as many districts."""
    known = sorted(v for v in values if v is not None)
    if not known:
        return ["none"] * len(values), []
    count = min(CLASSES, len(set(known)))
    edges = (
        [known[0]]
        + [
            known[min(len(known) - 1, math.ceil(len(known) * k / count) - 1)]
            for k in range(1, count)
        ]
        + [known[-1]]
    )
    legend = [LegendClass(f"c{k}", edges[k], edges[k + 1]) for k in range(count)]
    names = []
    for value in values:
        if value is None:
            names.append("none")
            continue
        index = next((k for k in range(count) if value <= edges[k + 1]), count - 1)
        names.append(f"c{index}")
    return names, legend


def draw(overview: CityOverview, measure: str = "density") -> MapDrawing | None:
    """The overview's map; `measure` is "density" or "employment_rate". None without shapes."""
    shapes = [shape(d.boundary) if d.boundary else None for d in overview.districts]
    if overview.outline is None and not any(shapes):
        return None
    everything = [s for s in shapes if s is not None]
    outline = shape(overview.outline) if overview.outline else unary_union(everything)
    minx, miny, maxx, maxy = outline.bounds
    x_scale = math.cos(math.radians((miny + maxy) / 2))
    span_x = (maxx - minx) * x_scale or 1e-9
    unit = (WIDTH - 2 * PADDING) / span_x
    height = round((maxy - miny) * unit + 2 * PADDING)

    def to_xy(coords: np.ndarray) -> np.ndarray:
        x = PADDING + (coords[:, 0] - minx) * x_scale * unit
        y = PADDING + (maxy - coords[:, 1]) * unit
        return np.column_stack([x, y])

    def point(lon: float, lat: float) -> tuple[int, int]:
        x, y = to_xy(np.array([[lon, lat]]))[0]
        return round(float(x)), round(float(y))

    if overview.neighbourhood_boundaries:
        edges = shapely.union_all([shape(g).boundary for g in overview.neighbourhood_boundaries])
        # A tolerance below one SVG unit: invisible, and it drops the collinear points.
        edges = edges.simplify(0.6 / unit)
        neighbourhoods = _path(edges, to_xy)
    else:
        neighbourhoods = ""
    values = [d.density if measure == "density" else d.employment_rate for d in overview.districts]
    css, legend = _classes(values)
    districts = []
    for summary, geom, value, css_class in zip(
        overview.districts, shapes, values, css, strict=True
    ):
        if geom is None:
            continue
        if summary.centroid is not None:
            label_x, label_y = point(*summary.centroid)
        else:
            inside = geom.representative_point()
            label_x, label_y = point(inside.x, inside.y)
        districts.append(
            DistrictShape(summary.code, _path(geom, to_xy), label_x, label_y, value, css_class)
        )
    return MapDrawing(
        width=WIDTH,
        height=height,
        outline=_path(outline, to_xy),
        neighbourhoods=neighbourhoods,
        districts=districts,
        legend=legend,
    )
