"""The period and breakdown tables: each key stored once, however often and by whom it is asked
for, and imports that share their periods and breakdowns."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.db.engine import WRITE_INTENT, make_engine
from citymeter.observations import keys, service
from citymeter.observations.keys import BreakdownKey, PeriodKey
from citymeter.observations.models import Breakdown, Observation, ObservationPeriod
from citymeter.places.models import City

from .conftest import MakeCity

JANUARY = PeriodKey("month", dt.date(2024, 1, 1))
FEBRUARY = PeriodKey("month", dt.date(2024, 2, 1))
WHOLE = BreakdownKey("total", "total", "")
BOYS = BreakdownKey("male", "0-4", "")


def _count(db: Session, model: type[ObservationPeriod] | type[Breakdown]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_a_period_asked_for_twice_is_stored_once(db: Session) -> None:
    first = keys.period_ids(db.connection(), [JANUARY, FEBRUARY, JANUARY])
    assert first[0] == first[2] != first[1]
    again = keys.period_ids(db.connection(), [FEBRUARY, JANUARY])
    assert again == [first[1], first[0]]
    assert _count(db, ObservationPeriod) == 2
    # The same day at another grain is another period.
    [year] = keys.period_ids(db.connection(), [PeriodKey("year", dt.date(2024, 1, 1))])
    assert year not in first


def test_a_breakdown_asked_for_twice_is_stored_once(db: Session) -> None:
    first = keys.breakdown_ids(db.connection(), [WHOLE, BOYS, BOYS, WHOLE])
    assert first[0] == first[3] != first[1] == first[2]
    assert keys.breakdown_ids(db.connection(), [BOYS]) == [first[1]]
    assert _count(db, Breakdown) == 2
    assert keys.breakdown_ids(db.connection(), []) == []


def test_two_writers_adding_the_same_period_at_once_share_one_row(database_url: str) -> None:
    engine = make_engine(database_url)
    found: list[int] = []

    def second_writer() -> None:
        with engine.connect().execution_options(**WRITE_INTENT) as other, other.begin():
            found.extend(keys.period_ids(other, [JANUARY]))

    with engine.connect().execution_options(**WRITE_INTENT) as first:
        transaction = first.begin()
        [mine] = keys.period_ids(first, [JANUARY])
        writer = threading.Thread(target=second_writer)
        writer.start()
        writer.join(0.5)
        # It waits for the first transaction: PostgreSQL on the unique key, SQLite on the lock.
        assert writer.is_alive() and not found
        transaction.commit()
    writer.join(20)
    assert found == [mine]
    with Session(engine) as session:
        assert _count(session, ObservationPeriod) == 1
    engine.dispose()


def _store(db: Session, city: City, value: float) -> int:
    area = city.areas[0]
    metric = service.ensure_metric(db, None, code="people", name="People", unit="persons")
    batch = service.open_batch(db, city_id=city.id)
    rows = [
        service.ObservationRow(metric.id, area.id, "month", JANUARY.start, value, "persons"),
        service.ObservationRow(
            metric.id, area.id, "month", FEBRUARY.start, value, "persons", "male", "0-4"
        ),
    ]
    return service.store_observations(db, batch, rows)


def test_loads_share_periods_and_breakdowns(db: Session, make_city: MakeCity) -> None:
    city = make_city("keys", "K0", {"K1": "One"})
    assert _store(db, city, 5.0) == 2
    assert _store(db, city, 5.0) == 0  # the same rows again: nothing written
    assert _store(db, city, 6.0) == 2
    assert (_count(db, ObservationPeriod), _count(db, Breakdown)) == (2, 2)
    assert db.scalar(select(func.count()).select_from(Observation)) == 2
