"""Indicators computed through their definitions from the real files in ../shared/data/real/
(figures from its README): no special code per figure, only packs, mappings and the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER, SYSTEM_VIEWER
from citymeter.indicators import engine, service
from citymeter.observations import importer
from citymeter.observations.mapping import shipped_mapping
from citymeter.places import service as places
from citymeter.places.models import City

pytestmark = pytest.mark.realdata
SEJONG = "3611000000"


def _import(db: Session, city: City, path: Path, mapping: str) -> importer.ImportReport:
    return importer.import_file(
        db,
        SYSTEM_VIEWER,
        data=path.read_bytes(),
        file_name=path.name,
        mapping=shipped_mapping(mapping),
        city=city,
    )


@pytest.fixture
def sejong(db: Session, real_data: Path) -> City:
    geo = json.loads(
        (real_data / "sejong" / "sejong_hangjeongdong_admdongkor.geojson").read_text("utf-8")
    )
    city = places.create_city(db, SYSTEM_VIEWER, code="sejong", name="세종특별자치시")
    root = places.add_area(db, None, city=city, code=SEJONG, level="city", name="세종특별자치시")
    for feature in geo["features"]:
        props = feature["properties"]
        places.add_area(
            db,
            None,
            city=city,
            code=props["adm_cd2"],
            level="neighbourhood",
            name=props["adm_nm"].split()[-1],
            parent=root,
        )
    return city


@pytest.fixture
def london(db: Session, real_data: Path) -> City:
    geo = json.loads((real_data / "london" / "london_boroughs.json").read_text("utf-8"))
    city = places.create_city(db, SYSTEM_VIEWER, code="london", name="London", country="GB")
    root = places.add_area(db, None, city=city, code="london", level="city", name="London")
    for feature in geo["features"]:
        props = feature["properties"]
        places.add_area(
            db,
            None,
            city=city,
            code=props["code"],
            level="district",
            name=props["name"],
            parent=root,
        )
    return city


def test_sejong_share_aged_65_plus(db: Session, sejong: City, real_data: Path) -> None:
    path = next((real_data / "sejong").glob("*남녀구분*.csv"))
    _import(db, sejong, path, "kr-resident-population-by-sex-age")
    report = engine.compute(db, city_code="sejong", pack_id="administration")
    assert "share_aged_65_plus" in report.computed
    values = service.query_values(
        db,
        PUBLIC_VIEWER,
        "share_aged_65_plus",
        pack="administration",
        city="sejong",
        area=SEJONG,
        grain="month",
        sex="total",
        min_count=5,
    )
    assert len(values) == 1
    assert values[0].value == pytest.approx(46_349 / 391_992 * 100)
    assert round(values[0].value or 0, 2) == 11.82
    assert values[0].quality == "measured"
    # The sex breakdown comes from the same definition.
    by_sex = service.query_values(
        db,
        PUBLIC_VIEWER,
        "share_aged_65_plus",
        pack="administration",
        city="sejong",
        area=SEJONG,
        grain="month",
        min_count=5,
    )
    assert {v.sex for v in by_sex} == {"total", "male", "female"}


def test_london_unemployment_ranking(db: Session, london: City, real_data: Path) -> None:
    _import(
        db, london, real_data / "london" / "london-borough-profiles.csv", "london-borough-profiles"
    )
    engine.compute(db, city_code="london", pack_id="administration", codes=["unemployment_rate"])
    ranking = service.ranking(
        db, PUBLIC_VIEWER, "unemployment_rate", pack="administration", city="london", min_count=5
    )
    assert ranking.grain == "year" and ranking.period_start.year == 2015
    assert ranking.order.startswith("lowest first")
    assert len(ranking.ranked) == 32
    best, worst = ranking.ranked[0], ranking.ranked[-1]
    assert (best.area_name, best.value, best.rank) == ("Enfield", 3.8, 1)
    assert (worst.area_name, worst.value, worst.rank) == ("Barking and Dagenham", 11.0, 32)
    assert [m.area_name for m in ranking.missing] == ["City of London"]


def test_sejong_pm25_annual_mean(db: Session, sejong: City, real_data: Path) -> None:
    report = _import(
        db, sejong, real_data / "korea_air_annual" / "pandw_v2000.csv", "kr-air-annual-si-gun-gu"
    )
    assert report.rows_stored == 21  # Sejong's rows, 2001-2021
    engine.compute(db, city_code="sejong", pack_id="administration", codes=["pm25_annual_mean"])
    values = service.query_values(
        db,
        PUBLIC_VIEWER,
        "pm25_annual_mean",
        pack="administration",
        city="sejong",
        area=SEJONG,
        grain="year",
        min_count=5,
    )
    by_year = {v.period_start.year: v.value for v in values}
    assert by_year[2021] == pytest.approx(19.4066, abs=5e-5)
    assert min(by_year) == 2015  # PM25avg is NA before 2015
