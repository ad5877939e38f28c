"""The demo city's map: a smooth outline with a river across it, districts and neighbourhoods as
Voronoi cells. Pure functions of a seed; shapes are built in kilometres and returned in WGS84."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from citymeter.demo import names

# Where the fictional city sits (Seoul-like latitude, so the projection and day lengths are real).
CENTRE_LON, CENTRE_LAT = 126.97, 37.565
KM_PER_DEG_LAT = 110.95
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(CENTRE_LAT))
# Fictional province prefix: no real Korean province or metropolitan city uses 99.
CITY_PREFIX = "99"
CITY_CODE = f"{CITY_PREFIX}00000000"
# Coordinates are kept to 1e-6 degrees (about 10 cm): enough for a map, small to store.
GRID_DEG = 1e-6


@dataclass(frozen=True)
class PlaceShape:
    code: str
    name_ko: str
    name_en: str
    geometry: BaseGeometry  # WGS84 lon/lat
    # Where people live densely: 1.0 is the city's mean; drives the population generator.
    density: float
    parent_code: str | None = None


@dataclass(frozen=True)
class CityMap:
    code: str
    name_ko: str
    name_en: str
    outline: BaseGeometry  # WGS84, the river included
    districts: list[PlaceShape]
    neighbourhoods: list[PlaceShape]


def _outline_km(rng: np.random.Generator) -> Polygon:
    """A smooth irregular blob about 37 km by 30 km: an ellipse with a few random harmonics."""
    angles = np.linspace(0, 2 * math.pi, 160, endpoint=False)
    radius = np.ones_like(angles)
    for k, amplitude in ((2, 0.07), (3, 0.06), (4, 0.035), (5, 0.025), (7, 0.012)):
        radius += (
            amplitude * rng.uniform(0.5, 1.0) * np.cos(k * angles + rng.uniform(0, 2 * math.pi))
        )
    xs = 17.5 * radius * np.cos(angles)
    ys = 14.0 * radius * np.sin(angles)
    return Polygon(np.column_stack([xs, ys]))


def _river_km(rng: np.random.Generator, outline: Polygon) -> BaseGeometry:
    """A meandering band crossing the city from west to east, a little south of the middle."""
    minx, _miny, maxx, _maxy = outline.bounds
    xs = np.linspace(minx - 2, maxx + 2, 90)
    phase = rng.uniform(0, 2 * math.pi)
    ys = -1.8 + 2.2 * np.sin(xs / 6.5 + phase) + 0.9 * np.sin(xs / 2.7 + 2 * phase) + 0.04 * xs
    centre = LineString(np.column_stack([xs, ys]))
    band = centre.buffer(0.65, quad_segs=4)  # about 1.3 km wide, like the Han in Seoul
    return band.intersection(outline.buffer(1.0))


def _spread_points(region: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` random points in `region`, kept apart, then evened out by Lloyd relaxation."""
    minx, miny, maxx, maxy = region.bounds
    spacing = 0.7 * math.sqrt(region.area / count)
    points: list[tuple[float, float]] = []
    attempts = 0
    shapely.prepare(region)
    while len(points) < count:
        attempts += 1
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not shapely.contains_xy(region, x, y):
            continue
        too_close = any((x - px) ** 2 + (y - py) ** 2 < spacing**2 for px, py in points)
        if too_close and attempts < count * 200:
            continue
        points.append((x, y))
    seeds = np.array(points)
    for _ in range(2):
        cells = _voronoi_cells(region, seeds)
        seeds = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    return seeds


def _voronoi_cells(region: BaseGeometry, seeds: np.ndarray) -> list[BaseGeometry]:
    """The Voronoi cell of each seed, clipped to `region`, in the order of `seeds`."""
    diagram = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=region.envelope.buffer(5))
    cells: list[BaseGeometry] = [Polygon()] * len(seeds)
    tree = shapely.STRtree([Point(x, y) for x, y in seeds])
    for cell in diagram.geoms:
        for index in tree.query(cell, predicate="contains"):
            cells[int(index)] = cell.intersection(region)
    return cells


def _tidy(cells: list[BaseGeometry]) -> list[BaseGeometry]:
    """Each cell made one polygon: pieces cut off by the region's shape join the neighbour they
    share most border with, so that the cells still cover the region exactly."""
    main: list[BaseGeometry] = []
    loose: list[BaseGeometry] = []
    for cell in cells:
        parts = sorted(getattr(cell, "geoms", [cell]), key=lambda g: g.area, reverse=True)
        parts = [p for p in parts if p.geom_type == "Polygon" and not p.is_empty]
        main.append(parts[0])
        loose.extend(parts[1:])
    for piece in loose:
        shared = [piece.boundary.intersection(m.boundary).length for m in main]
        best = int(np.argmax(shared))
        main[best] = unary_union([main[best], piece])
    return [m if m.geom_type == "Polygon" else max(m.geoms, key=lambda g: g.area) for m in main]


