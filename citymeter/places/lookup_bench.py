"""Timing point-in-area lookups against a bare STRtree baseline, for `citymeter bench lookup`."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import shapely
from shapely import STRtree
from shapely.geometry import box

from citymeter.places.locator import AreaLocator, AreaRef


@dataclass(frozen=True)
class LookupBenchResult:
    label: str
    polygons: int
    lookups: int
    found: int
    seconds: float
    baseline_seconds: float
    batch_seconds: float

    @property
    def per_second(self) -> float:
        return self.lookups / self.seconds

    @property
    def baseline_per_second(self) -> float:
        return self.lookups / self.baseline_seconds

    @property
    def batch_per_second(self) -> float:
        return self.lookups / self.batch_seconds


def synthetic_grid(side: int = 20) -> AreaLocator:
    """side×side square neighbourhoods in 4 districts under one city, around Sejong."""
    west, south, step = 127.0, 36.4, 0.01
    city = AreaRef(1, "SYN", "city", "Synthetic city", None)
    refs = [city]
    refs += [AreaRef(2 + d, f"D{d}", "district", f"District {d}", city.id) for d in range(4)]
    shapes = {}
    next_id = 10
    for row in range(side):
        for col in range(side):
            district = 2 + (row * 2 // side) * 2 + (col * 2 // side)
            refs.append(AreaRef(next_id, f"N{row:02d}{col:02d}", "neighbourhood", "", district))
            x, y = west + col * step, south + row * step
            shapes[next_id] = box(x, y, x + step, y + step)
            next_id += 1
    return AreaLocator(refs, shapes)


def run(
    locator: AreaLocator, label: str, lookups: int = 100_000, seed: int = 1
) -> LookupBenchResult:
    """Time `lookups` random points inside the polygons' bounds: CityMeter's `locate`, then the
    same work on a bare STRtree (no wrapping), then `locate_many` in one batch."""
    rng = random.Random(seed)
    minx, miny, maxx, maxy = locator.bounds
    lons = [rng.uniform(minx, maxx) for _ in range(lookups)]
    lats = [rng.uniform(miny, maxy) for _ in range(lookups)]

    tree = STRtree(locator.shapes)
    for lat, lon in zip(lats[:1000], lons[:1000], strict=True):  # warm both up alike
        locator.locate(lat, lon)
        tree.query(shapely.Point(lon, lat), predicate="within")

    started = time.perf_counter()
    found = sum(1 for lat, lon in zip(lats, lons, strict=True) if locator.locate(lat, lon))
    seconds = time.perf_counter() - started

    started = time.perf_counter()
    for lat, lon in zip(lats, lons, strict=True):
        tree.query(shapely.Point(lon, lat), predicate="within")
    baseline = time.perf_counter() - started

    started = time.perf_counter()
    locator.locate_many(lats, lons)
    batch = time.perf_counter() - started
    return LookupBenchResult(label, len(locator), lookups, found, seconds, baseline, batch)
