"""An attribute write stores the entity's new state with one UPDATE (outside a savepoint): the
loaded row shows it at once, and a rollback leaves the row as the database has it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.entities import service
from citymeter.entities.ingest import ingest_readings
from citymeter.entities.models import Entity
from tests.entities.conftest import SmallCity

T0 = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)
ENTITY = "urn:ngsi-ld:AirQualityStation:s1"


def _seed(db: Session) -> None:
    first = {"type": "AirQualityStation", "id": "s1", "observed_at": T0.isoformat()}
    result = ingest_readings(db, [{**first, "attrs": {"pm10": 10.0}}])
    assert not result.refused
    db.commit()


def _pm10(value: float, minutes: int) -> dict[str, object]:
    at = (T0 + dt.timedelta(minutes=minutes)).isoformat()
    return {"pm10": {"type": "Property", "value": value, "observedAt": at}}


def _stored_pm10(db: Session) -> object:
    db.expire_all()
    row = db.scalar(select(Entity).where(Entity.entity_id == ENTITY))
    assert row is not None
    return row.attributes["pm10"]["value"]


def test_the_loaded_row_shows_the_write_and_the_database_has_it(
    db: Session, small_city: SmallCity
) -> None:
    _seed(db)
    entity = service.get_entity(db, ENTITY)
    service.write_attrs(db, entity, _pm10(50.0, 5), viewer=SYSTEM_VIEWER, mode="update")
    assert entity.attributes["pm10"]["value"] == 50.0
    assert entity.observed_at == T0 + dt.timedelta(minutes=5)
    assert not db.dirty  # nothing left for the unit of work
    db.commit()
    assert _stored_pm10(db) == 50.0


def test_a_rolled_back_write_leaves_the_stored_state(db: Session, small_city: SmallCity) -> None:
    _seed(db)
    entity = service.get_entity(db, ENTITY)
    service.write_attrs(db, entity, _pm10(50.0, 5), viewer=SYSTEM_VIEWER, mode="update")
    db.rollback()
    assert entity.attributes["pm10"]["value"] == 10.0  # expired by the rollback, read again
    assert _stored_pm10(db) == 10.0


def test_a_write_in_a_rolled_back_savepoint_leaves_the_stored_state(
    db: Session, small_city: SmallCity
) -> None:
    _seed(db)
    entity = service.get_entity(db, ENTITY)
    with pytest.raises(RuntimeError), db.begin_nested():
        service.write_attrs(db, entity, _pm10(50.0, 5), viewer=SYSTEM_VIEWER, mode="update")
        raise RuntimeError("undo this savepoint")
    assert entity.attributes["pm10"]["value"] == 10.0
    assert _stored_pm10(db) == 10.0
