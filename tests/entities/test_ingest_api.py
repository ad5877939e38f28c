"""HTTP push of readings, the entity API and the dead letters, through the app."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.entities.history import count_points
from citymeter.entities.models import DeadLetter, Entity
from citymeter.sources.models import Source
from tests.entities.conftest import EAST_POINT, OUTSIDE_POINT, WEST_POINT, SmallCity

URL = "/api/v1/ingest/readings"
T0 = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)


def token(db: Session, role: str) -> dict[str, str]:
    accounts.create_user(db, SYSTEM_VIEWER, username=f"ing-{role}", role=role, password=None)
    _row, secret = accounts.create_token(db, SYSTEM_VIEWER, f"ing-{role}", "ingest tests")
    return {"Authorization": f"Bearer {secret}"}


def reading(local_id: str = "s1", minutes: int = 0, **attrs: Any) -> dict[str, Any]:
    return {
        "type": "AirQualityStation",
        "id": local_id,
        "observed_at": (T0 + dt.timedelta(minutes=minutes)).isoformat(),
        "attrs": attrs or {"pm10": 40.0},
        "location": WEST_POINT,
    }


def counts(db: Session) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count(Entity.id))) or 0,
        count_points(db),
        db.scalar(select(func.count(DeadLetter.id))) or 0,
    )


def test_push_stores_a_batch_and_is_idempotent(
    client: TestClient, db: Session, small_city: SmallCity
) -> None:
    auth = token(db, "data_steward")
    batch = {"readings": [reading(minutes=m) for m in (0, 10)] + [reading("s2")]}
    first = client.post(URL, json=batch, headers=auth)
    assert first.status_code == 200, first.text
    assert first.json() | {"entity_ids": None} == {
        "accepted": 3,
        "duplicates": 0,
        "rejected": 0,
        "dead_letter_ids": [],
        "entity_ids": None,
        "errors": [],
    }
    again = client.post(URL, json=batch, headers=auth).json()
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    assert counts(db) == (2, 3, 0)


def test_a_source_code_marks_the_entities(
    client: TestClient, db: Session, small_city: SmallCity
) -> None:
    db.add(Source(code="aq-net", name="Air network", kind="http_push", visibility="internal"))
    db.flush()
    auth = token(db, "admin")
    answer = client.post(URL, json={"source": "aq-net", "readings": [reading()]}, headers=auth)
    assert answer.status_code == 200
    entity = db.scalar(select(Entity))
    assert entity is not None and entity.visibility == "internal"
    assert client.get("/api/v1/entities").json()["total"] == 0  # the public does not see it
    assert client.get("/api/v1/entities", headers=auth).json()["total"] == 1


def test_refused_batch_lists_every_bad_reading(
    client: TestClient, db: Session, small_city: SmallCity
) -> None:
    auth = token(db, "data_steward")
    batch = {
        "readings": [
            reading(),
            {**reading(), "location": OUTSIDE_POINT},
            reading(pm10="lots"),
            {**reading(), "observed_at": "2024-05-01T09:00:00"},
        ]
    }
    answer = client.post(URL, json=batch, headers=auth)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert [e["index"] for e in body["errors"]] == [1, 2, 3]
    assert "outside Testville" in body["errors"][0]["reason"]
    assert len(body["dead_letter_ids"]) == 3
    assert body["rejected"] == 4
    assert counts(db) == (0, 0, 3)  # only the dead letters, kept although the batch was refused


def test_malformed_json_is_a_400_problem_and_a_dead_letter(
    client: TestClient, db: Session, small_city: SmallCity
) -> None:
    auth = token(db, "data_steward") | {"content-type": "application/json"}
    answer = client.post(URL, content=b'{"readings": [', headers=auth)
    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["detail"]
    letter = db.scalar(select(DeadLetter))
    assert letter is not None and letter.payload == '{"readings": ['
    wrong_shape = client.post(URL, content=json.dumps([reading()]), headers=auth)
    assert wrong_shape.status_code == 400
    unknown_source = client.post(URL, json={"source": "nope", "readings": []}, headers=auth)
    assert unknown_source.status_code == 400
    assert counts(db) == (0, 0, 3)


def test_json_the_fast_parser_refuses_is_read_as_the_standard_library_reads_it(
    client: TestClient, db: Session, small_city: SmallCity
) -> None:
    # NaN is not JSON to orjson but is to json.loads: the reading is refused for its value (422,
    # a dead letter naming the reading), not the whole body as malformed (400).
    auth = token(db, "data_steward") | {"content-type": "application/json"}
    body = json.dumps({"readings": [reading(), reading("s2", pm10=float("nan"))]})
    assert "NaN" in body
    answer = client.post(URL, content=body, headers=auth)
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert [e["index"] for e in errors] == [1]
    assert "pm10" in errors[0]["reason"]
    assert counts(db) == (0, 0, 1)


def test_oversized_body_is_refused_with_413(
    client: TestClient, db: Session, small_city: SmallCity
) -> None:
    auth = token(db, "data_steward")
    huge = {"readings": [reading(minutes=i) for i in range(12_000)]}  # > 1 MB test limit
    answer = client.post(URL, json=huge, headers=auth)
    assert answer.status_code == 413
    assert counts(db) == (0, 0, 0)


def test_wrong_or_missing_token_or_role_is_refused(
    client: TestClient, db: Session, small_city: SmallCity
) -> None:
    body = {"readings": [reading()]}
    assert client.post(URL, json=body).status_code == 401
    assert client.post(URL, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post(URL, json=body, headers=token(db, "mayor")).status_code == 403
    assert client.get("/api/v1/dead-letters").status_code == 401
    assert counts(db) == (0, 0, 0)


def test_entities_their_history_and_dead_letters_are_readable(
    client: TestClient, db: Session, small_city: SmallCity
) -> None:
    auth = token(db, "data_steward")
    readings = [reading(minutes=m, pm10=float(m)) for m in (0, 30, 60)]
    readings.append({**reading("e1"), "location": EAST_POINT})
    assert client.post(URL, json={"readings": readings}, headers=auth).status_code == 200
    listed = client.get("/api/v1/entities", params={"type": "AirQualityStation", "district": "E"})
    assert [e["entity_id"] for e in listed.json()["items"]] == ["urn:ngsi-ld:AirQualityStation:e1"]
    entity_id = "urn:ngsi-ld:AirQualityStation:s1"
    shown = client.get(f"/api/v1/entities/{entity_id}").json()
    assert shown["attributes"]["pm10"]["value"] == 60.0
    assert shown["district_id"] == small_city.west.id
    hourly = client.get(
        f"/api/v1/entities/{entity_id}/history", params={"attr": "pm10", "grain": "hour"}
    ).json()
    assert [(p["count"], p["value"]) for p in hourly["points"]] == [(2, 15.0), (1, 60.0)]
    window = client.get(
        f"/api/v1/entities/{entity_id}/history",
        params={"attr": "pm10", "from": "2024-05-01T09:10:00Z", "to": "2024-05-01T10:00:00Z"},
    ).json()
    assert [p["value"] for p in window["points"]] == [30.0]
    assert client.get("/api/v1/entities/urn:ngsi-ld:X:none").status_code == 404
    bad_attr = client.get(f"/api/v1/entities/{entity_id}/history", params={"attr": "speed"})
    assert bad_attr.status_code == 422
    client.post(URL, json={"readings": [reading(pm10=-1.0)]}, headers=auth)
    letters = client.get("/api/v1/dead-letters", headers=auth).json()
    assert letters["total"] == 1 and "below its allowed minimum" in letters["items"][0]["reason"]


def test_a_push_feeds_its_source_health(
    client: TestClient, db: Session, small_city: SmallCity
) -> None:
    from citymeter.sources.models import SourceDay

    source = Source(code="aq-push", name="Air push", kind="http_push", expected_interval_s=300)
    db.add(source)
    db.flush()
    auth = token(db, "admin")
    ok = client.post(URL, json={"source": "aq-push", "readings": [reading()]}, headers=auth)
    assert ok.status_code == 200
    db.refresh(source)
    assert source.last_success_at is not None and source.last_error is None
    bad = dict(reading(), attrs={"no_such_attribute": 1})
    refused = client.post(URL, json={"source": "aq-push", "readings": [bad]}, headers=auth)
    assert refused.status_code == 422
    db.refresh(source)
    assert source.last_error is not None and source.last_error.startswith("batch refused")
    days = db.scalars(select(SourceDay).where(SourceDay.source_id == source.id)).all()
    assert sum(d.records_in for d in days) == 2
    assert sum(d.accepted for d in days) == 1
    assert sum(d.rejected for d in days) == 1
