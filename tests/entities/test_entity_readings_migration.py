"""Migration 0006 on a store with history: the upgrade packs the points one row per (entity,
time) and keeps every value to the last digit; the downgrade gives back the same points."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from citymeter.db import migrate
from citymeter.db.base import UTCDateTime
from citymeter.db.engine import make_engine
from citymeter.entities.history import count_points, read_history
from citymeter.entities.models import Entity

BEFORE = "0005"
T0 = dt.datetime(2024, 5, 1, 9, 0, 0, 123456, tzinfo=dt.UTC)
# (entity index, attr, seconds after T0, value): two attributes share a time, one a neighbour's.
POINTS = [
    (0, "pm10", 0, 0.1 + 0.2),
    (0, "pm25", 0, 12.0),
    (0, "pm10", 60, 1e-05),
    (0, "pm10", 3600, -3.25),
    (1, "pm10", 0, 123456.789012345),
]
OLD_POINTS = sa.table(
    "entity_attribute_point",
    sa.column("entity_pk", sa.Integer()),
    sa.column("attr", sa.String()),
    sa.column("observed_at", UTCDateTime(timezone=True)),
    sa.column("value", sa.Float()),
)


def _expected(pks: list[int]) -> set[tuple[int, str, dt.datetime, float]]:
    return {(pks[i], a, T0 + dt.timedelta(seconds=s), v) for i, a, s, v in POINTS}


@pytest.fixture
def old_store(database_url: str) -> Iterator[tuple[Engine, list[int]]]:
    """A store at 0005 holding points in the one-row-per-value layout."""
    engine = make_engine(database_url)
    migrate.downgrade(engine, BEFORE)
    with Session(engine) as session, session.begin():
        entities = [Entity(entity_id=f"urn:ngsi-ld:X:{i}", type="X") for i in range(2)]
        session.add_all(entities)
        session.flush()
        pks = [e.id for e in entities]
        session.execute(
            OLD_POINTS.insert(),
            [
                {"entity_pk": pk, "attr": a, "observed_at": t, "value": v}
                for pk, a, t, v in _expected(pks)
            ],
        )
    yield engine, pks
    engine.dispose()


def test_upgrade_packs_every_value_and_downgrade_gives_them_back(
    old_store: tuple[Engine, list[int]],
) -> None:
    engine, pks = old_store
    migrate.upgrade(engine)
    with Session(engine) as session:
        assert count_points(session) == len(POINTS)
        read = set()
        for pk in pks:
            entity = session.get(Entity, pk)
            assert entity is not None
            read |= {(pk, p.attr, p.at, p.value) for p in read_history(session, entity, None)}
    assert read == _expected(pks)

    migrate.downgrade(engine, BEFORE)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                OLD_POINTS.c.entity_pk,
                OLD_POINTS.c.attr,
                OLD_POINTS.c.observed_at,
                OLD_POINTS.c.value,
            )
        )
        assert {tuple(row) for row in rows} == _expected(pks)
    migrate.upgrade(engine)
