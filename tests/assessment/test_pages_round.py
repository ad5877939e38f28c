"""A round run end to end through the pages, as the demo roles would: the certification body
opens it, a city applies and submits, assessors score, the body decides and certifies, anyone
verifies, the body records surveillance and withdraws. And who may not see what."""

from __future__ import annotations

import datetime as dt
import io
import re

from fastapi.testclient import TestClient
from httpx import Response
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.assessment import ledger, rounds
from citymeter.assessment.models import Application, ItemScore, SelfAssessmentEntry
from citymeter.places import service as places
from tests.assessment.conftest import make_city

PASSWORD = "correct-horse-battery"
KOREAN_NAME = "한빛특별시"
KITEMARK = "iso37106-kitemark-style"


def _users(db: Session) -> None:
    make_city(db, "hanbit", 1_000_000)
    make_city(db, "other", 200_000)
    places.get_city(db, "hanbit").name = KOREAN_NAME
    for username, role, city in (
        ("certifier", "certifier_admin", None),
        ("official", "official", "hanbit"),
        ("rival", "official", "other"),
        ("assessor1", "assessor", None),
        ("assessor2", "assessor", None),
        ("assessor3", "assessor", None),
    ):
        user = accounts.create_user(
            db, SYSTEM_VIEWER, username=username, role=role, password=PASSWORD
        )
        if city:
            user.city_id = places.get_city(db, city).id
    db.flush()


