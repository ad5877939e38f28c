"""Migration 0005 on a store with observations: the upgrade moves periods and breakdowns into
their tables and keeps every row; the downgrade puts the old columns back, row for row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.db import migrate
from citymeter.db.engine import make_engine
from citymeter.observations import batches, service
from citymeter.observations.models import Breakdown, LoadBatch, ObservationPeriod
from citymeter.places import service as places

BEFORE = "0004"
OLD_COLUMNS = (
    "id, metric_id, area_id, grain, period_start, sex, age_band, dims, value, unit, source_id, "
    "batch_id, previous_value, previous_batch_id"
)
# (area index, grain, period start, sex, age band, dims, value, previous value): a month and a
# year starting on the same day are two periods; the last row was replaced by the second batch.
ROWS = [
    (0, "month", "2024-01-01", "total", "total", "", 10.0, None),
    (1, "month", "2024-01-01", "total", "total", "", 11.0, None),
    (0, "month", "2024-02-01", "male", "0-4", "", 3.0, None),
    (0, "year", "2024-01-01", "total", "total", "source=survey", 9.0, 7.0),
]


@pytest.fixture
def old_store(database_url: str) -> Iterator[Engine]:
    """A store at the revision before 0005 holding observations in the old layout."""
    engine = make_engine(database_url)
    migrate.downgrade(engine, BEFORE)
    with Session(engine) as session, session.begin():
        city = places.create_city(session, SYSTEM_VIEWER, code="old", name="Old")
        areas = [
            places.add_area(session, None, city=city, code=f"A{i}", level="district", name="A")
            for i in range(2)
        ]
        metric = service.ensure_metric(session, None, code="people", name="People", unit="p")
        first, second = service.open_batch(session), service.open_batch(session)
        for area, grain, start, sex, age, dims, value, previous in ROWS:
            replaced = previous is not None
            session.execute(
                text(
                    "INSERT INTO observation (metric_id, area_id, grain, period_start, sex, "
                    "age_band, dims, value, unit, batch_id, previous_value, previous_batch_id) "
                    "VALUES (:m, :a, :g, :p, :s, :b, :d, :v, 'p', :batch, :pv, :pb)"
                ),
                {
                    "m": metric.id, "a": areas[area].id, "g": grain, "p": start, "s": sex,
                    "b": age, "d": dims, "v": value, "batch": second.id if replaced else first.id,
                    "pv": previous, "pb": first.id if replaced else None,
                },
            )  # fmt: skip
        service.close_batch(session, second, rows_read=1, stored=1, rejected=0)
    yield engine
    engine.dispose()


def _old_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        query = f"SELECT {OLD_COLUMNS} FROM observation ORDER BY id"
        return [tuple(row) for row in connection.execute(text(query))]


def _keyed_rows(engine: Engine) -> list[tuple[Any, ...]]:
    """The new layout read back through its key tables, in the old columns."""
    with engine.connect() as connection:
        query = (
            "SELECT o.id, o.metric_id, o.area_id, p.grain, p.period_start, b.sex, b.age_band, "
            "b.dims, o.value, o.unit, o.source_id, o.batch_id, o.previous_value, "
            "o.previous_batch_id FROM observation o "
            "JOIN observation_period p ON p.id = o.period_id "
            "JOIN observation_breakdown b ON b.id = o.breakdown_id ORDER BY o.id"
        )
        return [tuple(row) for row in connection.execute(text(query))]


def test_upgrade_moves_periods_and_breakdowns_and_keeps_every_row(old_store: Engine) -> None:
    before = _old_rows(old_store)
    assert len(before) == len(ROWS)
    migrate.upgrade(old_store)
    assert migrate.pending_model_changes(old_store) == []
    assert _keyed_rows(old_store) == before
    with Session(old_store) as session:
        periods = session.execute(select(ObservationPeriod.grain, ObservationPeriod.period_start))
        assert sorted((g, str(p)) for g, p in periods) == [
            ("month", "2024-01-01"),
            ("month", "2024-02-01"),
            ("year", "2024-01-01"),
        ]
        assert session.scalar(select(func.count()).select_from(Breakdown)) == 3
        views, total = service.query_observations(session, SYSTEM_VIEWER, grain="month")
        assert total == 3
        assert [(v.area_code, str(v.period_start), v.sex, v.age_band, v.value) for v in views] == [
            ("A0", "2024-01-01", "total", "total", 10.0),
            ("A0", "2024-02-01", "male", "0-4", 3.0),
            ("A1", "2024-01-01", "total", "total", 11.0),
        ]


def test_a_batch_replaced_before_the_upgrade_can_be_undone_after_it(old_store: Engine) -> None:
    migrate.upgrade(old_store)
    with Session(old_store) as session, session.begin():
        replacing = session.scalar(select(func.max(LoadBatch.id)))
        assert replacing is not None
        assert batches.undo_batch(session, SYSTEM_VIEWER, replacing)["restored"] == 1
    with Session(old_store) as session:
        views, _ = service.query_observations(session, SYSTEM_VIEWER, grain="year")
        assert [(v.dims, v.value) for v in views] == [("source=survey", 7.0)]


def test_downgrade_puts_the_old_columns_back(old_store: Engine) -> None:
    before = _old_rows(old_store)
    migrate.upgrade(old_store)
    migrate.downgrade(old_store, BEFORE)
    assert _old_rows(old_store) == before
    with old_store.connect() as connection:
        # The key tables are gone, and the old unique key refuses a duplicate again.
        for table in ("observation_period", "observation_breakdown"):
            assert not old_store.dialect.has_table(connection, table)
    duplicate = dict(zip(OLD_COLUMNS.split(", "), before[0], strict=True))
    duplicate.pop("id")
    with pytest.raises(IntegrityError, match=r"(?i)unique"), old_store.begin() as connection:
        names = ", ".join(duplicate)
        values = ", ".join(f":{name}" for name in duplicate)
        connection.execute(text(f"INSERT INTO observation ({names}) VALUES ({values})"), duplicate)
