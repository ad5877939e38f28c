"""Importing boundaries: tree placement, names, re-import, reprojection, and refused files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pyproj import Transformer
from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.models import AuditEntry
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.errors import InvalidInput
from citymeter.places import boundaries, service
from citymeter.places.boundaries import BoundaryImportOptions
from citymeter.places.models import Area, City

SEJONG = "sejong/sejong_hangjeongdong_admdongkor.geojson"
LONDON = "london/london_boroughs.json"


def _import(db: Session, city: City, data: dict[str, Any], **options: Any) -> Any:
    defaults: dict[str, Any] = {"level": "district", "code_field": "code", "name_field": "name"}
    return boundaries.import_boundaries(
        db, SYSTEM_VIEWER, city, data, BoundaryImportOptions(**{**defaults, **options})
    )


def _area_count(db: Session) -> int:
    return int(db.scalar(select(func.count(Area.id))) or 0)


def _audit_count(db: Session) -> int:
    return int(db.scalar(select(func.count(AuditEntry.id))) or 0)


def test_create_city_adds_its_root_area(db: Session, city: City) -> None:
    root = service.root_area_of(db, city)
    assert root is not None
    assert (root.code, root.level, root.parent_id) == (city.code, "city", None)
    assert root.names == {"en": "Testville"}


def test_districts_go_under_the_city_with_names_in_two_languages(
    db: Session, city: City, geo: Any
) -> None:
    result = _import(db, city, geo.two_districts(), extra_name_fields={"en": "name_en"})
    assert (result.created, result.updated, result.features) == (2, 0, 2)
    d1 = service.get_area(db, city, "D1")
    assert d1.level == "district"
    assert d1.parent is not None and d1.parent.code == city.code
    assert d1.names == {"ko": "서구", "en": "West"}
    assert d1.area_km2 is not None and 80 < d1.area_km2 < 100  # 0.1° × 0.1° at 36.5° N
    assert d1.centroid_lon is not None and 127.0 < d1.centroid_lon < 127.1


def test_neighbourhoods_take_parent_from_a_field_and_the_last_word_of_the_name(
    db: Session, city: City, geo: Any
) -> None:
    _import(db, city, geo.two_districts())
    result = _import(
        db,
        city,
        geo.four_neighbourhoods(),
        level="neighbourhood",
        name_pattern=r"(\S+)$",
        parent_field="district",
        population_field="pop",
    )
    assert result.created == 4
    assert result.by_parent_level == {"district": 4}
    n11 = service.get_area(db, city, "N11")
    assert (n11.name, n11.population) == ("가동", 1200)
    assert n11.parent is not None and n11.parent.code == "D1"
    assert [a.code for a in service.ancestors(db, n11)] == ["D1", city.code]
    assert service.get_area(db, city, "N21").population is None
    assert n11.properties["name"] == "시 서구 가동"  # the file's own attributes are kept


def test_reimport_updates_the_same_areas_and_audits_each_import_once(
    db: Session, city: City, geo: Any
) -> None:
    data = geo.two_districts()
    audits_before = _audit_count(db)
    _import(db, city, data)
    data["features"][0]["properties"]["name"] = "새서구"
    data["features"][0]["geometry"] = geo.square(127.0, 36.5, 0.08)
    result = _import(db, city, data)
    assert (result.created, result.updated) == (0, 2)
    assert len(service.list_areas(db, city, level="district")) == 2
    d1 = service.get_area(db, city, "D1")
    assert d1.name == "새서구"
    assert shape(json.loads(d1.boundary or "{}")).bounds[2] == pytest.approx(127.08)
    assert _audit_count(db) == audits_before + 2
    entry = db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert entry is not None and entry.action == "area.import"
    assert entry.detail["updated"] == 2


def test_a_new_valid_from_makes_a_new_version(db: Session, city: City, geo: Any) -> None:
    _import(db, city, geo.two_districts(), valid_to=dt.date(2020, 12, 31))
    result = _import(db, city, geo.two_districts(), valid_from=dt.date(2021, 1, 1))
    assert result.created == 2
    assert service.get_area(db, city, "D1", dt.date(2019, 6, 1)).valid_to == dt.date(2020, 12, 31)
    assert service.get_area(db, city, "D1", dt.date(2022, 6, 1)).valid_from == dt.date(2021, 1, 1)


def _to_5179(geojson: dict[str, Any]) -> dict[str, Any]:
    forward = Transformer.from_crs("EPSG:4326", "EPSG:5179", always_xy=True)
    ring = [list(forward.transform(lon, lat)) for lon, lat in geojson["coordinates"][0]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.mark.parametrize("how", ["crs member", "crs option"])
def test_projected_file_is_reprojected_to_wgs84(
    db: Session, city: City, geo: Any, how: str
) -> None:
    original = geo.square(127.25, 36.48, 0.02)
    projected = _to_5179(original)
    assert projected["coordinates"][0][0][0] > 900_000  # really metres, not degrees
    if how == "crs member":
        data = geo.collection(
            geo.feature(projected, code="P1", name="투영동"), crs="urn:ogc:def:crs:EPSG::5179"
        )
        result = _import(db, city, data)
    else:
        data = geo.collection(geo.feature(projected, code="P1", name="투영동"))
        result = _import(db, city, data, crs="EPSG:5179")
    assert result.crs == "EPSG:5179"
    stored = json.loads(service.get_area(db, city, "P1").boundary or "{}")
    for (lon, lat), (lon0, lat0) in zip(
        stored["coordinates"][0], original["coordinates"][0], strict=True
    ):
        assert abs(lon - lon0) < 1e-6 and abs(lat - lat0) < 1e-6


def _assert_refused(db: Session, city: City, data: dict[str, Any], **options: Any) -> list[str]:
    areas, audits = _area_count(db), _audit_count(db)
    with pytest.raises(InvalidInput) as caught:
        _import(db, city, data, **options)
    assert "nothing was imported" in caught.value.message
    assert _area_count(db) == areas and _audit_count(db) == audits
    errors: list[str] = caught.value.details["errors"]
    return errors


def test_bow_tie_is_refused_naming_the_feature(db: Session, city: City, geo: Any) -> None:
    data = geo.collection(
        geo.feature(geo.square(127.0, 36.5, 0.1), code="OK1", name="좋은동"),
        geo.feature(geo.bow_tie(127.2, 36.5, 0.1), code="BAD2", name="나쁜동"),
    )
    errors = _assert_refused(db, city, data)
    assert len(errors) == 1
    assert "feature 2 (code BAD2)" in errors[0] and "Self-intersection" in errors[0]


def test_projected_coordinates_without_a_crs_are_refused(db: Session, city: City, geo: Any) -> None:
    projected = _to_5179(geo.square(127.25, 36.48, 0.02))
    errors = _assert_refused(db, city, geo.collection(geo.feature(projected, code="P", name="p")))
    assert "feature 1 (code P)" in errors[0] and "--crs EPSG:5179" in errors[0]


def test_wrong_crs_is_refused(db: Session, city: City, geo: Any) -> None:
    """A file that says it is lon/lat but holds Korean TM metres is refused with a hint."""
    projected = _to_5179(geo.square(127.25, 36.48, 0.02))
    data = geo.collection(geo.feature(projected, code="P", name="p"), crs="EPSG:4326")
    errors = _assert_refused(db, city, data)
    assert "not longitude/latitude" in errors[0]


def test_lonlat_file_given_a_projected_crs_is_refused(db: Session, city: City, geo: Any) -> None:
    data = geo.collection(geo.feature(geo.square(127.0, 36.5, 0.1), code="L", name="l"))
    errors = _assert_refused(db, city, data, crs="EPSG:5179")
    assert errors == [
        "feature 1 (code L): the coordinates look like longitude/latitude already, not "
        "EPSG:5179 metres; is the CRS right?"
    ]


def test_metres_of_another_crs_are_refused(db: Session, city: City, geo: Any) -> None:
    """Korean TM metres read as British National Grid land in the sea off Norway: refused."""
    projected = _to_5179(geo.square(127.25, 36.48, 0.02))
    data = geo.collection(geo.feature(projected, code="P", name="p"), crs="EPSG:27700")
    errors = _assert_refused(db, city, data)
    assert "outside that CRS's area (United Kingdom" in errors[0]


def test_unknown_parent_is_refused(db: Session, city: City, geo: Any) -> None:
    _import(db, city, geo.two_districts())
    data = geo.four_neighbourhoods()
    data["features"][3]["properties"]["district"] = "D9"
    errors = _assert_refused(db, city, data, level="neighbourhood", parent_field="district")
    assert errors == [
        "feature 4 (code N22): unknown parent code 'D9'; import the parent level first "
        f"(`citymeter areas list --city {city.code}`)"
    ]


def test_every_problem_is_reported_at_once(db: Session, city: City, geo: Any) -> None:
    data = geo.collection(
        geo.feature(geo.square(127.0, 36.5, 0.1), code="A", name="a"),
        geo.feature(geo.square(127.1, 36.5, 0.1), code="A", name="a again"),
        geo.feature(geo.square(127.2, 36.5, 0.1), name="no code"),
        geo.feature({"type": "Point", "coordinates": [127, 36]}, code="PT", name="a point"),
        geo.feature(geo.square(127.3, 36.5, 0.1), code="POP", name="p", pop="many"),
    )
    errors = _assert_refused(db, city, data, population_field="pop")
    joined = "\n".join(errors)
    assert "feature 3: no code in the property 'code'" in joined
    assert "feature 4 (code PT): the geometry must be a Polygon or MultiPolygon" in joined
    assert "feature 5 (code POP): population 'many'" in joined
    assert "code 'A' appears 2 times (features 1, 2)" in joined
    assert len(errors) == 4


def test_bad_options_and_bad_files_get_clear_messages(db: Session, city: City) -> None:
    with pytest.raises(InvalidInput, match="not a regex"):
        _import(db, city, {"type": "FeatureCollection", "features": []}, name_pattern="(")
    with pytest.raises(InvalidInput, match="Unknown coordinate reference system"):
        _import(db, city, {"type": "FeatureCollection", "features": []}, crs="EPSG:nope")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        boundaries.load_collection(b"{", "x.geojson")
    with pytest.raises(InvalidInput, match="must be a GeoJSON FeatureCollection, not 'Feature'"):
        boundaries.load_collection(b'{"type": "Feature"}', "x.geojson")
    with pytest.raises(InvalidInput, match="has no features"):
        boundaries.load_collection(b'{"type": "FeatureCollection", "features": []}', "x")


@pytest.mark.realdata
def test_real_sejong_gives_20_neighbourhoods_under_the_city(db: Session, real_data: Path) -> None:
    sejong = service.create_city(
        db, SYSTEM_VIEWER, code="3611000000", name="세종특별자치시", names={"en": "Sejong"}
    )
    data = boundaries.load_collection((real_data / SEJONG).read_bytes())
    result = _import(
        db,
        sejong,
        data,
        level="neighbourhood",
        code_field="adm_cd2",
        name_field="adm_nm",
        name_pattern=r"(\S+)$",
    )
    assert (result.created, result.updated) == (20, 0)
    areas = service.list_areas(db, sejong, level="neighbourhood")
    expected = {f["properties"]["adm_cd2"]: f["properties"]["adm_nm"] for f in data["features"]}
    assert {a.code: a.name for a in areas} == {c: n.split()[-1] for c, n in expected.items()}
    assert all(a.parent is not None and a.parent.code == "3611000000" for a in areas)
    again = _import(
        db, sejong, data, level="neighbourhood", code_field="adm_cd2", name_field="adm_nm"
    )
    assert (again.created, again.updated) == (0, 20)
    assert len(service.list_areas(db, sejong, level="neighbourhood")) == 20


@pytest.mark.realdata
def test_real_london_gives_33_boroughs(db: Session, real_data: Path) -> None:
    london = service.create_city(
        db,
        SYSTEM_VIEWER,
        code="E12000007",
        name="London",
        timezone="Europe/London",
        default_language="en",
    )
    data = boundaries.load_collection((real_data / LONDON).read_bytes())
    result = _import(db, london, data, level="borough")
    assert result.created == 33
    boroughs = service.list_areas(db, london, level="borough")
    assert len(boroughs) == 33 == len({a.code for a in boroughs})
    camden = next(a for a in boroughs if a.name == "Camden")
    assert camden.names == {"en": "Camden"}
    # The file gives each borough's area in hectares; the geodesic area agrees within 1 %.
    hectares = next(
        f["properties"]["area_hectares"]
        for f in data["features"]
        if f["properties"]["name"] == "Camden"
    )
    assert camden.area_km2 == pytest.approx(hectares / 100, rel=0.01)