def _login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def _token(page: Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def _post(client: TestClient, page_url: str, action: str, data: dict[str, str]) -> Response:
    """Post a form the way the browser does: with the token of the page it is on."""
    token = _token(client.get(page_url))
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def test_a_round_end_to_end_through_the_pages(db: Session, client: TestClient) -> None:
    _users(db)
    today = dt.datetime.now(dt.UTC).date()

    # The certification body opens a round.
    _login(client, "certifier")
    home = client.get("/certification?lang=ko")
    assert home.status_code == 200 and "회차 열기" in home.text
    refused = client.post("/certification/rounds", data={"code": "X"}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    opened = _post(
        client,
        "/certification",
        "/certification/rounds",
        {
            "code": "KM-2026",
            "name": "Kitemark-style 2026",
            "framework": KITEMARK,
            "opens": today.isoformat(),
            "closes": (today + dt.timedelta(days=30)).isoformat(),
        },
    )
    assert opened.status_code == 303
    assert opened.headers["location"].startswith("/certification/rounds/KM-2026")
    assert "KM-2026" in client.get("/certification/rounds/KM-2026").text

    # The city's coordinator applies, fills the self-assessment, adds evidence and submits.
    _login(client, "official")
    applied = _post(
        client, "/certification", "/certification/apply", {"round": "KM-2026", "consent": "yes"}
    )
    assert applied.status_code == 303, applied.text
    app_url = applied.headers["location"].split("?")[0]
    app_id = int(app_url.rsplit("/", 1)[1])
    page = client.get(app_url + "?lang=en")
    assert page.status_code == 200 and KOREAN_NAME in page.text and "Before submitting" in page.text
    framework = rounds.framework_of(rounds.get_round(db, "KM-2026"))
    items = [i.id for i in framework.all_items()]
    bad = _post(client, app_url, f"{app_url}/claims", {f"claim-{items[0]}": "9"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert db.scalar(select(SelfAssessmentEntry.id)) is None  # nothing saved
    claims = {f"claim-{i}": "4" for i in items}
    claims.update({f"justification-{i}": "See the evidence pack." for i in items})
    saved = _post(client, app_url, f"{app_url}/claims", claims)
    assert saved.status_code == 303
    token = _token(client.get(app_url))
    uploaded = client.post(
        f"{app_url}/evidence",
        data={"csrf_token": token, "title": "Smart city strategy", "elements": items[0]},
        files={"file": ("strategy.pdf", b"%PDF-1.4\n% strategy\n", "application/pdf")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    page = client.get(app_url)
    assert "Smart city strategy" in page.text and 'id="complete"' in page.text
    assert _post(client, app_url, f"{app_url}/submit", {}).status_code == 303
    assert 'id="status">submitted' in client.get(app_url).text

    # Another city's coordinator cannot see it.
    _login(client, "rival")
    assert client.get(app_url).status_code == 404
    assert client.get(f"{app_url}/report").status_code == 404

    # The body assigns two assessors.
    _login(client, "certifier")
    committee_url = f"{app_url}/committee"
    for name in ("assessor1", "assessor2"):
        made = _post(client, committee_url, f"{app_url}/assessors", {"assessor": name})
        assert made.status_code == 303, made.text

    # Assessors score stage 1 after confirming they have no conflict of interest.
    score_url = f"{app_url}/score/stage-1"
    for name, first in (("assessor1", "4"), ("assessor2", "2")):
        _login(client, name)
        assert f"/certification/applications/{app_id}" in client.get("/certification").text
        scores = {f"score-{i}": "4" for i in items}
        scores.update({f"comment-{i}": "Evidence reviewed." for i in items})
        scores[f"score-{items[0]}"] = first
        no_coi = _post(client, score_url, score_url, scores)
        assert no_coi.status_code == 422 and "conflict of interest" in no_coi.text
        done = _post(client, score_url, score_url, {**scores, "no_conflict": "yes"})
        assert done.status_code == 303, done.text
    assert len(db.scalars(select(ItemScore)).all()) == 2 * len(items)

    # An assessor who is not assigned sees nothing of it.
    _login(client, "assessor3")
    assert client.get(app_url).status_code == 404
    assert client.get(score_url).status_code == 404
    assert f"/certification/applications/{app_id}" not in client.get("/certification").text

    # The committee sees the disagreement, decides and certifies.
    _login(client, "certifier")
    view = client.get(committee_url)
    assert view.status_code == 200 and "⚑" in view.text and 'id="result"' in view.text
    decided = _post(client, committee_url, f"{app_url}/decision", {"reasons": "All items III+."})
    assert decided.status_code == 303
    assert 'id="decision"' in client.get(committee_url).text
    report = client.get(f"{app_url}/report?format=pdf")
    assert report.headers["content-type"] == "application/pdf"
    assert KOREAN_NAME in PdfReader(io.BytesIO(report.content)).pages[0].extract_text()
    issued = _post(client, committee_url, f"{app_url}/certificate", {"scope": ""})
    assert issued.status_code == 303, issued.text
    cert_url = issued.headers["location"].split("?")[0]
    number = cert_url.rsplit("/", 1)[1]

    # The applicant reads the decided report.
    _login(client, "official")
    own_report = client.get(f"{app_url}/report?lang=en")
    assert own_report.status_code == 200 and "Strengths" in own_report.text
    api_report = client.get(f"/api/v1/applications/{app_id}/report?format=html&lang=en")
    assert api_report.status_code == 200 and KOREAN_NAME in api_report.text

    # Anyone verifies the certificate and prints it.
    client.cookies.clear()
    assert "This certificate is valid." in client.get(f"/certificates/{number}?lang=en").text
    printed = client.get(f"/certification/certificates/{number}/pdf")
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF-")
    api_pdf = client.get(f"/api/v1/certificates/{number}/document?format=pdf")
    assert api_pdf.status_code == 200 and api_pdf.headers["content-type"] == "application/pdf"
    assert client.get(cert_url, follow_redirects=False).status_code == 303  # needs a login
    assert client.get(f"/api/v1/applications/{app_id}/report").status_code == 401

    # The body records the yearly surveillance audit; renewal is by recertification here.
    _login(client, "certifier")
    surveilled = _post(
        client, cert_url, f"{cert_url}/surveillance", {"outcome": "Practices maintained."}
    )
    assert surveilled.status_code == 303
    assert "Practices maintained." in client.get(cert_url).text
    renewal = _post(client, cert_url, f"{cert_url}/renew", {"reason": "Asked."})
    assert renewal.status_code == 409 and "recertification" in renewal.text
    withdrawn = _post(client, cert_url, f"{cert_url}/withdraw", {"reason": "Scope misused."})
    assert withdrawn.status_code == 303
    assert 'id="status">withdrawn' in client.get(cert_url).text
    assert client.get(f"/certification/certificates/{number}/pdf").status_code == 409
    assert ledger.verify(db).intact
    application = db.get(Application, app_id)
    assert application is not None and application.status == "decided"


def test_pages_send_anonymous_visitors_to_the_login(client: TestClient) -> None:
    response = client.get("/certification/applications/1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/certification/applications/1"


def test_the_demo_assessor_account_has_an_assignment_to_score(
    db: Session, client: TestClient
) -> None:
    from citymeter.assessment.demo import OPEN, build_certification_demo

    accounts.create_user(db, SYSTEM_VIEWER, username="assessor", role="assessor", password=PASSWORD)
    assert build_certification_demo(db, SYSTEM_VIEWER) is not None
    _login(client, "assessor")
    home = client.get("/certification?lang=en")
    found = re.search(
        r'href="/certification/applications/(\d+)\?lang=en">Application \d+ · ' + OPEN, home.text
    )
    assert found is not None, home.text
    page = client.get(
        f"/certification/applications/{found.group(1)}/score/document-evaluation?lang=en"
    )
    assert page.status_code == 200 and "I confirm I have no conflict of interest" in page.text
