"""The packed history store: values per (entity, time) added attribute by attribute, exact floats
and times, roll-ups from the new values only, and a row that appears between the read and the
insert (another writer)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from citymeter.entities import history
from citymeter.entities.history import count_points, read_history, record_points
from citymeter.entities.models import AttributeRollup, Entity

T0 = dt.datetime(2024, 5, 1, 9, 0, 0, 1, tzinfo=dt.UTC)


@pytest.fixture
def entity(db: Session) -> Entity:
    row = Entity(entity_id="urn:ngsi-ld:AirQualityStation:h1", type="AirQualityStation")
    db.add(row)
    db.flush()
    return row


def rollups(db: Session, entity: Entity) -> list[tuple[Any, ...]]:
    r = AttributeRollup
    query = select(r.attr, r.grain, r.count, r.sum, r.min, r.max).where(r.entity_pk == entity.id)
    return sorted(tuple(row) for row in db.execute(query))


def test_points_are_idempotent_per_attribute_and_keep_every_digit(
    db: Session, entity: Entity
) -> None:
    seoul = dt.timezone(dt.timedelta(hours=9))
    first = record_points(db, [(entity.id, "pm10", T0, 0.1 + 0.2)])
    # The same instant in another zone; pm10 is kept as first stored, pm25 is added.
    second = record_points(
        db,
        [(entity.id, "pm10", T0.astimezone(seoul), 99.0), (entity.id, "pm25", T0, 1e-05)],
    )
    assert first == {(entity.id, "pm10", T0)}
    assert second == {(entity.id, "pm25", T0)}
    assert count_points(db) == 2
    points = read_history(db, entity, None)
    assert [(p.attr, p.at, p.value) for p in points] == [
        ("pm10", T0, 0.1 + 0.2),
        ("pm25", T0, 1e-05),
    ]
    assert rollups(db, entity) == [
        ("pm10", "day", 1, 0.1 + 0.2, 0.1 + 0.2, 0.1 + 0.2),
        ("pm10", "hour", 1, 0.1 + 0.2, 0.1 + 0.2, 0.1 + 0.2),
        ("pm25", "day", 1, 1e-05, 1e-05, 1e-05),
        ("pm25", "hour", 1, 1e-05, 1e-05, 1e-05),
    ]


def test_a_row_stored_meanwhile_is_merged_on_postgresql_and_refused_on_sqlite(
    db: Session, entity: Entity, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_points(db, [(entity.id, "pm10", T0, 10.0)])
    # As if another transaction stored the row after this one looked.
    monkeypatch.setattr(history, "_stored_rows", lambda *args, **kwargs: {})
    points = [(entity.id, "pm10", T0, 11.0), (entity.id, "pm25", T0, 5.0)]
    if backend == "sqlite":
        # SQLite: the look and the write are one snapshot, so this only happens by mistake.
        with pytest.raises(IntegrityError), db.begin_nested():
            record_points(db, points)
        return
    assert record_points(db, points) == {(entity.id, "pm25", T0)}
    assert [(p.attr, p.value) for p in read_history(db, entity, None)] == [
        ("pm10", 10.0),
        ("pm25", 5.0),
    ]
    assert [(a, g, c) for a, g, c, *_ in rollups(db, entity)] == [
        ("pm10", "day", 1),
        ("pm10", "hour", 1),
        ("pm25", "day", 1),
        ("pm25", "hour", 1),
    ]


def test_history_windows_and_last_n_read_the_packed_rows(db: Session, entity: Entity) -> None:
    record_points(
        db,
        [(entity.id, "pm10", T0 + dt.timedelta(minutes=m), float(m)) for m in range(0, 90, 10)]
        + [(entity.id, "pm25", T0 + dt.timedelta(minutes=m), -float(m)) for m in (0, 40)],
    )
    window = read_history(
        db, entity, "pm10", start=T0 + dt.timedelta(minutes=20), end=T0 + dt.timedelta(hours=1)
    )
    assert [p.value for p in window] == [20.0, 30.0, 40.0, 50.0]
    last = read_history(db, entity, None, last_n=2)
    assert [(p.attr, p.value) for p in last] == [
        ("pm10", 70.0),
        ("pm10", 80.0),
        ("pm25", 0.0),
        ("pm25", -40.0),
    ]
    hours = read_history(db, entity, "pm10", grain="hour")
    assert [(p.count, p.min, p.max) for p in hours] == [(6, 0.0, 50.0), (3, 60.0, 80.0)]
