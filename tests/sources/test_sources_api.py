"""The sources API and page: who sees what, who may change what, bad input refused."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.models import AuditEntry
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.settings import Settings
from citymeter.sources import health, service
from citymeter.sources.models import Source
from citymeter.sources.schemas import SourceCreate


def _headers(db: Session, role: str) -> dict[str, str]:
    accounts.create_user(
        db, SYSTEM_VIEWER, username=role.replace("_", "-"), role=role, password=None
    )
    _, secret = accounts.create_token(db, SYSTEM_VIEWER, role.replace("_", "-"), "t", None)
    return {"Authorization": f"Bearer {secret}"}


def _seed(db: Session) -> None:
    for code, visibility in (("air-public", "public"), ("cctv-internal", "internal")):
        service.add_source(
            db,
            SYSTEM_VIEWER,
            SourceCreate(
                code=code,
                name=code,
                kind="http_push",
                visibility=visibility,
                expected_interval_s=300,
            ),
        )
    health.record_batch(
        db,
        "cctv-internal",
        records_in=0,
        accepted=0,
        rejected=0,
        error="token expired at the vendor",
        tz=Settings().timezone,  # the day the API counts in: the installation's time zone
    )


def test_the_public_sees_public_sources_without_config_or_errors(
    client: TestClient, db: Session
) -> None:
    _seed(db)
    listed = client.get("/api/v1/sources").json()
    assert [s["code"] for s in listed] == ["air-public"]
    assert listed[0]["config"] is None
    assert listed[0]["health"]["freshness"] == "unknown"
    assert client.get("/api/v1/sources/cctv-internal").status_code == 404


def test_staff_see_everything_with_health(client: TestClient, db: Session) -> None:
    _seed(db)
    headers = _headers(db, "mayor")
    codes = [s["code"] for s in client.get("/api/v1/sources", headers=headers).json()]
    assert codes == ["air-public", "cctv-internal"]
    detail = client.get("/api/v1/sources/cctv-internal", headers=headers).json()
    assert detail["health"]["freshness"] == "failing"
    assert detail["health"]["last_error"] == "token expired at the vendor"
    assert detail["health"]["today"]["failures"] == 1
    assert len(detail["days"]) == 7


def test_a_steward_adds_disables_enables_and_runs(client: TestClient, db: Session) -> None:
    headers = _headers(db, "data_steward")
    body = {
        "code": "parking",
        "name": "Parking occupancy",
        "kind": "http_pull",
        "department": "Transport",
        "schedule": "5m",
        "expected_interval_s": 300,
        "config": {
            "url": "http://127.0.0.1:9/parking.csv",
            "format": "csv",
            "readings": {
                "type": "ParkingLot",
                "id_field": "lot_id",
                "time_field": "observed_at",
                "attrs": ["occupied"],
            },
        },
    }
    created = client.post("/api/v1/sources", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["health"]["next_run_at"] is not None
    off = client.post("/api/v1/sources/parking/disable", headers=headers).json()
    assert off["enabled"] is False
    refused = client.post("/api/v1/sources/parking/run", headers=headers)
    assert refused.status_code == 409
    client.post("/api/v1/sources/parking/enable", headers=headers)
    queued = client.post("/api/v1/sources/parking/run", headers=headers)
    assert queued.status_code == 202
    due = dt.datetime.fromisoformat(queued.json()["next_run_at"])
    assert abs((due - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    actions = list(
        db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_id == "parking")
            .order_by(AuditEntry.id)
        )
    )
    assert actions == ["sources.add", "sources.disable", "sources.enable", "sources.run"]


def test_bad_input_is_refused_and_nothing_changes(client: TestClient, db: Session) -> None:
    headers = _headers(db, "admin")
    before = db.scalar(select(func.count()).select_from(Source))
    cases = [
        ({"code": "x", "name": "x", "kind": "telex"}, 422, "no connector of kind 'telex'"),
        ({"code": "Bad Code", "name": "x", "kind": "file"}, 422, None),
        (
            {"code": "x", "name": "x", "kind": "file", "config": {"path": "a", "folder": "b"}},
            422,
            "exactly one of `path`",
        ),
        (
            {"code": "x", "name": "x", "kind": "http_push", "schedule": "sometimes"},
            422,
            "neither an interval",
        ),
    ]
    for body, status, message in cases:
        response = client.post("/api/v1/sources", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        if message:
            assert message in response.json()["detail"]
    assert db.scalar(select(func.count()).select_from(Source)) == before


def test_writing_needs_the_permission(client: TestClient, db: Session) -> None:
    _seed(db)
    body = {"code": "y", "name": "y", "kind": "http_push"}
    assert client.post("/api/v1/sources", json=body).status_code == 401
    mayor = _headers(db, "mayor")
    assert client.post("/api/v1/sources", json=body, headers=mayor).status_code == 403
    assert client.post("/api/v1/sources/air-public/disable", headers=mayor).status_code == 403


def test_the_sources_page_shows_state_in_words(client: TestClient, db: Session) -> None:
    _seed(db)
    health.record_batch(
        db, "air-public", records_in=12, accepted=11, rejected=1, tz=Settings().timezone
    )
    page = client.get("/sources?lang=en")
    assert page.status_code == 200
    html = page.text
    assert "air-public" in html and "cctv-internal" not in html
    assert "Fresh</span>" in html and "12 / 11 / 1" in html
    staff = client.get("/sources?lang=en", headers=_headers(db, "mayor")).text
    assert "Failing</span>" in staff and "token expired at the vendor" in staff
