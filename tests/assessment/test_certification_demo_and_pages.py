"""The certification demo, the public pages and API, and the CLI's tamper check."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from citymeter.accounts.permissions import PUBLIC_VIEWER, SYSTEM_VIEWER
from citymeter.assessment import benchmarking, certificates, ledger
from citymeter.assessment.demo import FINISHED, build_certification_demo
from citymeter.cli.main import app
from citymeter.settings import get_settings

TODAY = dt.date(2026, 6, 15)


def test_demo_builds_a_finished_round_a_due_surveillance_and_an_open_round(db: Session) -> None:
    made = build_certification_demo(db, SYSTEM_VIEWER, today=TODAY)
    assert made is not None
    assert 0 < made.certified < 8  # mixed results
    registry = certificates.registry(db, FINISHED, today=TODAY)
    assert {c.class_id for c in registry} <= {"large", "small"}
    reminders = certificates.due(db, SYSTEM_VIEWER, 30, today=TODAY)
    assert any(r.what == "surveillance" for r in reminders)
    body_view = benchmarking.benchmark(db, SYSTEM_VIEWER, FINISHED, "large")
    assert [row.rank for row in body_view.cities] == sorted(row.rank for row in body_view.cities)
    assert len(body_view.cities) == 4 and len(body_view.items) == 53
    public_view = benchmarking.benchmark(db, PUBLIC_VIEWER, FINISHED)
    assert len(public_view.cities) == 8  # every demo city consented
    assert ledger.verify(db).intact
    assert build_certification_demo(db, SYSTEM_VIEWER, today=TODAY) is None


def test_public_verification_page_registry_and_api(db: Session, client: TestClient) -> None:
    made = build_certification_demo(db, SYSTEM_VIEWER)
    assert made is not None
    number = made.certificates[0]
    page = client.get(f"/certificates/{number}?lang=en")
    assert page.status_code == 200 and "This certificate is valid." in page.text
    korean = client.get(f"/certificates/{number}?lang=ko")
    assert "유효한 인증서입니다." in korean.text and 'lang="ko"' in korean.text
    missing = client.get("/certificates/<b>CM-1999-00001</b>?lang=en")
    assert missing.status_code == 404 and "<b>CM-1999" not in missing.text
    registry = client.get("/certificates?lang=en")
    assert registry.status_code == 200 and number in registry.text
    assert "인증서 등록부" in client.get("/certificates?lang=ko").text
    # The filters offer the rounds and classes the registry holds; a filter narrows the list.
    assert '<option value="DEMO-KR-FINISHED"' in registry.text
    small = client.get("/certificates?class=small&lang=en").text
    rows = small.count('<tr>\n    <td><a href="/certificates/')
    assert 0 < rows < registry.text.count('<tr>\n    <td><a href="/certificates/')
    api = client.get(f"/api/v1/certificates/{number}").json()
    assert api["status"] == "valid"
    # Anonymous callers cannot read applications, evidence or the committee view.
    assert client.get("/api/v1/applications").status_code == 401
    assert client.get("/api/v1/applications/1/committee").status_code == 401


def test_audit_verify_names_a_tampered_entry(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    opened = runner.invoke(
        app,
        [
            "rounds",
            "open",
            "T1",
            "--framework",
            "iso37106-kitemark-style",
            "--name",
            "Test",
            "--closes",
            "2099-01-01",
        ],
    )
    assert opened.exit_code == 0, opened.output
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 1 entries" in ok.output
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE assessment_ledger SET actor = 'someone-else' WHERE seq = 1"))
    engine.dispose()
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "entry 1 (seq 1, round.open" in broken.output
    get_settings.cache_clear()