def _to_wgs84(geom: BaseGeometry) -> BaseGeometry:
    def project(coords: np.ndarray) -> np.ndarray:
        lon = CENTRE_LON + coords[:, 0] / KM_PER_DEG_LON
        lat = CENTRE_LAT + coords[:, 1] / KM_PER_DEG_LAT
        return np.column_stack([lon, lat])

    lonlat: BaseGeometry = shapely.transform(geom, project)
    snapped: BaseGeometry = shapely.set_precision(lonlat, GRID_DEG)
    return snapped


def _density_at(x: float, y: float, hotspots: list[tuple[float, float, float]]) -> float:
    """Residential density relative to the mean: high near the old centre and a few sub-centres."""
    value = 0.55
    for hx, hy, strength in hotspots:
        value += strength * math.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2 * 6.0**2))
    return value


def _split_counts(
    total: int, weights: np.ndarray, rng: np.random.Generator, minimum: int
) -> list[int]:
    """Whole numbers near total × weight, at least `minimum` each, summing to `total`."""
    raw = weights / weights.sum() * total
    counts = np.maximum(minimum, np.floor(raw)).astype(int)
    while counts.sum() < total:
        counts[int(np.argmax(raw - counts + rng.uniform(0, 0.01, len(raw))))] += 1
    while counts.sum() > total:
        index = int(np.argmax(counts - raw))
        counts[index] -= 1
    return [int(c) for c in counts]


def generate_map(seed: int, *, districts: int = 25, neighbourhoods: int = 400) -> CityMap:
    """The demo city's outline, districts and neighbourhoods for `seed` (same seed, same map)."""
    if not 2 <= districts <= 60:
        raise ValueError("the demo city has between 2 and 60 districts")
    rng = np.random.default_rng([seed, 1])
    outline = _outline_km(rng)
    river = _river_km(rng, outline)
    land = outline.difference(river)
    banks = sorted(getattr(land, "geoms", [land]), key=lambda g: g.area, reverse=True)[:2]
    if len(banks) < 2:
        banks = [land]
    total_land = sum(b.area for b in banks)
    # Districts on each bank in proportion to its land (14 north and 11 south in Seoul).
    district_shapes: list[BaseGeometry] = []
    for i, bank in enumerate(banks):
        on_bank = (
            districts - sum(1 for _ in district_shapes)
            if i == len(banks) - 1
            else max(1, round(districts * bank.area / total_land))
        )
        seeds = _spread_points(bank, on_bank, rng)
        district_shapes.extend(_tidy(_voronoi_cells(bank, seeds)))
    hotspots = [(rng.uniform(-3, 3), rng.uniform(0, 4), 1.0)] + [
        (rng.uniform(-12, 12), rng.uniform(-9, 9), rng.uniform(0.3, 0.6)) for _ in range(3)
    ]
    # Order districts roughly north-west to south-east so that codes read like a map.
    district_shapes.sort(key=lambda g: (round(-g.centroid.y / 6), g.centroid.x))
    district_names = names.district_names(len(district_shapes), rng)
    densities = np.array(
        [_density_at(g.centroid.x, g.centroid.y, hotspots) for g in district_shapes]
    )
    target = int(neighbourhoods + rng.integers(-8, 9)) if neighbourhoods >= 100 else neighbourhoods
    # More neighbourhoods where more people live, but flatter than the spread of district sizes.
    weights = (np.array([g.area for g in district_shapes]) * np.sqrt(densities)) ** 0.5
    weights *= rng.uniform(0.85, 1.15, len(weights))
    per_district = _split_counts(target, weights, rng, min(8, max(2, target // len(weights))))
    district_places: list[PlaceShape] = []
    neighbourhood_places: list[PlaceShape] = []
    for d, (shape_km, (name_ko, name_en), count) in enumerate(
        zip(district_shapes, district_names, per_district, strict=True)
    ):
        district_code = f"{CITY_PREFIX}{110 + d * 10:03d}00000"
        seeds = _spread_points(shape_km, count, rng)
        cells = _tidy(_voronoi_cells(shape_km, seeds))
        cells.sort(key=lambda g: (round(-g.centroid.y / 1.5), g.centroid.x))
        cell_names = names.neighbourhood_names(len(cells), rng)
        for n, (cell, (cell_ko, cell_en)) in enumerate(zip(cells, cell_names, strict=True)):
            local = _density_at(cell.centroid.x, cell.centroid.y, hotspots)
            neighbourhood_places.append(
                PlaceShape(
                    code=f"{district_code[:5]}{510 + n * 10:03d}00",
                    name_ko=cell_ko,
                    name_en=cell_en,
                    geometry=_to_wgs84(cell),
                    density=local * float(rng.lognormal(0, 0.25)),
                    parent_code=district_code,
                )
            )
        district_places.append(
            PlaceShape(
                code=district_code,
                name_ko=name_ko,
                name_en=name_en,
                geometry=_to_wgs84(shape_km),
                density=float(densities[d]),
                parent_code=CITY_CODE,
            )
        )
    return CityMap(
        code=CITY_CODE,
        name_ko=names.CITY_NAME_KO,
        name_en=names.CITY_NAME_EN,
        outline=_to_wgs84(outline),
        districts=district_places,
        neighbourhoods=neighbourhood_places,
    )
