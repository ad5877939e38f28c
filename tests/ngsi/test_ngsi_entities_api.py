"""Create, retrieve, query and delete entities over NGSI-LD, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.entities.history import count_points
from citymeter.entities.models import Entity
from tests.ngsi.conftest import NGSI, STATIONS, WEST, SmallCity, bearer, station

ERR = "https://uri.etsi.org/ngsi-ld/errors/"


def entity_count(db: Session) -> int:
    return db.scalar(select(func.count(Entity.id))) or 0


def ids(response: Any) -> list[str]:
    return [e["id"] for e in response.json()]


def test_create_answers_201_with_location_and_stores_the_entity(
    client: TestClient, db: Session, small_city: SmallCity, writer: dict[str, str]
) -> None:
    body = station("GN-01", WEST, 41.0, name="Gangnam")
    response = client.post(f"{NGSI}/entities", json=body, headers=writer)
    assert response.status_code == 201, response.text
    assert (
        response.headers["location"] == "/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityStation:GN-01"
    )
    stored = db.scalar(select(Entity).where(Entity.entity_id == body["id"]))
    assert stored is not None
    assert stored.district_id == small_city.west.id
    assert stored.attributes["pm10"]["value"] == 41.0
    # The numeric value went into the history too.
    assert count_points(db) == 1
    again = client.post(f"{NGSI}/entities", json=body, headers=writer)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/json"
    assert again.json()["type"] == ERR + "AlreadyExists"


def test_create_refuses_bad_entities_and_changes_nothing(
    client: TestClient, db: Session, small_city: SmallCity, writer: dict[str, str]
) -> None:
    good = station("X", WEST, 10.0)
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "type": "Spaceship"}, "Unknown entity type"),
        ({**good, "id": "not a uri"}, "URI"),
        ({**good, "pm10": {"type": "Property", "value": "high"}}, "needs a number"),
        ({**good, "pm10": {"type": "Property", "value": -3}}, "below"),
        ({**good, "colour": {"type": "Property", "value": "red"}}, "unknown attribute"),
        ({**good, "pm10": {"type": "Property"}}, "without a value"),
        (
            {**good, "pm10": {"type": "Property", "value": 1, "observedAt": "2024-05-01T09:00"}},
            "time zone",
        ),
        (
            {
                **good,
                "location": {
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [129.0, 35.1]},
                },
            },
            "outside",
        ),
    ]
    for body, complaint in cases:
        response = client.post(f"{NGSI}/entities", json=body, headers=writer)
        assert response.status_code == 400, (body, response.text)
        problem = response.json()
        assert problem["type"] == ERR + "BadRequestData"
        assert complaint in problem["detail"], problem
    assert entity_count(db) == 0


def test_writes_need_ingest_write(client: TestClient, db: Session, small_city: SmallCity) -> None:
    body = station("A", WEST, 1.0)
    anonymous = client.post(f"{NGSI}/entities", json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/json"
    official = client.post(f"{NGSI}/entities", json=body, headers=bearer(db, "official"))
    assert official.status_code == 403
    assert entity_count(db) == 0


def test_retrieve_in_each_representation(client: TestClient, stations: list[str]) -> None:
    url = f"{NGSI}/entities/{stations[0]}"
    normalized = client.get(url).json()
    assert normalized["pm10"] == {
        "type": "Property",
        "value": 35.0,
        "unitCode": "GQ",
        "observedAt": "2024-05-01T09:00:00Z",
    }
    assert normalized["location"]["type"] == "GeoProperty"
    key_values = client.get(url, params={"options": "keyValues"}).json()
    assert key_values == {
        "id": stations[0],
        "type": "AirQualityStation",
        "name": "West Market",
        "pm10": 35.0,
        "location": {"type": "Point", "coordinates": list(WEST)},
    }
    concise = client.get(url, params={"options": "concise"}).json()
    assert concise["name"] == "West Market"
    assert concise["pm10"] == {
        "value": 35.0,
        "unitCode": "GQ",
        "observedAt": "2024-05-01T09:00:00Z",
    }
    assert concise["location"] == {"type": "Point", "coordinates": list(WEST)}
    projected = client.get(url, params={"attrs": "name", "options": "sysAttrs"}).json()
    assert set(projected) == {"id", "type", "name", "createdAt", "modifiedAt"}
    missing = client.get(f"{NGSI}/entities/urn:ngsi-ld:AirQualityStation:nope")
    assert missing.status_code == 404
    assert missing.json()["type"] == ERR + "ResourceNotFound"
    bad_option = client.get(url, params={"options": "fancy"})
    assert bad_option.status_code == 400


def test_query_by_type_id_pattern_and_paging_with_count(
    client: TestClient, stations: list[str]
) -> None:
    url = f"{NGSI}/entities"
    every = client.get(url, params={"type": "AirQualityStation", "count": "true"})
    assert every.status_code == 200
    assert every.headers["ngsild-results-count"] == "4"
    assert ids(every) == sorted(stations)
    page = client.get(
        url, params={"type": "AirQualityStation", "limit": 2, "offset": 1, "count": "true"}
    )
    assert ids(page) == sorted(stations)[1:3]
    assert page.headers["ngsild-results-count"] == "4"
    only_count = client.get(url, params={"type": "AirQualityStation", "limit": 0, "count": "true"})
    assert only_count.json() == [] and only_count.headers["ngsild-results-count"] == "4"
    by_id = client.get(url, params={"id": f"{stations[0]},{stations[2]}"})
    assert ids(by_id) == sorted([stations[0], stations[2]])
    by_pattern = client.get(url, params={"idPattern": ".*:E[0-9]$", "count": "true"})
    assert ids(by_pattern) == sorted(s for s in stations if s.endswith(("E1", "E2")))
    assert by_pattern.headers["ngsild-results-count"] == "2"
    assert client.get(url, params={"type": "ParkingLot"}).json() == []
    nothing_asked = client.get(url)
    assert nothing_asked.status_code == 400
    assert nothing_asked.json()["type"] == ERR + "BadRequestData"
    too_many = client.get(url, params={"type": "AirQualityStation", "limit": 5000})
    assert too_many.status_code == 403
    assert too_many.json()["type"] == ERR + "TooManyResults"
    not_a_number = client.get(url, params={"type": "AirQualityStation", "limit": "ten"})
    assert not_a_number.status_code == 400


def test_query_with_q_and_attrs(client: TestClient, stations: list[str]) -> None:
    url = f"{NGSI}/entities"
    high = client.get(url, params={"type": "AirQualityStation", "q": "pm10>40", "count": "true"})
    assert high.status_code == 200
    expected = sorted(str(s["id"]) for s in STATIONS if s["pm10"]["value"] > 40)
    assert ids(high) == expected
    assert high.headers["ngsild-results-count"] == str(len(expected))
    ranged = client.get(url, params={"type": "AirQualityStation", "q": "pm10==30..60"})
    assert ids(ranged) == sorted(str(s["id"]) for s in STATIONS if 30 <= s["pm10"]["value"] <= 60)
    named = client.get(url, params={"q": "name~=^East;pm10<50", "options": "keyValues"})
    assert [(e["name"], e["pm10"]) for e in named.json()] == [("East Gate", 12.5)]
    attrs = client.get(url, params={"type": "AirQualityStation", "attrs": "name", "limit": 1})
    assert set(attrs.json()[0]) == {"id", "type", "name"}
    bad = client.get(url, params={"type": "AirQualityStation", "q": "pm10>>3"})
    assert bad.status_code == 400
    assert bad.json()["type"] == ERR + "BadRequestData"
    assert "Invalid q" in bad.json()["detail"]


def test_geo_queries_near_and_within(
    client: TestClient, stations: list[str], small_city: SmallCity
) -> None:
    url = f"{NGSI}/entities"
    near = client.get(
        url,
        params={
            "type": "AirQualityStation",
            "georel": "near;maxDistance==2000",
            "geometry": "Point",
            "coordinates": f"[{WEST[0]},{WEST[1] + 0.01}]",
        },
    )
    assert near.status_code == 200, near.text
    assert ids(near) == ["urn:ngsi-ld:AirQualityStation:W1"]
    east_box = "[[[127.1,37.4],[127.2,37.4],[127.2,37.6],[127.1,37.6],[127.1,37.4]]]"
    within = client.get(
        url, params={"georel": "within", "geometry": "Polygon", "coordinates": east_box}
    )
    assert ids(within) == ["urn:ngsi-ld:AirQualityStation:E1", "urn:ngsi-ld:AirQualityStation:E2"]
    combined = client.get(
        url,
        params={"georel": "within", "geometry": "Polygon", "coordinates": east_box, "q": "pm10>20"},
    )
    assert ids(combined) == ["urn:ngsi-ld:AirQualityStation:E2"]
    bad = client.get(url, params={"georel": "near", "geometry": "Point", "coordinates": "[1,2]"})
    assert bad.status_code == 400
    assert "maxDistance" in bad.json()["detail"]


def test_delete_entity(
    client: TestClient, db: Session, stations: list[str], writer: dict[str, str]
) -> None:
    response = client.delete(f"{NGSI}/entities/{stations[0]}", headers=writer)
    assert response.status_code == 204
    assert client.get(f"{NGSI}/entities/{stations[0]}").status_code == 404
    assert entity_count(db) == 3
    again = client.delete(f"{NGSI}/entities/{stations[0]}", headers=writer)
    assert again.status_code == 404
    assert again.json()["type"] == ERR + "ResourceNotFound"
    assert client.delete(f"{NGSI}/entities/{stations[1]}").status_code == 401


def test_internal_entities_are_hidden_from_the_public(
    client: TestClient, db: Session, stations: list[str]
) -> None:
    hidden = db.scalar(select(Entity).where(Entity.entity_id == stations[0]))
    assert hidden is not None
    hidden.visibility = "internal"
    db.flush()
    assert client.get(f"{NGSI}/entities/{stations[0]}").status_code == 404
    public = client.get(f"{NGSI}/entities", params={"type": "AirQualityStation"})
    assert stations[0] not in ids(public)
    mayor = bearer(db, "mayor")
    assert client.get(f"{NGSI}/entities/{stations[0]}", headers=mayor).status_code == 200
