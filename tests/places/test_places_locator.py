"""Point-in-area: the smallest area holding a point, its parents, and dates."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import shape
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.errors import InvalidInput
from citymeter.places import boundaries, locator, lookup_bench, service
from citymeter.places.boundaries import BoundaryImportOptions
from citymeter.places.models import City


def _load_two_levels(db: Session, city: City, geo: Any) -> None:
    for data, level, parent_field in [
        (geo.two_districts(), "district", None),
        (geo.four_neighbourhoods(), "neighbourhood", "district"),
    ]:
        options = BoundaryImportOptions(
            level=level, code_field="code", name_field="name", parent_field=parent_field
        )
        boundaries.import_boundaries(db, SYSTEM_VIEWER, city, data, options)


def test_point_gives_neighbourhood_district_and_city(db: Session, city: City, geo: Any) -> None:
    _load_two_levels(db, city, geo)
    found = locator.build_locator(db, city).locate(36.575, 127.125)  # north half of D2
    assert found is not None
    assert [(ref.level, ref.code) for ref in found.chain] == [
        ("neighbourhood", "N22"),
        ("district", "D2"),
        ("city", city.code),
    ]
    district = found.at_level("district")
    assert district is not None and district.name == "동구"


def test_point_in_a_district_outside_its_neighbourhoods_gives_the_district(
    db: Session, city: City, geo: Any
) -> None:
    _load_two_levels(db, city, geo)
    found = locator.build_locator(db, city).locate(36.525, 127.075)  # D1, east of N11
    assert found is not None and found.area.code == "D1"


def test_outside_every_area_is_none(db: Session, city: City, geo: Any) -> None:
    _load_two_levels(db, city, geo)
    built = locator.build_locator(db, city)
    assert built.locate(37.5665, 126.978) is None  # Seoul City Hall
    assert built.locate(36.55, 126.9) is None


def test_locate_many_agrees_with_locate(db: Session, city: City, geo: Any) -> None:
    _load_two_levels(db, city, geo)
    built = locator.build_locator(db, city)
    lats = [36.51, 36.57, 36.52, 36.59, 36.55, 37.0]
    lons = [127.01, 127.02, 127.07, 127.14, 127.13, 127.0]
    assert built.locate_many(lats, lons) == [
        built.locate(lat, lon) for lat, lon in zip(lats, lons, strict=True)
    ]


def test_locator_uses_the_boundaries_valid_on_the_day(db: Session, city: City, geo: Any) -> None:
    old = geo.collection(geo.feature(geo.square(127.0, 36.5, 0.1), code="X", name="옛동"))
    new = geo.collection(geo.feature(geo.square(127.05, 36.5, 0.1), code="X", name="새동"))
    for data, start, end in [(old, None, dt.date(2020, 12, 31)), (new, dt.date(2021, 1, 1), None)]:
        options = BoundaryImportOptions(
            level="district", code_field="code", name_field="name", valid_from=start, valid_to=end
        )
        boundaries.import_boundaries(db, SYSTEM_VIEWER, city, data, options)
    point = (36.55, 127.02)  # inside the old square only
    in_2019 = locator.build_locator(db, city, dt.date(2019, 1, 1)).locate(*point)
    assert in_2019 is not None and in_2019.area.name == "옛동"
    assert locator.build_locator(db, city, dt.date(2022, 1, 1)).locate(*point) is None


def test_cached_locator_sees_a_reimport(db: Session, city: City, geo: Any) -> None:
    _load_two_levels(db, city, geo)
    first = locator.cached_locator(db, city)
    assert locator.cached_locator(db, city) is first
    moved = geo.collection(geo.feature(geo.square(128.0, 36.5, 0.1), code="D1", name="서구"))
    options = BoundaryImportOptions(level="district", code_field="code", name_field="name")
    boundaries.import_boundaries(db, SYSTEM_VIEWER, city, moved, options)
    again = locator.cached_locator(db, city)
    assert again is not first
    found = again.locate(36.55, 128.05)
    assert found is not None and found.area.code == "D1"


def test_a_city_without_boundaries_says_so(db: Session, city: City) -> None:
    with pytest.raises(InvalidInput, match="no area boundaries"):
        locator.build_locator(db, city)


def test_synthetic_benchmark_grid_answers_every_point() -> None:
    grid = lookup_bench.synthetic_grid()
    assert len(grid) == 400
    result = lookup_bench.run(grid, "grid", lookups=2000)
    assert result.found == 2000
    found = grid.locate(36.405, 127.005)
    assert found is not None
    assert [ref.level for ref in found.chain] == ["neighbourhood", "district", "city"]


@pytest.mark.realdata
def test_real_sejong_representative_points(db: Session, real_data: Path) -> None:
    sejong = service.create_city(db, SYSTEM_VIEWER, code="3611000000", name="세종특별자치시")
    raw = (real_data / "sejong/sejong_hangjeongdong_admdongkor.geojson").read_bytes()
    options = BoundaryImportOptions(
        level="neighbourhood", code_field="adm_cd2", name_field="adm_nm", name_pattern=r"(\S+)$"
    )
    boundaries.import_boundaries(
        db, SYSTEM_VIEWER, sejong, boundaries.load_collection(raw), options
    )
    built = locator.build_locator(db, sejong)
    for feature in json.loads(raw)["features"]:
        point = shape(feature["geometry"]).representative_point()
        found = built.locate(point.y, point.x)
        assert found is not None
        assert found.area.code == feature["properties"]["adm_cd2"]
        assert [ref.code for ref in found.ancestors] == ["3611000000"]
    assert built.locate(37.5665, 126.978) is None  # Seoul is not in Sejong
