"""Temporal retrieval of one entity from its attribute history."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.ngsi.conftest import NGSI, WEST, SmallCity, station

ENTITY = "urn:ngsi-ld:AirQualityStation:T"


def _fill(client: TestClient, writer: dict[str, str]) -> list[float]:
    """pm10 at 09:00, 09:10 … 09:50 on 1 May 2024; returns the values."""
    assert (
        client.post(f"{NGSI}/entities", json=station("T", WEST, 10.0), headers=writer).status_code
        == 201
    )
    values = [10.0]
    for minute in range(10, 60, 10):
        value = 10.0 + minute
        body = {
            "pm10": {
                "type": "Property",
                "value": value,
                "observedAt": f"2024-05-01T09:{minute:02d}:00Z",
            }
        }
        response = client.patch(f"{NGSI}/entities/{ENTITY}/attrs", json=body, headers=writer)
        assert response.status_code == 204, response.text
        values.append(value)
    return values


def test_temporal_history_with_last_n_and_timerel(
    client: TestClient, small_city: SmallCity, writer: dict[str, str]
) -> None:
    values = _fill(client, writer)
    url = f"{NGSI}/temporal/entities/{ENTITY}"
    full = client.get(url).json()
    assert [i["value"] for i in full["pm10"]] == values
    assert full["pm10"][0] == {
        "type": "Property",
        "value": 10.0,
        "observedAt": "2024-05-01T09:00:00Z",
        "unitCode": "GQ",
    }
    last = client.get(url, params={"lastN": 2}).json()
    assert [i["value"] for i in last["pm10"]] == values[-2:]
    before = client.get(url, params={"timerel": "before", "timeAt": "2024-05-01T09:20:00Z"})
    assert [i["value"] for i in before.json()["pm10"]] == values[:2]
    after = client.get(url, params={"timerel": "after", "timeAt": "2024-05-01T09:30:00Z"})
    assert [i["value"] for i in after.json()["pm10"]] == values[4:]
    between = client.get(
        url,
        params={
            "timerel": "between",
            "timeAt": "2024-05-01T09:10:00Z",
            "endTimeAt": "2024-05-01T09:30:00Z",
            "options": "temporalValues",
        },
    )
    assert between.json()["pm10"] == {
        "type": "Property",
        "values": [[20.0, "2024-05-01T09:10:00Z"], [30.0, "2024-05-01T09:20:00Z"]],
    }
    assert "pm10" not in client.get(url, params={"attrs": "pm25"}).json()


def test_temporal_errors(client: TestClient, small_city: SmallCity, writer: dict[str, str]) -> None:
    _fill(client, writer)
    url = f"{NGSI}/temporal/entities/{ENTITY}"
    cases: list[dict[str, Any]] = [
        {"timerel": "before"},
        {"timerel": "between", "timeAt": "2024-05-01T09:10:00Z"},
        {"timerel": "during", "timeAt": "2024-05-01T09:10:00Z"},
        {"timerel": "after", "timeAt": "2024-05-01T09:10:00"},
        {"lastN": 0},
        {"timeAt": "2024-05-01T09:10:00Z"},
    ]
    for params in cases:
        response = client.get(url, params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["type"].endswith("/BadRequestData")
    missing = client.get(f"{NGSI}/temporal/entities/urn:ngsi-ld:AirQualityStation:none")
    assert missing.status_code == 404
