"""A small city with observations stored through the observation service, for engine tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import pytest
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.observations import service as observations
from citymeter.observations.models import LoadBatch
from citymeter.places import service as places
from citymeter.places.models import Area, City

UNITS = {
    "working_age_population": "persons",
    "employed_persons": "persons",
    "labour_force": "persons",
    "unemployed_persons": "persons",
    "jobs_created": "jobs",
    "population": "persons",
    "resident_population": "persons",
    "mode_share": "%",
}
# metric, area code, grain, period start, sex, age band, value (dims optional as 8th)
Row = (
    tuple[str, str, str, dt.date, str, str, float]
    | tuple[str, str, str, dt.date, str, str, float, str]
)
Store = Callable[[Iterable[Row]], LoadBatch]


@pytest.fixture
def town(db: Session) -> City:
    """City `town` (area T) with districts T1 and T2 (T2 tiny) and a neighbourhood T1A."""
    city = places.create_city(db, SYSTEM_VIEWER, code="town", name="Town")
    root = places.add_area(db, None, city=city, code="T", level="city", name="Town")
    one = places.add_area(db, None, city=city, code="T1", level="district", name="One", parent=root)
    places.add_area(db, None, city=city, code="T2", level="district", name="Two", parent=root)
    places.add_area(db, None, city=city, code="T1A", level="neighbourhood", name="A", parent=one)
    return city


@pytest.fixture
def store(db: Session, town: City) -> Store:
    """Store rows as one load batch, as an import would."""

    def run(rows: Iterable[Row]) -> LoadBatch:
        areas = {a.code: a.id for a in db.query(Area).filter(Area.city_id == town.id)}
        batch = observations.open_batch(db, city_id=town.id, mapping_name="test")
        prepared = []
        for row in rows:
            metric, area, grain, start, sex, age, value = row[:7]
            dims = row[7] if len(row) > 7 else ""
            unit = UNITS[metric]
            metric_id = observations.ensure_metric(db, None, code=metric, name=metric, unit=unit).id
            prepared.append(
                observations.ObservationRow(
                    metric_id, areas[area], grain, start, value, unit, sex, age, dims
                )
            )
        stored = observations.store_observations(db, batch, prepared)
        observations.close_batch(db, batch, rows_read=len(prepared), stored=stored, rejected=0)
        return batch

    return run


def months(year: int, first: int = 1, last: int = 12) -> list[dt.date]:
    return [dt.date(year, m, 1) for m in range(first, last + 1)]


def labour_rows(
    area: str, month: dt.date, employed: float, working_age: float, sex: str = "total"
) -> list[Row]:
    return [
        ("employed_persons", area, "month", month, sex, "total", employed),
        ("working_age_population", area, "month", month, sex, "total", working_age),
    ]
