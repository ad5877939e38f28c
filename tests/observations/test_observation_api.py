"""The metrics and observations API: visibility, filters, uploads, batches, the size limit."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.observations import service
from citymeter.places.models import City

from .conftest import MakeCity, store_counts

FILE = (
    "행정구역,2025년04월_남_총인구수,2025년04월_여_총인구수\n"
    "X시  (1111000000),10,12\nX시  가동(1111051000),4,5\n"
)
MAPPING = """
name: api-test
file: {encoding: utf-8}
area: {column: 행정구역, pattern: '\\((\\d{10})\\)'}
values:
  - header_pattern: '(?P<year>\\d{4})년(?P<month>\\d{2})월_(?P<sex>남|여)_(?P<age>총인구수)'
    metric: residents
    unit: persons
    period: {grain: month, from_header: true}
"""


def _token(db: Session, role: str) -> dict[str, str]:
    accounts.create_user(db, SYSTEM_VIEWER, username=f"obs-{role}", role=role, password=None)
    _row, secret = accounts.create_token(db, SYSTEM_VIEWER, f"obs-{role}", "observation tests")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def city(make_city: MakeCity) -> City:
    return make_city("x", "1111000000", {"1111051000": "가동"})


def _upload(
    client: TestClient, headers: dict[str, str], body: bytes, **form: str
) -> httpx.Response:
    return client.post(
        "/api/v1/observations/import",
        headers=headers,
        files={"file": ("people.csv", body, "text/csv")},
        data={"mapping_yaml": MAPPING, **form},
    )


def test_metrics_hide_internal_ones_from_the_public(client: TestClient, db: Session) -> None:
    service.ensure_metric(db, None, code="open_m", name="Open", unit="persons")
    service.ensure_metric(
        db, None, code="secret_m", name="S", unit="persons", visibility="internal"
    )
    public = {m["code"] for m in client.get("/api/v1/metrics").json()}
    assert "open_m" in public and "secret_m" not in public
    staff = client.get("/api/v1/metrics", headers=_token(db, "official")).json()
    assert "secret_m" in {m["code"] for m in staff}


def test_adding_a_metric_needs_the_permission(client: TestClient, db: Session) -> None:
    body = {"code": "pm25", "name": "PM2.5", "unit": "µg/m³"}
    assert client.post("/api/v1/metrics", json=body).status_code == 401
    assert client.post("/api/v1/metrics", json=body, headers=_token(db, "mayor")).status_code == 403
    created = client.post("/api/v1/metrics", json=body, headers=_token(db, "data_steward"))
    assert created.status_code == 201 and created.json()["unit"] == "µg/m³"


def test_upload_query_batches_and_rejects(client: TestClient, db: Session, city: City) -> None:
    headers = _token(db, "official")
    assert _upload(client, {}, FILE.encode()).status_code == 401
    dry = _upload(client, headers, FILE.encode(), dry_run="true")
    assert dry.json()["dry_run"] is True and dry.json()["written"] == 4
    assert store_counts(db)[0] == 0
    done = _upload(client, headers, FILE.encode()).json()
    assert done["written"] == 4 and done["batch_id"]

    page = client.get(
        "/api/v1/observations", params={"metric": "residents", "level": "neighbourhood"}
    ).json()
    assert page["total"] == 2
    assert {(o["sex"], o["value"]) for o in page["items"]} == {("male", 4.0), ("female", 5.0)}
    paged = client.get("/api/v1/observations", params={"limit": 1, "offset": 1}).json()
    assert paged["total"] == 4 and len(paged["items"]) == 1
    ranged = client.get("/api/v1/observations", params={"from": "2025-05-01"}).json()
    assert ranged["total"] == 0

    batches = client.get("/api/v1/observations/batches", headers=headers).json()
    assert batches[0]["id"] == done["batch_id"] and batches[0]["stored"] == 4
    assert client.get("/api/v1/observations/batches").status_code == 401
    rejects = client.get(
        f"/api/v1/observations/batches/{done['batch_id']}/rejects", headers=headers
    )
    assert rejects.status_code == 200 and rejects.json() == []
    undo = client.post(f"/api/v1/observations/batches/{done['batch_id']}/undo", headers=headers)
    assert undo.json()["removed"] == 4


def test_internal_observations_are_hidden_from_the_public(
    client: TestClient, db: Session, city: City
) -> None:
    internal = MAPPING.replace("unit: persons", "unit: persons\n    visibility: internal")
    headers = _token(db, "official")
    report = client.post(
        "/api/v1/observations/import",
        headers=headers,
        files={"file": ("people.csv", FILE.encode(), "text/csv")},
        data={"mapping_yaml": internal},
    )
    assert report.status_code == 200, report.text
    assert client.get("/api/v1/observations").json()["total"] == 0
    assert client.get("/api/v1/observations", headers=headers).json()["total"] == 4


def test_bad_uploads_are_problems_and_change_nothing(
    client: TestClient, db: Session, city: City
) -> None:
    headers = _token(db, "official")
    before = store_counts(db)
    wrong = _upload(client, headers, FILE.encode("cp949"))
    assert wrong.status_code == 422
    assert "does not decode as utf-8" in wrong.json()["detail"]
    bad_field = client.post(
        "/api/v1/observations/import",
        headers=headers,
        files={"file": ("people.csv", FILE.encode(), "text/csv")},
        data={"mapping_yaml": MAPPING.replace("name: api-test", "name: api-test\nsheeet: 1")},
    )
    assert bad_field.status_code == 422 and "sheeet" in bad_field.json()["detail"]
    unknown_area = FILE + "X시  나동(1111052000),1,1\n"
    refused = _upload(client, headers, unknown_area.encode())
    assert refused.status_code == 422
    assert "1111052000" in refused.json()["detail"]
    not_number = FILE.replace(",4,5", ",4,five")
    assert _upload(client, headers, not_number.encode()).status_code == 422
    path_like = client.post(
        "/api/v1/observations/import",
        headers=headers,
        files={"file": ("people.csv", FILE.encode(), "text/csv")},
        data={"mapping": "/etc/passwd"},
    )
    assert path_like.status_code == 404  # only shipped names, never a server path
    assert store_counts(db) == before


def test_an_oversized_upload_is_refused(client: TestClient, db: Session, city: City) -> None:
    headers = _token(db, "official")
    before = store_counts(db)
    big = FILE.encode() + b"X\xec\x8b\x9c  (1111000000),1,1\n" * 60_000  # > 1 MB test limit
    response = _upload(client, headers, big)
    assert response.status_code == 413
    assert "CITYMETER_MAX_UPLOAD_MB" in response.json()["detail"]
    assert store_counts(db) == before
