"""A small city with two districts and a neighbourhood, for entity tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.places import service as places
from citymeter.places.models import Area, City


def box(west: float, south: float, east: float, north: float) -> dict[str, object]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


@dataclass
class SmallCity:
    city: City
    east: Area
    west: Area
    west_old_town: Area


# Inside: west district lon 127.00-127.10, east 127.10-127.20, lat 37.40-37.60.
WEST_POINT = {"lat": 37.5, "lon": 127.02}  # also inside the old town neighbourhood
EAST_POINT = {"lat": 37.5, "lon": 127.15}
OUTSIDE_POINT = {"lat": 35.1, "lon": 129.0}


@pytest.fixture
def small_city(db: Session) -> SmallCity:
    city = places.create_city(db, SYSTEM_VIEWER, code="testville", name="Testville")
    root = places.root_area_of(db, city)
    west = places.add_area(
        db,
        None,
        city=city,
        code="W",
        level="district",
        name="West",
        parent=root,
        boundary=box(127.0, 37.4, 127.1, 37.6),
    )
    east = places.add_area(
        db,
        None,
        city=city,
        code="E",
        level="district",
        name="East",
        parent=root,
        boundary=box(127.1, 37.4, 127.2, 37.6),
    )
    old_town = places.add_area(
        db,
        None,
        city=city,
        code="W1",
        level="neighbourhood",
        name="Old Town",
        parent=west,
        boundary=box(127.0, 37.4, 127.05, 37.6),
    )
    return SmallCity(city=city, east=east, west=west, west_old_town=old_town)
