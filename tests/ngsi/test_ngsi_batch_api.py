"""Batch entity operations: create, upsert, update, delete with 207 partial results."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.entities.models import Entity
from tests.ngsi.conftest import EAST, NGSI, WEST, SmallCity, station

ERR = "https://uri.etsi.org/ngsi-ld/errors/"
OPS = f"{NGSI}/entityOperations"


def ids_in_store(db: Session) -> list[str]:
    return list(db.scalars(select(Entity.entity_id).order_by(Entity.entity_id)))


def test_batch_create_all_or_207_per_entity(
    client: TestClient, db: Session, small_city: SmallCity, writer: dict[str, str]
) -> None:
    first = [station("A", WEST, 1.0), station("B", EAST, 2.0)]
    created = client.post(f"{OPS}/create", json=first, headers=writer)
    assert created.status_code == 201, created.text
    assert created.json() == [e["id"] for e in first]
    second = [
        station("C", WEST, 3.0),
        station("A", WEST, 9.0),  # exists
        {**station("D", WEST, 4.0), "pm10": {"type": "Property", "value": "x"}},
        {"type": "AirQualityStation"},  # no id
    ]
    partial = client.post(f"{OPS}/create", json=second, headers=writer)
    assert partial.status_code == 207, partial.text
    result = partial.json()
    assert result["success"] == ["urn:ngsi-ld:AirQualityStation:C"]
    errors = {e["entityId"]: e["error"]["type"] for e in result["errors"]}
    assert errors == {
        "urn:ngsi-ld:AirQualityStation:A": ERR + "AlreadyExists",
        "urn:ngsi-ld:AirQualityStation:D": ERR + "BadRequestData",
        None: ERR + "BadRequestData",
    }
    assert ids_in_store(db) == [f"urn:ngsi-ld:AirQualityStation:{x}" for x in "ABC"]
    not_a_list = client.post(f"{OPS}/create", json=first[0], headers=writer)
    assert not_a_list.status_code == 400


def test_batch_upsert_creates_replaces_or_updates(
    client: TestClient, db: Session, small_city: SmallCity, writer: dict[str, str]
) -> None:
    named = station("A", WEST, 1.0, name="Alpha")
    assert client.post(f"{OPS}/upsert", json=[named], headers=writer).status_code == 201
    replaced = client.post(f"{OPS}/upsert", json=[station("A", WEST, 5.0)], headers=writer)
    assert replaced.status_code == 204
    body = client.get(f"{NGSI}/entities/{named['id']}", params={"options": "keyValues"}).json()
    assert body["pm10"] == 5.0 and "name" not in body  # replace dropped the name
    update = {
        "id": named["id"],
        "type": "AirQualityStation",
        "name": {"type": "Property", "value": "A2"},
    }
    both = client.post(
        f"{OPS}/upsert",
        params={"options": "update"},
        json=[update, station("B", EAST, 2.0)],
        headers=writer,
    )
    assert both.status_code == 201
    assert both.json() == ["urn:ngsi-ld:AirQualityStation:B"]
    body = client.get(f"{NGSI}/entities/{named['id']}", params={"options": "keyValues"}).json()
    assert body["pm10"] == 5.0 and body["name"] == "A2"


def test_batch_update_and_delete(
    client: TestClient, db: Session, stations: list[str], writer: dict[str, str]
) -> None:
    updates = [
        {"id": stations[0], "pm10": {"type": "Property", "value": 11.0}},
        {"id": stations[1], "pm10": {"type": "Property", "value": 12.0}},
    ]
    assert client.post(f"{OPS}/update", json=updates, headers=writer).status_code == 204
    mixed = [
        {"id": stations[0], "pm10": {"type": "Property", "value": 21.0}},
        {"id": "urn:ngsi-ld:AirQualityStation:ghost", "pm10": {"type": "Property", "value": 1.0}},
        {"id": stations[2], "pm10": {"type": "Property", "value": 9999}},
    ]
    partial = client.post(f"{OPS}/update", json=mixed, headers=writer)
    assert partial.status_code == 207
    assert partial.json()["success"] == [stations[0]]
    assert {e["entityId"] for e in partial.json()["errors"]} == {
        "urn:ngsi-ld:AirQualityStation:ghost",
        stations[2],
    }
    values = client.get(
        f"{NGSI}/entities", params={"type": "AirQualityStation", "options": "keyValues"}
    ).json()
    by_id = {e["id"]: e["pm10"] for e in values}
    assert by_id[stations[0]] == 21.0 and by_id[stations[1]] == 12.0 and by_id[stations[2]] == 12.5
    deleted = client.post(f"{OPS}/delete", json=[stations[0], stations[1]], headers=writer)
    assert deleted.status_code == 204
    again = client.post(f"{OPS}/delete", json=[stations[0], stations[2]], headers=writer)
    assert again.status_code == 207
    assert again.json()["success"] == [stations[2]]
    assert again.json()["errors"][0]["error"]["type"] == ERR + "ResourceNotFound"
    assert ids_in_store(db) == [stations[3]]
