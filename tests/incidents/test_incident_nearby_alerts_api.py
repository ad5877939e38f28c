"""What is near an incident, alert rules on the live bus, the API and the CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.cli.main import app
from citymeter.entities.ingest import ingest_readings
from citymeter.incidents import alerts, service
from citymeter.incidents.models import Incident, IncidentUnitStage
from citymeter.incidents.service import IncidentIn
from citymeter.live.bus import LiveBus
from citymeter.settings import get_settings
from citymeter.sources.models import Source
from tests.incidents.conftest import SmallCity

T0 = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)
LAT, LON = 37.5, 127.02


def reading(kind: str, local_id: str, dlat: float, **attrs: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "id": local_id,
        "observed_at": T0.isoformat(),
        "attrs": attrs,
        "location": {"lat": LAT + dlat, "lon": LON},
    }


def seed_entities(db: Session, small_city: SmallCity) -> None:
    result = ingest_readings(
        db,
        [
            reading("CctvCamera", "far", 0.004, cameras=2),  # ~445 m
            reading("CctvCamera", "near", 0.001, cameras=1),  # ~111 m
            reading("CctvCamera", "out", 0.02, cameras=1),  # ~2.2 km
            reading("PoliceStation", "p1", -0.01, name="Central"),
            reading("PoliceStation", "p2", 0.03),
            reading("Hospital", "h1", 0.05, emergency=True),
            reading("Hospital", "h2", -0.02, emergency=True),
        ],
        city=small_city.city,
        now=T0,
    )
    assert result.accepted == 7, result


def make(db: Session, number: str = "X-1", severity: int = 2) -> Incident:
    item = IncidentIn.model_validate(
        {
            "number": number,
            "type": "FIRE",
            "category": "fire",
            "reported_at": T0,
            "lat": LAT,
            "lon": LON,
            "severity": severity,
            "address": "1 Main St",
            "remarks": "caller: Kim",
        }
    )
    return service.create_incidents(db, SYSTEM_VIEWER, [item])[0]


def test_nearby_cctv_nearest_first_police_and_hospitals(db: Session, small_city: SmallCity) -> None:
    seed_entities(db, small_city)
    near = service.detail(db, SYSTEM_VIEWER, make(db).number, radius_m=500)["nearby"]
    assert [c["entity_id"].rsplit(":", 1)[1] for c in near["cctv"]] == ["near", "far"]
    assert 100 < near["cctv"][0]["distance_m"] < 120 < 400 < near["cctv"][1]["distance_m"] < 500
    assert near["police_station"]["entity_id"].endswith(":p1")
    assert near["police_station"]["name"] == "Central"
    assert [h["entity_id"][-2:] for h in near["hospitals"]] == ["h2", "h1"]


def test_severity_alert_reaches_the_bus_after_commit(
    db: Session, small_city: SmallCity, bus: LiveBus
) -> None:
    make(db, "LOW", severity=2)
    make(db, "HIGH", severity=5)
    assert bus.recent() == []
    db.commit()
    fired = [e for e in bus.recent() if e.kind == "alert"]
    assert [e.data["number"] for e in fired] == ["HIGH"]
    assert fired[0].visibility == "internal"
    assert fired[0].district_id == small_city.west.id


def test_pm25_hour_and_stale_source_alerts(
    db: Session, small_city: SmallCity, bus: LiveBus
) -> None:
    points = [
        {
            "type": "AirQualityStation",
            "id": sid,
            "observed_at": (T0 + dt.timedelta(minutes=m)).isoformat(),
            "attrs": {"pm25": value + m / 10},
            "location": {"lat": LAT, "lon": LON},
        }
        for sid, value in (("dirty", 60.0), ("clean", 20.0))
        for m in (0, 20, 40)
    ]
    assert (
        ingest_readings(db, points, city=small_city.city, now=T0 + dt.timedelta(hours=1)).accepted
        == 6
    )
    db.add(
        Source(
            code="feed",
            name="Feed",
            kind="push",
            expected_interval_s=60,
            last_success_at=T0 - dt.timedelta(hours=1),
        )
    )
    db.flush()
    fired = alerts.check(db, threshold=35, now=T0 + dt.timedelta(minutes=70))
    assert sorted(a.rule for a in fired) == ["pm25.hour", "source.stale"]
    assert "dirty" in next(a.message for a in fired if a.rule == "pm25.hour")
    db.commit()
    assert sorted(e.data["rule"] for e in bus.recent() if e.kind == "alert") == [
        "pm25.hour",
        "source.stale",
    ]


def token(db: Session, role: str) -> dict[str, str]:
    accounts.create_user(db, SYSTEM_VIEWER, username=f"inc-{role}", role=role, password=None)
    _row, secret = accounts.create_token(db, SYSTEM_VIEWER, f"inc-{role}", "incident tests")
    return {"Authorization": f"Bearer {secret}"}


def test_api_create_list_show_and_stages(
    client: TestClient, db: Session, small_city: SmallCity
) -> None:
    auth = token(db, "data_steward")
    body = {
        "incidents": [
            {
                "number": "API-1",
                "type": "RESCUE",
                "category": "rescue",
                "reported_at": T0.isoformat(),
                "lat": LAT,
                "lon": LON,
                "address": "1 Main St",
                "stages": [
                    {
                        "unit": "R1",
                        "stage": "dispatched",
                        "at": (T0 + dt.timedelta(minutes=1)).isoformat(),
                    }
                ],
            }
        ]
    }
    assert client.post("/api/v1/incidents", json=body).status_code == 401
    created = client.post("/api/v1/incidents", json=body, headers=auth)
    assert created.status_code == 201, created.text
    public = client.get("/api/v1/incidents", params={"type": "RESCUE"}).json()
    assert public["total"] == 1 and "address" not in public["items"][0]
    staged = client.post(
        "/api/v1/incidents/API-1/stages",
        json={"unit": "R1", "stage": "on_scene", "at": (T0 + dt.timedelta(minutes=9)).isoformat()},
        headers=auth,
    )
    assert staged.status_code == 201
    shown = client.get("/api/v1/incidents/API-1?radius_m=300").json()
    assert shown["response_times"] == {"call_to_dispatch_s": 60.0, "dispatch_to_arrival_s": 480.0}
    assert [s["stage"] for s in shown["timeline"]] == ["dispatched", "on_scene"]
    assert shown["district_id"] == small_city.west.id


def test_api_bad_batch_is_problem_json_and_stores_nothing(client: TestClient, db: Session) -> None:
    auth = token(db, "data_steward")
    ok = {"number": "OK", "type": "GAS", "category": "gas", "reported_at": T0.isoformat()}
    bad = {
        **ok,
        "number": "BAD",
        "stages": [
            {"unit": "E1", "stage": "cleared", "at": T0.isoformat()},
            {"unit": "E1", "stage": "dispatched", "at": T0.isoformat()},
        ],
    }
    answer = client.post("/api/v1/incidents", json={"incidents": [ok, bad]}, headers=auth)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "BAD: unit E1: stage 'dispatched' out of order" in answer.text
    assert db.scalar(select(func.count()).select_from(Incident)) == 0
    assert db.scalar(select(func.count()).select_from(IncidentUnitStage)) == 0
    assert client.get("/api/v1/incidents/NOPE").status_code == 404


@pytest.fixture
def cli_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    return database_url


def test_cli_import_list_show_alerts(cli_db: str, tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "incident_num,incident_date,call_type,Unit_Dispatch_Times,Unit_Enroute_Times,"
        "Unit_Arrive_Times,Unit_Clear_Times\n"
        "9,5/1/24 0:00,STRUCFIRE,E1=23:58:00,NULL,E1=00:06:00,NULL\n"
        "10,5/1/24 0:00,STRUCFIRE,E1=1:2,NULL,NULL,NULL\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    dry = runner.invoke(
        app, ["incidents", "import", str(path), "--format", "fire-ems-log", "--dry-run"]
    )
    assert dry.exit_code == 0, dry.output
    assert "Would store 1 incidents" in dry.output and "line 3 (10)" in dry.output
    done = runner.invoke(app, ["incidents", "import", str(path), "--format", "fire-ems-log"])
    assert done.exit_code == 0, done.output
    assert "no location" in done.output and "median 480 s" in done.output
    listed = runner.invoke(app, ["incidents", "list"])
    assert listed.exit_code == 0 and "1 of 1 incidents" in listed.output
    shown = runner.invoke(app, ["incidents", "show", "9"])
    assert "dispatch → first arrival: 480 s" in shown.output and "no location" in shown.output
    missing = runner.invoke(app, ["incidents", "show", "nope"])
    assert missing.exit_code == 1 and "No incident 'nope'" in missing.output
    wrong = runner.invoke(app, ["incidents", "import", str(path), "--format", "csv"])
    assert wrong.exit_code == 1 and "Unknown format" in wrong.output
    checked = runner.invoke(app, ["incidents", "alerts", "--check"])
    assert checked.exit_code == 0 and "0 alerts raised" in checked.output
