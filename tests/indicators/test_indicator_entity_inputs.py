"""Indicators over entity attribute history (air-quality stations) through the entity resolver."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.entities import history
from citymeter.entities.models import Entity
from citymeter.indicators import engine
from citymeter.indicators.models import IndicatorValue
from citymeter.places.models import Area, City


def _station(db: Session, town: City, name: str, district: str, area: str) -> Entity:
    ids = {a.code: a.id for a in db.scalars(select(Area).where(Area.city_id == town.id))}
    station = Entity(
        entity_id=f"urn:ngsi-ld:AirQualityStation:{name}",
        type="AirQualityStation",
        city_id=town.id,
        district_id=ids[district],
        area_id=ids[area],
    )
    db.add(station)
    db.flush()
    return station


def test_pm25_from_station_history(db: Session, town: City) -> None:
    one = _station(db, town, "a", "T1", "T1A")
    two = _station(db, town, "b", "T2", "T2")
    points = []
    for day in range(1, 11):  # ten days of January 2025, two readings a day
        at = dt.datetime(2025, 1, day, 3, tzinfo=dt.UTC)
        points += [
            (one.id, "pm25", at, 30.0 + day),
            (one.id, "pm25", at.replace(hour=9), 32.0 + day),
        ]
        points.append((two.id, "pm25", at, 50.0))
    history.record_points(db, points)
    report = engine.compute(
        db,
        city_code="town",
        pack_id="administration",
        codes=["pm25_annual_mean", "pm25_days_above_35"],
    )
    assert (
        "annual_mean_of_daily_means(entity: AirQualityStation, attr: pm25)" not in report.unresolved
    )
    rows = {
        (v.code, code, v.grain): v
        for v, code in db.execute(
            select(IndicatorValue, Area.code).join(Area, Area.id == IndicatorValue.area_id)
        )
    }
    # Station a's daily means are 32 … 41 (mean 36.5); the city's daily mean averages stations.
    assert rows[("pm25_annual_mean", "T1", "year")].value == pytest.approx(36.5)
    assert rows[("pm25_annual_mean", "T", "year")].value == pytest.approx((36.5 + 50) / 2)
    assert rows[("pm25_annual_mean", "T", "year")].quality == "unknown"
    # Days above 35: station a on days 5-10 (daily means 36 … 41), the district's daily means.
    assert rows[("pm25_days_above_35", "T1", "month")].value == 6
    assert rows[("pm25_days_above_35", "T", "month")].value == 10
