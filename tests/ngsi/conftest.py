"""A small city with two districts, a data steward's token and a few air-quality stations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.places import service as places
from citymeter.places.models import Area, City

NGSI = "/ngsi-ld/v1"
JSON = {"Content-Type": "application/json"}
# West district lon 127.00-127.10, east 127.10-127.20, lat 37.40-37.60.
WEST = (127.02, 37.50)
WEST_2 = (127.06, 37.45)
EAST = (127.15, 37.50)
EAST_2 = (127.19, 37.58)


def box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


@dataclass
class SmallCity:
    city: City
    west: Area
    east: Area


@pytest.fixture
def small_city(db: Session) -> SmallCity:
    city = places.create_city(db, SYSTEM_VIEWER, code="ngsiville", name="Ngsiville")
    root = places.root_area_of(db, city)
    common: dict[str, Any] = {"city": city, "level": "district", "parent": root}
    west = places.add_area(
        db, None, code="W", name="West", boundary=box(127.0, 37.4, 127.1, 37.6), **common
    )
    east = places.add_area(
        db, None, code="E", name="East", boundary=box(127.1, 37.4, 127.2, 37.6), **common
    )
    return SmallCity(city=city, west=west, east=east)


def bearer(db: Session, role: str) -> dict[str, str]:
    username = f"ngsi-{role}".replace("_", "-")
    accounts.create_user(db, SYSTEM_VIEWER, username=username, role=role, password=None)
    _row, secret = accounts.create_token(db, SYSTEM_VIEWER, username, "ngsi tests")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def writer(db: Session) -> dict[str, str]:
    """Headers of a data steward (holds ingest:write) sending application/json."""
    return {**bearer(db, "data_steward"), **JSON}


def station(
    local_id: str,
    where: tuple[float, float],
    pm10: float,
    *,
    name: str | None = None,
    observed: str = "2024-05-01T09:00:00Z",
) -> dict[str, Any]:
    """An AirQualityStation in NGSI-LD normalized form."""
    body: dict[str, Any] = {
        "id": f"urn:ngsi-ld:AirQualityStation:{local_id}",
        "type": "AirQualityStation",
        "pm10": {"type": "Property", "value": pm10, "observedAt": observed, "unitCode": "GQ"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": list(where)}},
    }
    if name is not None:
        body["name"] = {"type": "Property", "value": name}
    return body


STATIONS = [
    station("W1", WEST, 35.0, name="West Market"),
    station("W2", WEST_2, 80.0, name="West Park"),
    station("E1", EAST, 12.5, name="East Gate"),
    station("E2", EAST_2, 55.0, name="East Hill"),
]


@pytest.fixture
def stations(client: TestClient, small_city: SmallCity, writer: dict[str, str]) -> list[str]:
    """The four stations, created through the API; their ids."""
    for body in STATIONS:
        response = client.post(f"{NGSI}/entities", json=body, headers=writer)
        assert response.status_code == 201, response.text
    return [str(body["id"]) for body in STATIONS]
