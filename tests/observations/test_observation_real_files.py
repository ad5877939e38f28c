"""The shipped mappings on the real files in ../shared/data/real/ (figures from its README)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.observations import importer
from citymeter.observations.keys import with_keys
from citymeter.observations.mapping import shipped_mapping
from citymeter.observations.models import Breakdown, Metric, Observation
from citymeter.places.models import Area, City

from .conftest import SEJONG_CITY_CODE

pytestmark = pytest.mark.realdata
UNMATCHED = ["3611051800", "3611052300", "3611052500", "3611055600"]


def _import(db: Session, city: City, path: Path, mapping: str) -> importer.ImportReport:
    return importer.import_file(
        db,
        SYSTEM_VIEWER,
        data=path.read_bytes(),
        file_name=path.name,
        mapping=shipped_mapping(mapping),
        city=city,
    )


def _total(db: Session, code: str, **where: object) -> float:
    query = (
        with_keys(select(func.sum(Observation.value)))
        .join(Area, Area.id == Observation.area_id)
        .where(Area.code == code)
    )
    for column, value in where.items():
        query = query.where(getattr(Breakdown, column) == value)
    return float(db.scalar(query) or 0)


def test_sejong_by_sex(db: Session, sejong: City, real_data: Path) -> None:
    path = next((real_data / "sejong").glob("*남녀구분*.csv"))
    report = _import(db, sejong, path, "kr-resident-population-by-sex-age")
    assert report.encoding == "cp949"
    assert (report.rows_read, report.rows_stored, report.rows_rejected, report.rows_skipped) == (
        26,
        21,
        4,
        1,
    )
    assert report.unmatched_areas == UNMATCHED
    # 21 areas x 2 sexes x (total + ages 0..99 + 100+)
    assert report.observations == report.written == 21 * 2 * 102
    assert _total(db, SEJONG_CITY_CODE, age_band="total") == 391_992
    assert _total(db, SEJONG_CITY_CODE, age_band="total", sex="male") == 195_101
    assert _total(db, SEJONG_CITY_CODE, age_band="total", sex="female") == 196_891
    old = with_keys(select(func.sum(Observation.value))).join(Area, Area.id == Observation.area_id)
    ages = [str(a) for a in range(65, 100)] + ["100+"]
    aged = db.scalar(old.where(Area.code == SEJONG_CITY_CODE, Breakdown.age_band.in_(ages)))
    assert aged == 46_349
    # Single ages add up to the total in every stored area.
    single = db.scalar(old.where(Breakdown.age_band != "total"))
    total = db.scalar(old.where(Breakdown.age_band == "total"))
    assert single == total


def test_sejong_both_sexes_file_matches(db: Session, sejong: City, real_data: Path) -> None:
    path = next((real_data / "sejong").glob("*남녀합계*.csv"))
    report = _import(db, sejong, path, "kr-resident-population-by-sex-age")
    assert report.unmatched_areas == UNMATCHED
    assert _total(db, SEJONG_CITY_CODE, age_band="total", sex="total") == 391_992


def test_london_borough_profiles(db: Session, london: City, real_data: Path) -> None:
    path = real_data / "london" / "london-borough-profiles.csv"
    report = _import(db, london, path, "london-borough-profiles")
    assert (report.rows_read, report.rows_stored, report.rows_skipped) == (38, 33, 5)
    assert report.skipped_by_reason == {"blank row": 5}
    assert report.missing_by_metric["unemployment_rate"] == ["E09000001"]

    def by_area(metric: str, **where: object) -> dict[str, float]:
        query = (
            with_keys(select(Area.name, Observation.value))
            .join(Area, Area.id == Observation.area_id)
            .join(Metric, Metric.id == Observation.metric_id)
            .where(Metric.code == metric)
        )
        for column, value in where.items():
            query = query.where(getattr(Breakdown, column) == value)
        return {name: value for name, value in db.execute(query).all()}

    unemployment = by_area("unemployment_rate")
    assert len(unemployment) == 32 and "City of London" not in unemployment
    assert max(unemployment.items(), key=lambda kv: kv[1]) == ("Barking and Dagenham", 11.0)
    assert min(unemployment.items(), key=lambda kv: kv[1]) == ("Enfield", 3.8)
    assert unemployment["Camden"] == 4.0
    assert sum(by_area("gla_population_estimate").values()) == 8_835_400
    assert by_area("overseas_nationals_entering")["Barking and Dagenham"] == 7538
    assert len(by_area("employment_rate", sex="female")) == 32
    assert len(by_area("council_tax_band_d")) == 33
