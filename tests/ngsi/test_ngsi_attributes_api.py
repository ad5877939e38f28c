"""Append, update, partially update and delete attributes over NGSI-LD."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.entities.history import count_points
from citymeter.entities.models import Entity
from tests.ngsi.conftest import NGSI

ERR = "https://uri.etsi.org/ngsi-ld/errors/"
W1 = "urn:ngsi-ld:AirQualityStation:W1"


def stored(db: Session, entity_id: str = W1) -> dict[str, object]:
    db.expire_all()
    entity = db.scalar(select(Entity).where(Entity.entity_id == entity_id))
    assert entity is not None
    return dict(entity.attributes)


def test_append_adds_and_overwrites_then_207_lists_what_was_refused(
    client: TestClient, db: Session, stations: list[str], writer: dict[str, str]
) -> None:
    url = f"{NGSI}/entities/{W1}/attrs"
    body = {"pm25": {"type": "Property", "value": 20.0, "observedAt": "2024-05-01T09:05:00Z"}}
    assert client.post(url, json=body, headers=writer).status_code == 204
    assert stored(db)["pm25"] == {
        "type": "Property",
        "value": 20.0,
        "unitCode": "GQ",
        "observedAt": "2024-05-01T09:05:00Z",
    }
    mixed = {
        "pm10": {"type": "Property", "value": 50.0, "observedAt": "2024-05-01T09:10:00Z"},
        "colour": {"type": "Property", "value": "red"},
        "no2": {"type": "Property", "value": 99},
    }
    partial = client.post(url, json=mixed, headers=writer)
    assert partial.status_code == 207, partial.text
    result = partial.json()
    assert result["updated"] == ["pm10"]
    assert {n["attributeName"] for n in result["notUpdated"]} == {"colour", "no2"}
    attributes = stored(db)
    assert attributes["pm10"]["value"] == 50.0  # type: ignore[index]
    assert "colour" not in attributes and "no2" not in attributes
    keep = client.post(
        url,
        params={"options": "noOverwrite"},
        json={"pm10": 1.0, "o3": 0.04},
        headers=writer,
    )
    assert keep.status_code == 207
    assert keep.json()["updated"] == ["o3"]
    assert keep.json()["notUpdated"][0]["attributeName"] == "pm10"
    assert stored(db)["pm10"]["value"] == 50.0  # type: ignore[index]
    missing = client.post(
        f"{NGSI}/entities/urn:ngsi-ld:AirQualityStation:none/attrs", json=body, headers=writer
    )
    assert missing.status_code == 404


def test_update_changes_only_existing_attributes(
    client: TestClient, db: Session, stations: list[str], writer: dict[str, str]
) -> None:
    url = f"{NGSI}/entities/{W1}/attrs"
    ok = client.patch(url, json={"pm10": {"type": "Property", "value": 61.0}}, headers=writer)
    assert ok.status_code == 204
    assert stored(db)["pm10"]["value"] == 61.0  # type: ignore[index]
    partial = client.patch(
        url, json={"pm10": {"type": "Property", "value": 62.0}, "pm25": 5.0}, headers=writer
    )
    assert partial.status_code == 207
    assert partial.json()["updated"] == ["pm10"]
    assert partial.json()["notUpdated"][0]["attributeName"] == "pm25"
    assert "pm25" not in stored(db)
    merge_patch = client.patch(
        url,
        content=b'{"pm10": 63}',
        headers={**writer, "Content-Type": "application/merge-patch+json"},
    )
    assert merge_patch.status_code == 204
    # Each numeric value also went to the history.
    assert count_points(db, "pm10") >= 2


def test_partial_attribute_update_and_delete(
    client: TestClient, db: Session, stations: list[str], writer: dict[str, str]
) -> None:
    url = f"{NGSI}/entities/{W1}/attrs/name"
    assert client.patch(url, json={"value": "Renamed"}, headers=writer).status_code == 204
    assert stored(db)["name"]["value"] == "Renamed"  # type: ignore[index]
    wrong_type = client.patch(
        url, json={"type": "Relationship", "object": "urn:x:1"}, headers=writer
    )
    assert wrong_type.status_code == 400
    bad_value = client.patch(
        f"{NGSI}/entities/{W1}/attrs/pm10", json={"value": "loud"}, headers=writer
    )
    assert bad_value.status_code == 400
    assert stored(db)["pm10"]["value"] == 35.0  # type: ignore[index]
    absent = client.patch(f"{NGSI}/entities/{W1}/attrs/o3", json={"value": 0.1}, headers=writer)
    assert absent.status_code == 404
    assert absent.json()["type"] == ERR + "ResourceNotFound"
    assert client.delete(url, headers=writer).status_code == 204
    assert "name" not in stored(db)
    assert client.delete(url, headers=writer).status_code == 404
    location = client.delete(f"{NGSI}/entities/{W1}/attrs/location", headers=writer)
    assert location.status_code == 204
    assert "location" not in client.get(f"{NGSI}/entities/{W1}").json()
