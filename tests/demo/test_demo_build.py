"""Building the demo city through the real services, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.models import ROLES, User
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.demo import build
from citymeter.demo.statistics import AGE_BANDS
from citymeter.errors import Conflict, InvalidInput
from citymeter.observations.keys import with_keys
from citymeter.observations.models import (
    Breakdown,
    LoadBatch,
    Metric,
    Observation,
    ObservationPeriod,
)
from citymeter.places.models import Area, City

END = dt.date(2026, 10, 1)
SMALL = {"seed": 11, "end": END, "months": 14, "districts": 4, "neighbourhoods": 12}


def _value(
    session: Session,
    metric: str,
    area: Area,
    month: dt.date,
    sex: str = "total",
    age: str = "total",
) -> float:
    value = session.scalar(
        with_keys(select(Observation.value))
        .join(Metric, Metric.id == Observation.metric_id)
        .where(
            Metric.code == metric,
            Observation.area_id == area.id,
            ObservationPeriod.period_start == month,
            Breakdown.sex == sex,
            Breakdown.age_band == age,
        )
    )
    assert value is not None, (metric, area.code, month, sex, age)
    return value


def _areas(session: Session, level: str) -> list[Area]:
    return list(session.scalars(select(Area).where(Area.level == level).order_by(Area.code)))


def test_a_small_build_stores_a_consistent_city(db: Session) -> None:
    made = build.build_demo_city(db, SYSTEM_VIEWER, **SMALL)  # type: ignore[arg-type]
    assert (made.districts, made.neighbourhoods) == (4, 12)
    assert (made.first_month, made.last_month) == (dt.date(2025, 9, 1), END)
    city = db.scalar(select(City).where(City.code == "9900000000"))
    assert city is not None and city.names["en"] == "Hanbit Metropolitan City"
    [root] = _areas(db, "city")
    districts, neighbourhoods = _areas(db, "district"), _areas(db, "neighbourhood")
    assert root.boundary and all(a.boundary for a in districts + neighbourhoods)
    assert {d.parent_id for d in districts} == {root.id}
    # Area.population: the city is the sum of its districts, each the sum of its neighbourhoods.
    assert root.population == sum(d.population or 0 for d in districts)
    for district in districts:
        children = [n for n in neighbourhoods if n.parent_id == district.id]
        assert children and district.population == sum(n.population or 0 for n in children)
    # The observations agree with Area.population and add up by sex and by age.
    assert _value(db, "population", root, END) == root.population
    for area in (root, districts[0], neighbourhoods[0]):
        total = _value(db, "population", area, END)
        by_sex = _value(db, "population", area, END, "male") + _value(
            db, "population", area, END, "female"
        )
        by_age = sum(_value(db, "population", area, END, "total", band) for band in AGE_BANDS)
        assert total == by_sex == by_age
    # A year earlier is there too, for year-on-year change.
    assert _value(db, "population", neighbourhoods[0], dt.date(2025, 10, 1)) > 0
    for metric in ("employed_persons", "jobs_created", "public_rental_housing_supplied"):
        city_value = _value(db, metric, root, END)
        assert city_value == sum(_value(db, metric, d, END) for d in districts)
    employed = _value(db, "employed_persons", root, END)
    labour = _value(db, "labour_force", root, END)
    assert labour == employed + _value(db, "unemployed_persons", root, END)
    # One batch holds everything it says it stored.
    batch = db.get(LoadBatch, made.batch_id)
    assert batch is not None and batch.status == "done" and batch.city_id == city.id
    held = db.scalar(
        select(func.count()).select_from(Observation).where(Observation.batch_id == batch.id)
    )
    assert held == batch.stored == batch.rows_read == made.rows_stored


def test_building_twice_is_refused_and_changes_nothing(db: Session) -> None:
    build.build_demo_city(db, SYSTEM_VIEWER, **SMALL)  # type: ignore[arg-type]
    before = db.scalar(select(func.count()).select_from(Observation))
    with pytest.raises(Conflict, match="--reset"):
        build.build_demo_city(db, SYSTEM_VIEWER, **SMALL)  # type: ignore[arg-type]
    assert db.scalar(select(func.count()).select_from(Observation)) == before


def test_too_few_months_is_refused_before_anything_is_stored(db: Session) -> None:
    with pytest.raises(InvalidInput, match="13 months"):
        build.build_demo_city(db, SYSTEM_VIEWER, **{**SMALL, "months": 6})  # type: ignore[arg-type]
    assert build.demo_city(db) is None


def test_reset_rebuilds_the_same_numbers_and_repoints_the_accounts(db: Session) -> None:
    first = build.build_demo_city(db, SYSTEM_VIEWER, **SMALL)  # type: ignore[arg-type]
    city = build.demo_city(db)
    assert city is not None
    build.ensure_demo_accounts(db, SYSTEM_VIEWER, city)
    assert build.remove_demo_city(db, SYSTEM_VIEWER)
    assert build.demo_city(db) is None
    assert db.scalar(select(func.count()).select_from(Area)) == 0
    second = build.build_demo_city(db, SYSTEM_VIEWER, **SMALL)  # type: ignore[arg-type]
    assert second.rows_stored == first.rows_stored
    assert second.figures == first.figures
    city = build.demo_city(db)
    assert city is not None
    build.ensure_demo_accounts(db, SYSTEM_VIEWER, city, refresh=True)
    head = db.scalar(select(User).where(User.role == "district_head"))
    assert head is not None and head.district_id == _areas(db, "district")[0].id


def test_demo_accounts_cover_every_role_and_log_in(db: Session) -> None:
    build.build_demo_city(db, SYSTEM_VIEWER, **SMALL)  # type: ignore[arg-type]
    city = build.demo_city(db)
    assert city is not None
    made = build.ensure_demo_accounts(db, SYSTEM_VIEWER, city)
    assert {a.role for a in made} == set(ROLES) - {"public"}
    head = db.scalar(select(User).where(User.role == "district_head"))
    first_district = _areas(db, "district")[0]
    assert head is not None and head.district_id == first_district.id
    assert accounts.login(db, "mayor", build.DEMO_PASSWORD) is not None
    # Running again creates nothing new.
    again = build.ensure_demo_accounts(db, SYSTEM_VIEWER, city)
    assert [a.username for a in again] == [a.username for a in made]
    assert db.scalar(select(func.count()).select_from(User)) == len(made)
