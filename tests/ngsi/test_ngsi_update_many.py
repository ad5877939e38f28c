"""Updates stored together (`update_attributes_many`) give each update the answer, the stored
state and the history that `write_attributes` gives it alone, in order."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER, SYSTEM_VIEWER, Viewer
from citymeter.entities import service as entities
from citymeter.entities.ingest import entity_event
from citymeter.entities.models import Entity
from citymeter.ngsi import service
from citymeter.ngsi.errors import NgsiError

from .conftest import EAST, WEST_2, SmallCity

W1 = "urn:ngsi-ld:AirQualityStation:W1"
W2 = "urn:ngsi-ld:AirQualityStation:W2"
E1 = "urn:ngsi-ld:AirQualityStation:E1"
STEWARD = Viewer(user_id=1, username="steward", role="data_steward")


def _pm10(value: Any, minute: int) -> dict[str, dict[str, Any]]:
    at = f"2024-05-01T10:{minute:02d}:00Z"
    return {"pm10": {"type": "Property", "value": value, "observedAt": at}}


def _where(point: tuple[float, float]) -> dict[str, dict[str, Any]]:
    return {"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": point}}}


UPDATES: list[tuple[str, dict[str, dict[str, Any]]]] = [
    (W1, _pm10(40.0, 1)),
    (W1, _pm10(41.0, 2)),  # the same entity again: applied after the first
    (E1, {**_pm10(42.0, 3), "colour": {"type": "Property", "value": "red"}}),  # 207
    (E1, {"no2": {"type": "Property", "value": 0.02}}),  # the entity has no no2: 207
    ("urn:ngsi-ld:AirQualityStation:nowhere", _pm10(1.0, 4)),  # 404
    (W2, {}),  # 400
    (W2, {**_pm10(43.0, 5), **_where(EAST)}),  # location: resolved, in a savepoint
    (W2, _pm10(44.0, 6)),  # after the location update
    (W1, {**_pm10(45.0, 7), **_where((10.0, 10.0))}),  # outside the city: 400, nothing stored
    (W1, _pm10("high", 8)),  # not a number: 207
]


def _outcome(answer: service.UpdateResult | NgsiError) -> Any:
    if isinstance(answer, NgsiError):
        return answer.problem()
    return (answer.updated, answer.not_updated)


def _state(db: Session, entity_ids: list[str]) -> Any:
    db.flush()
    db.expire_all()
    # As stored, to the character: the SQLite path writes the columns on the driver's cursor.
    raw = db.execute(
        text("SELECT entity_id, attributes, observed_at FROM entity ORDER BY entity_id")
    ).all()
    rows = db.scalars(select(Entity).where(Entity.entity_id.in_(entity_ids)))
    out = {}
    for row in rows:
        history = entities.entity_history(db, row.entity_id, "pm10", viewer=SYSTEM_VIEWER)
        places = (row.location, row.lat, row.lon, row.area_id, row.district_id)
        out[row.entity_id] = (row.attributes, row.observed_at, places, history)
    return out, [tuple(r) for r in raw]


def test_updates_together_equal_updates_one_by_one(
    client: TestClient, db: Session, stations: list[str]
) -> None:
    alone = db.begin_nested()
    one_by_one = []
    for entity_id, attrs in UPDATES:
        try:
            with db.begin_nested():
                answer: Any = service.write_attributes(db, STEWARD, entity_id, attrs, mode="update")
        except NgsiError as exc:
            answer = exc
        one_by_one.append(_outcome(answer))
    expected = _state(db, stations)
    alone.rollback()
    db.expire_all()
    pending = [service.PendingUpdate(STEWARD, entity_id, attrs) for entity_id, attrs in UPDATES]
    together = [_outcome(a) for a in service.update_attributes_many(db, pending)]
    assert together == one_by_one
    assert [type(a).__name__ for a in service.update_attributes_many(db, [])] == []
    assert _state(db, stations) == expected
    rows = expected[0]
    assert rows[W2][2][0] == {"type": "Point", "coordinates": list(EAST)}
    assert rows[W1][0]["pm10"]["value"] == 41.0


def test_a_row_loaded_before_shows_the_stored_values(
    client: TestClient, db: Session, stations: list[str]
) -> None:
    row = db.scalar(select(Entity).where(Entity.entity_id == W1))
    assert row is not None
    service.update_attributes_many(db, [service.PendingUpdate(STEWARD, W1, _pm10(77.0, 9))])
    assert row.attributes["pm10"]["value"] == 77.0
    assert row.attributes["pm10"]["observedAt"] == "2024-05-01T10:09:00Z"


def test_the_live_event_is_the_one_the_orm_row_gives(
    client: TestClient, db: Session, stations: list[str]
) -> None:
    service.update_attributes_many(db, [service.PendingUpdate(STEWARD, W2, _where(WEST_2))])
    state = entities.load_states(db, [W2])[W2]
    done = entities.update_state(
        state, _pm10(12.0, 10), viewer=STEWARD, now=dt.datetime.now(dt.UTC)
    )
    entities.store_states(db, [state], [done])
    row = db.scalar(select(Entity).where(Entity.entity_id == W2))
    assert row is not None
    assert done.event == entity_event(row, {"pm10": 12.0})


@pytest.mark.parametrize("who", ["public", "system", "west head", "east head", "steward"])
def test_may_see_agrees_with_visible_to(
    client: TestClient, db: Session, stations: list[str], small_city: SmallCity, who: str
) -> None:
    viewer = {
        "public": PUBLIC_VIEWER,
        "system": SYSTEM_VIEWER,
        "west head": Viewer(2, "w", "district_head", district_id=small_city.west.id),
        "east head": Viewer(3, "e", "district_head", district_id=small_city.east.id),
        "steward": STEWARD,
    }[who]
    for index, entity in enumerate(db.scalars(select(Entity).order_by(Entity.entity_id))):
        entity.visibility = "internal" if index % 2 else "public"
    db.flush()
    seen = set(db.scalars(select(Entity.entity_id).where(entities.visible_to(viewer))))
    by_rows = {
        e.entity_id
        for e in db.scalars(select(Entity))
        if entities.may_see(viewer, e.visibility, e.district_id)
    }
    assert by_rows == seen
    assert 0 < len(seen) <= len(stations)
