"""The places API: public reads (JSON and GeoJSON), point lookup, and authorised imports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.places import boundaries, service
from citymeter.places.boundaries import BoundaryImportOptions
from citymeter.places.models import Area, City


def _token(db: Session, role: str) -> dict[str, str]:
    accounts.create_user(db, SYSTEM_VIEWER, username=f"u-{role}", role=role, password=None)
    _row, secret = accounts.create_token(db, SYSTEM_VIEWER, f"u-{role}", "places tests")
    return {"Authorization": f"Bearer {secret}"}


def _load(db: Session, city: City, geo: Any) -> None:
    for data, level, parent_field in [
        (geo.two_districts(), "district", None),
        (geo.four_neighbourhoods(), "neighbourhood", "district"),
    ]:
        options = BoundaryImportOptions(
            level=level,
            code_field="code",
            name_field="name",
            parent_field=parent_field,
            extra_name_fields={"en": "name_en"} if level == "district" else {},
        )
        boundaries.import_boundaries(db, SYSTEM_VIEWER, city, data, options)


def test_cities_are_listed_and_shown(client: TestClient, city: City) -> None:
    listed = client.get("/api/v1/cities").json()
    assert city.code in [c["code"] for c in listed]
    shown = client.get(f"/api/v1/cities/{city.code}")
    assert shown.status_code == 200
    assert shown.json()["names"] == {"en": "Testville"}
    missing = client.get("/api/v1/cities/nowhere")
    assert missing.status_code == 404
    assert "cities list" in missing.json()["detail"]


def test_areas_list_filters_by_level_and_parent(
    client: TestClient, db: Session, city: City, geo: Any
) -> None:
    _load(db, city, geo)
    base = f"/api/v1/cities/{city.code}/areas"
    assert len(client.get(base).json()) == 7  # city + 2 districts + 4 neighbourhoods
    districts = client.get(base, params={"level": "district"}).json()
    assert [(d["code"], d["names"]["en"], d["parent_code"]) for d in districts] == [
        ("D1", "West", city.code),
        ("D2", "East", city.code),
    ]
    children = client.get(base, params={"parent": "D2"}).json()
    assert [c["code"] for c in children] == ["N21", "N22"]
    assert "boundary" not in children[0]


@pytest.mark.parametrize("style", ["query", "suffix"])
def test_areas_as_geojson(
    client: TestClient, db: Session, city: City, geo: Any, style: str
) -> None:
    _load(db, city, geo)
    url = f"/api/v1/cities/{city.code}/areas"
    if style == "query":
        response = client.get(url, params={"level": "district", "format": "geojson"})
    else:
        response = client.get(url + ".geojson", params={"level": "district"})
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == ["D1", "D2"]
    assert body["features"][0]["geometry"] == geo.square(127.0, 36.5, 0.1)
    assert body["features"][0]["properties"]["name"] == "서구"


def test_one_area_with_boundary_and_parents(
    client: TestClient, db: Session, city: City, geo: Any
) -> None:
    _load(db, city, geo)
    body = client.get(f"/api/v1/cities/{city.code}/areas/N11").json()
    assert body["boundary"]["type"] == "Polygon"
    assert [a["code"] for a in body["ancestors"]] == ["D1", city.code]
    assert client.get(f"/api/v1/cities/{city.code}/areas/NOPE").status_code == 404


def test_locate(client: TestClient, db: Session, city: City, geo: Any) -> None:
    _load(db, city, geo)
    url = f"/api/v1/cities/{city.code}/locate"
    body = client.get(url, params={"lat": 36.51, "lon": 127.01}).json()
    assert body["found"] is True
    assert [r["code"] for r in body["chain"]] == ["N11", "D1", city.code]
    outside = client.get(url, params={"lat": 37.5665, "lon": 126.978}).json()
    assert (outside["found"], outside["area"], outside["chain"]) == (False, None, [])
    assert client.get(url, params={"lat": 95, "lon": 127}).status_code == 422


def _upload(data: dict[str, Any]) -> dict[str, Any]:
    return {"file": ("districts.geojson", json.dumps(data).encode(), "application/geo+json")}


FORM = {"level": "district", "code_field": "code", "name_field": "name", "name_field_en": "name_en"}


def test_import_needs_areas_write(client: TestClient, db: Session, city: City, geo: Any) -> None:
    url = f"/api/v1/cities/{city.code}/areas/import"
    assert client.post(url, files=_upload(geo.two_districts()), data=FORM).status_code == 401
    official = _token(db, "official")
    refused = client.post(url, files=_upload(geo.two_districts()), data=FORM, headers=official)
    assert refused.status_code == 403
    assert db.scalar(select(func.count(Area.id)).where(Area.city_id == city.id)) == 1


def test_import_creates_then_updates(client: TestClient, db: Session, city: City, geo: Any) -> None:
    url = f"/api/v1/cities/{city.code}/areas/import"
    steward = _token(db, "data_steward")
    first = client.post(url, files=_upload(geo.two_districts()), data=FORM, headers=steward)
    assert first.status_code == 201, first.text
    assert (first.json()["created"], first.json()["updated"]) == (2, 0)
    second = client.post(url, files=_upload(geo.two_districts()), data=FORM, headers=steward)
    assert (second.json()["created"], second.json()["updated"]) == (0, 2)
    d1 = client.get(f"/api/v1/cities/{city.code}/areas/D1").json()
    assert d1["names"] == {"ko": "서구", "en": "West"}
    form = {**FORM, "name_language": "ko-Kore", "name_fields": "ko-Latn=roman"}
    data = geo.two_districts()
    for item, roman in zip(data["features"], ["Seo-gu", "Dong-gu"], strict=True):
        item["properties"]["roman"] = roman
    third = client.post(url, files=_upload(data), data=form, headers=steward)
    assert third.status_code == 201, third.text
    d2 = client.get(f"/api/v1/cities/{city.code}/areas/D2").json()
    assert d2["names"] == {"ko": "동구", "ko-Kore": "동구", "en": "East", "ko-Latn": "Dong-gu"}


def test_bad_import_is_problem_json_and_stores_nothing(
    client: TestClient, db: Session, city: City, geo: Any
) -> None:
    url = f"/api/v1/cities/{city.code}/areas/import"
    steward = _token(db, "data_steward")
    data = geo.collection(geo.feature(geo.bow_tie(127.0, 36.5, 0.1), code="B", name="b"))
    response = client.post(url, files=_upload(data), data=FORM, headers=steward)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "feature 1 (code B)" in response.json()["errors"][0]
    assert db.scalar(select(func.count(Area.id)).where(Area.city_id == city.id)) == 1
    not_json = client.post(
        url, files={"file": ("x.geojson", b"nope", "application/json")}, data=FORM, headers=steward
    )
    assert not_json.status_code == 422 and "not valid JSON" in not_json.json()["detail"]


@pytest.mark.realdata
def test_real_sejong_upload_and_locate(client: TestClient, db: Session, real_data: Path) -> None:
    sejong = service.create_city(db, SYSTEM_VIEWER, code="3611000000", name="세종특별자치시")
    raw = (real_data / "sejong/sejong_hangjeongdong_admdongkor.geojson").read_bytes()
    response = client.post(
        f"/api/v1/cities/{sejong.code}/areas/import",
        files={"file": ("sejong.geojson", raw, "application/geo+json")},
        data={
            "level": "neighbourhood",
            "code_field": "adm_cd2",
            "name_field": "adm_nm",
            "name_pattern": r"(\S+)$",
        },
        headers=_token(db, "admin"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["created"] == 20
    found = client.get(
        f"/api/v1/cities/{sejong.code}/locate", params={"lat": 36.6076, "lon": 127.2855}
    ).json()
    assert [r["name"] for r in found["chain"]] == ["조치원읍", "세종특별자치시"]
