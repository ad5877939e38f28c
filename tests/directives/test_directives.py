"""Directives: issue from an incident, complaints or an indicator; acknowledge, answer, close;
district heads kept to their district; overdue; audit; the API's permissions and the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from citymeter.accounts import service as accounts
from citymeter.accounts.models import AuditEntry
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.cli.main import app
from citymeter.complaints import service as complaints
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.directives.models import Directive
from citymeter.incidents import service as incidents
from citymeter.incidents.service import IncidentIn
from citymeter.places import service as places
from citymeter.settings import get_settings
from tests.directives.conftest import People, SmallCity
from tests.entities.conftest import EAST_POINT, WEST_POINT, box

DUE = (dt.date.today() + dt.timedelta(days=7)).isoformat()


def _incident(db: Session, number: str, point: dict[str, float]) -> None:
    item = IncidentIn.model_validate(
        {
            "number": number,
            "type": "FIRE",
            "category": "fire",
            "reported_at": dt.datetime.now(dt.UTC),
            "lat": point["lat"],
            "lon": point["lon"],
            "severity": 3,
        }
    )
    incidents.create_incidents(db, SYSTEM_VIEWER, [item])


def _complaint(db: Session, small_city: SmallCity, point: dict[str, float]) -> str:
    if complaints.find_service(db, small_city.city, "pothole") is None:
        complaints.create_service_type(
            db, SYSTEM_VIEWER, small_city.city, code="pothole", name="Pothole"
        )
    request = complaints.submit_request(
        db,
        SYSTEM_VIEWER,
        small_city.city,
        complaints.NewRequest(
            service_code="pothole", lat=point["lat"], long=point["lon"], description="hole"
        ),
    )
    return request.service_request_id


def _body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "department": "소방재난본부",
        "title": "화재 현장 후속 조치",
        "instruction": "피해 주민 지원 계획을 보고하세요.",
        "due_on": DUE,
    }
    body.update(extra)
    return body


def test_mayor_issues_department_answers_mayor_closes(
    client: TestClient, db: Session, small_city: SmallCity, people: People
) -> None:
    _incident(db, "F-1", WEST_POINT)
    issued = client.post(
        "/api/v1/directives", json=_body(incident="F-1"), headers=people.auth("mayor")
    )
    assert issued.status_code == 201, issued.text
    d = issued.json()
    assert d["status"] == "issued" and d["subject"] == {"kind": "incident", "incident": "F-1"}
    assert d["district"]["code"] == "W"  # from the incident's location
    assert d["issued"]["by"] == "mayor" and d["overdue"] is False
    url = f"/api/v1/directives/{d['id']}"
    # The issuing side cannot answer; the department cannot close.
    assert (
        client.post(f"{url}/answer", json={"text": "x"}, headers=people.auth("mayor")).status_code
        == 403
    )
    early = client.post(f"{url}/close", json={}, headers=people.auth("mayor"))
    assert early.status_code == 409 and "closed once answered" in early.json()["detail"]
    ack = client.post(f"{url}/acknowledge", headers=people.auth("official"))
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert client.post(f"{url}/acknowledge", headers=people.auth("official")).status_code == 409
    answered = client.post(
        f"{url}/answer", json={"text": "임시 거처 12세대 지원 완료"}, headers=people.auth("steward")
    )
    assert answered.status_code == 200
    assert answered.json()["answer"]["by"] == "steward"
    again = client.post(f"{url}/answer", json={"text": "또"}, headers=people.auth("official"))
    assert again.status_code == 409
    assert client.post(f"{url}/close", json={}, headers=people.auth("official")).status_code == 403
    closed = client.post(f"{url}/close", json={"note": "확인"}, headers=people.auth("mayor"))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    actions = list(
        db.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "directive", AuditEntry.object_id == str(d["id"]))
            .order_by(AuditEntry.id)
        )
    )
    assert actions == [
        "directive.issue",
        "directive.acknowledge",
        "directive.answer",
        "directive.close",
    ]


def test_district_head_is_kept_to_their_district(
    client: TestClient, db: Session, small_city: SmallCity, people: People
) -> None:
    head = people.auth("head.west")
    own = client.post("/api/v1/directives", json=_body(), headers=head)
    assert own.status_code == 201 and own.json()["district"]["code"] == "W"
    other = client.post("/api/v1/directives", json=_body(district="E"), headers=head)
    assert other.status_code == 403 and "own district" in other.json()["detail"]
    _incident(db, "F-E", EAST_POINT)
    via_subject = client.post("/api/v1/directives", json=_body(incident="F-E"), headers=head)
    assert via_subject.status_code == 403
    east = client.post(
        "/api/v1/directives", json=_body(district="E"), headers=people.auth("mayor")
    ).json()
    citywide = client.post("/api/v1/directives", json=_body(), headers=people.auth("mayor")).json()
    assert citywide["district"] is None
    seen = {d["id"] for d in client.get("/api/v1/directives", headers=head).json()["items"]}
    assert seen == {own.json()["id"]}
    assert client.get(f"/api/v1/directives/{east['id']}", headers=head).status_code == 404
    mayor_sees = client.get("/api/v1/directives", headers=people.auth("mayor")).json()["items"]
    assert len(mayor_sees) == 3
    # The head cannot close the East directive even once answered.
    client.post(
        f"/api/v1/directives/{east['id']}/answer",
        json={"text": "ok"},
        headers=people.auth("official"),
    )
    assert (
        client.post(f"/api/v1/directives/{east['id']}/close", json={}, headers=head).status_code
        == 404
    )


def test_subjects_and_bad_input(
    client: TestClient, db: Session, small_city: SmallCity, people: People
) -> None:
    mayor = people.auth("mayor")
    west_ids = [_complaint(db, small_city, WEST_POINT) for _ in range(3)]
    east_id = _complaint(db, small_city, EAST_POINT)
    cluster = client.post("/api/v1/directives", json=_body(complaints=west_ids), headers=mayor)
    assert cluster.status_code == 201
    assert cluster.json()["subject"] == {"kind": "complaint_cluster", "complaints": west_ids}
    assert cluster.json()["district"]["code"] == "W"
    mixed = client.post(
        "/api/v1/directives", json=_body(complaints=[west_ids[0], east_id]), headers=mayor
    )
    assert mixed.json()["district"] is None
    single = client.post("/api/v1/directives", json=_body(complaints=[east_id]), headers=mayor)
    assert single.json()["subject"]["kind"] == "complaint"
    by_type = client.post(
        "/api/v1/directives", json=_body(service_code="pothole", district="E"), headers=mayor
    )
    assert by_type.json()["subject"] == {
        "kind": "complaint_cluster",
        "service_code": "pothole",
        "district": "E",
    }
    indicator = client.post(
        "/api/v1/directives", json=_body(indicator="employment_rate"), headers=mayor
    )
    assert indicator.status_code == 201
    before = db.scalar(select(func.count()).select_from(Directive))
    bad = [
        (_body(incident="NOPE"), 422, "no incident 'NOPE'"),
        (_body(complaints=["X-404"]), 422, "no complaint X-404"),
        (_body(service_code="graffiti"), 422, "no complaint type"),
        (_body(indicator="happiness_index"), 422, "no indicator"),
        (_body(incident="F", indicator="employment_rate"), 422, "about one thing"),
        (_body(due_on="2020-01-01"), 422, "has passed"),
        (_body(department=" "), 422, "Name the department"),
        (_body(district="W1"), 422, "not a district"),
    ]
    for body, code, message in bad:
        response = client.post("/api/v1/directives", json=body, headers=mayor)
        assert response.status_code == code, (body, response.text)
        assert message in response.json()["detail"], response.json()
    assert client.post("/api/v1/directives", json=_body()).status_code == 401
    official = client.post("/api/v1/directives", json=_body(), headers=people.auth("official"))
    assert official.status_code == 403
    assert client.get("/api/v1/directives", headers=people.auth("resident")).status_code == 403
    assert db.scalar(select(func.count()).select_from(Directive)) == before


def test_overdue_is_computed_from_the_due_day(
    client: TestClient, db: Session, small_city: SmallCity, people: People
) -> None:
    mayor = people.auth("mayor")
    late = client.post("/api/v1/directives", json=_body(title="late"), headers=mayor).json()
    client.post("/api/v1/directives", json=_body(title="on time"), headers=mayor)
    row = db.get(Directive, late["id"])
    assert row is not None
    row.due_on = dt.date.today() - dt.timedelta(days=3)  # as if issued long ago
    db.flush()
    shown = client.get(f"/api/v1/directives/{late['id']}", headers=mayor).json()
    assert shown["overdue"] is True
    overdue = client.get("/api/v1/directives", params={"overdue": True}, headers=mayor).json()
    assert [d["title"] for d in overdue["items"]] == ["late"]
    client.post(
        f"/api/v1/directives/{late['id']}/answer",
        json={"text": "늦었습니다"},
        headers=people.auth("official"),
    )
    answered = client.get(f"/api/v1/directives/{late['id']}", headers=mayor).json()
    assert answered["overdue"] is False and answered["answered_late"] is True
    assert (
        client.get("/api/v1/directives", params={"status": "lost"}, headers=mayor).status_code
        == 422
    )


def test_cli_issue_list_answer_close(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        city = places.create_city(session, SYSTEM_VIEWER, code="testville", name="Testville")
        places.add_area(
            session,
            None,
            city=city,
            code="W",
            level="district",
            name="West",
            parent=places.root_area_of(session, city),
            boundary=box(127.0, 37.4, 127.1, 37.6),
        )
        for username, role in (("mayor", "mayor"), ("official", "official")):
            accounts.create_user(
                session, SYSTEM_VIEWER, username=username, role=role, password=None
            )
        session.commit()
    engine.dispose()
    runner = CliRunner()
    issue = [
        "directives",
        "issue",
        "--department",
        "도로과",
        "--title",
        "포트홀 정비",
        "--instruction",
        "이번 주 안에 정비",
        "--due",
        DUE,
        "--district",
        "W",
    ]
    refused = runner.invoke(app, [*issue, "--as", "official"])
    assert refused.exit_code == 1 and "may not issue" in refused.output
    done = runner.invoke(app, [*issue, "--as", "mayor"])
    assert done.exit_code == 0 and "Issued directive 1" in done.output, done.output
    listed = runner.invoke(app, ["directives", "list", "--as", "official"])
    assert listed.exit_code == 0 and "포트홀 정비" in listed.output and "issued" in listed.output
    answered = runner.invoke(
        app, ["directives", "answer", "1", "--as", "official", "--text", "정비 완료"]
    )
    assert answered.exit_code == 0, answered.output
    closed = runner.invoke(app, ["directives", "close", "1", "--as", "mayor", "--note", "확인"])
    assert closed.exit_code == 0
    final = runner.invoke(app, ["directives", "list", "--as", "mayor", "--status", "closed"])
    assert "closed" in final.output and "1 directives" in final.output
    nobody = runner.invoke(app, ["directives", "list", "--as", "ghost"])
    assert nobody.exit_code == 1
    get_settings.cache_clear()
