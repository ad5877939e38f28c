"""The shipped `kr-air-annual-si-gun-gu` mapping on a small file of the national shape: the
5-digit code becomes the city's 10-digit code, other districts are skipped, and the annual mean
reaches the indicator through its definition."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER, SYSTEM_VIEWER
from citymeter.errors import InvalidInput
from citymeter.indicators import engine, service
from citymeter.observations import importer
from citymeter.observations.mapping import parse_mapping, shipped_mapping
from citymeter.places import service as places

FILE = (
    '"SIG_CD","SIG_ENG_NM","year","PM10avg","PM25avg"\n'
    '11110,"Jongno-gu",2021,40.1,20.5\n'
    '36110,"Sejong-si",2014,45.0,NA\n'
    '36110,"Sejong-si",2021,38.2,19.4066\n'
)


def test_code_template_and_skipped_districts(db: Session) -> None:
    city = places.create_city(db, SYSTEM_VIEWER, code="sejong", name="Sejong")
    places.add_area(db, None, city=city, code="3611000000", level="city", name="Sejong")
    report = importer.import_file(
        db,
        SYSTEM_VIEWER,
        data=FILE.encode(),
        file_name="air.csv",
        mapping=shipped_mapping("kr-air-annual-si-gun-gu"),
        city=city,
    )
    assert (report.rows_read, report.rows_skipped, report.rows_rejected) == (3, 1, 0)
    assert report.unmatched_areas == ["1111000000"]
    assert report.written == 3  # PM10 2014 and 2021, PM2.5 2021 (NA is missing)
    engine.compute(db, city_code="sejong", pack_id="administration", codes=["pm25_annual_mean"])
    values = service.query_values(
        db, PUBLIC_VIEWER, "pm25_annual_mean", pack="administration", city="sejong", min_count=5
    )
    assert [(v.period_start.year, v.value) for v in values] == [(2021, 19.4066)]


def test_code_template_needs_the_key() -> None:
    text = "version: 1\nname: x\narea: {column: A, code_template: '00'}\nvalues: []\n"
    with pytest.raises(InvalidInput, match="code_template needs"):
        parse_mapping(text)
