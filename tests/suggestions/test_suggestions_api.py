"""Suggestions through the API: filing, privacy of the author, votes, official responses and
bad input."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.models import AuditEntry
from citymeter.suggestions.models import Suggestion, SuggestionVote
from tests.entities.conftest import EAST_POINT, OUTSIDE_POINT, WEST_POINT
from tests.suggestions.conftest import People, SmallCity

PERSONAL = ("author_name", "author_contact", "author_user_id", "lat", "lon", "internal")


def _new(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "학교 앞 횡단보도 설치",
        "body": "초등학교 앞 도로에 횡단보도와 신호등을 설치해주세요.",
        "category": "safety",
        "lat": WEST_POINT["lat"],
        "lon": WEST_POINT["lon"],
        "author_name": "김민지",
        "author_contact": "010-1234-5678",
    }
    body.update(extra)
    return body


def _count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Suggestion)) or 0


def _file(client: TestClient, people: People, who: str = "resident", **extra: Any) -> int:
    response = client.post("/api/v1/suggestions", json=_new(**extra), headers=people.auth(who))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_resident_files_and_public_sees_no_personal_fields(
    client: TestClient, db: Session, small_city: SmallCity, people: People
) -> None:
    response = client.post("/api/v1/suggestions", json=_new(), headers=people.auth("resident"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["district"] == {"code": "W", "name": "West"}
    assert created["area"] == {"code": "W1", "name": "Old Town"}
    assert created["status"] == "open" and created["votes"] == 0

    public = client.get(f"/api/v1/suggestions/{created['id']}")
    assert public.status_code == 200
    text = public.text
    for key in PERSONAL:
        assert key not in public.json()
    assert "김민지" not in text and "010-1234-5678" not in text
    listed = client.get("/api/v1/suggestions").json()
    assert listed["total"] == 1 and "김민지" not in str(listed)

    # Staff who read internal data see the author, for follow-up.
    staff = client.get(f"/api/v1/suggestions/{created['id']}", headers=people.auth("official"))
    internal = staff.json()["internal"]
    assert internal["author_name"] == "김민지"
    assert internal["author_user_id"] == people.viewers["resident"].user_id
    # A district head sees authors of their own district only.
    head = client.get(f"/api/v1/suggestions/{created['id']}", headers=people.auth("head.west"))
    assert "internal" in head.json()
    east_id = _file(client, people, lat=EAST_POINT["lat"], lon=EAST_POINT["lon"])
    head_east = client.get(f"/api/v1/suggestions/{east_id}", headers=people.auth("head.west"))
    assert "internal" not in head_east.json()


def test_filing_needs_a_login_or_key_and_the_permission(
    client: TestClient, db: Session, small_city: SmallCity, people: People
) -> None:
    anonymous = client.post("/api/v1/suggestions", json=_new())
    assert anonymous.status_code == 401
    assessor = client.post("/api/v1/suggestions", json=_new(), headers=people.auth("assessor"))
    assert assessor.status_code == 403
    assert _count(db) == 0
    # A city system (an official's API key) files on behalf of its e-participation portal.
    _file(client, people, who="official", area_code="E", lat=None, lon=None)
    stored = db.scalars(select(Suggestion)).one()
    assert stored.district_id == small_city.east.id and stored.area_id == small_city.east.id


def test_bad_input_is_refused_clearly_and_nothing_is_stored(
    client: TestClient, db: Session, small_city: SmallCity, people: People
) -> None:
    auth = people.auth("resident")
    cases = [
        (_new(lat=OUTSIDE_POINT["lat"], lon=OUTSIDE_POINT["lon"]), "outside Testville"),
        (_new(lat=None, lon=None, area_code="NOPE"), "no area with the code 'NOPE'"),
        (_new(category="parks-and-stuff"), "category is one of"),
        (_new(title="  "), "needs a title"),
        (_new(lat=37.5, lon=None), "both lat and lon"),
        (_new(area_code="E"), "not both"),
    ]
    for body, message in cases:
        response = client.post("/api/v1/suggestions", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert message in response.json()["detail"], response.json()
    too_long = client.post("/api/v1/suggestions", json=_new(body="가" * 4001), headers=auth)
    assert too_long.status_code == 422
    assert _count(db) == 0


def test_one_vote_per_account_and_per_client_token(
    client: TestClient, db: Session, small_city: SmallCity, people: People
) -> None:
    sid = _file(client, people)
    url = f"/api/v1/suggestions/{sid}/votes"
    token = {"X-Client-Token": "browser-7f3a9c2e5d1b4a68"}
    first = client.post(url, headers=token)
    assert first.status_code == 201 and first.json()["votes"] == 1
    again = client.post(url, headers=token)
    assert again.status_code == 409
    assert "already voted" in again.json()["detail"]
    no_token = client.post(url)
    assert no_token.status_code == 422 and "client token" in no_token.json()["detail"]
    short = client.post(url, headers={"X-Client-Token": "abc"})
    assert short.status_code == 422
    mine = client.post(url, headers=people.auth("resident"))
    assert mine.status_code == 201 and mine.json()["votes"] == 2
    assert client.post(url, headers=people.auth("resident")).status_code == 409
    assert client.post(url, headers=people.auth("mayor")).json()["votes"] == 3
    assert db.scalar(select(func.count()).select_from(SuggestionVote)) == 3
    # Only a hash of the client token is kept.
    voters = set(db.scalars(select(SuggestionVote.voter)))
    assert not any("browser-7f3a" in v for v in voters)
    by_votes = client.get("/api/v1/suggestions", params={"sort": "votes"}).json()
    assert by_votes["items"][0]["votes"] == 3
    missing = client.post("/api/v1/suggestions/999999/votes", headers=token)
    assert missing.status_code == 404


def test_official_response_sets_the_outcome_and_is_public(
    client: TestClient, db: Session, small_city: SmallCity, people: People
) -> None:
    sid = _file(client, people)
    body = {
        "text": "내년 예산에 반영하여 설치하겠습니다.",
        "outcome": "adopted",
        "responder": "교통과",
    }
    refused = client.put(
        f"/api/v1/suggestions/{sid}/response", json=body, headers=people.auth("resident")
    )
    assert refused.status_code == 403
    review = client.post(f"/api/v1/suggestions/{sid}/review", headers=people.auth("official"))
    assert review.status_code == 200 and review.json()["status"] == "under_review"
    bad = client.put(
        f"/api/v1/suggestions/{sid}/response",
        json={**body, "outcome": "maybe"},
        headers=people.auth("official"),
    )
    assert bad.status_code == 422 and "outcome is one of" in bad.json()["detail"]
    done = client.put(
        f"/api/v1/suggestions/{sid}/response", json=body, headers=people.auth("official")
    )
    assert done.status_code == 200, done.text
    seen = client.get(f"/api/v1/suggestions/{sid}").json()
    assert seen["status"] == "adopted"
    assert seen["response"]["text"] == body["text"] and seen["response"]["responder"] == "교통과"
    # A decided suggestion no longer collects votes.
    closed = client.post(f"/api/v1/suggestions/{sid}/votes", headers={"X-Client-Token": "x" * 20})
    assert closed.status_code == 409
    actions = set(
        db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "suggestion"))
    )
    assert {"suggestion.review", "suggestion.respond"} <= actions
    filtered = client.get("/api/v1/suggestions", params={"status": "adopted", "district": "W"})
    assert filtered.json()["total"] == 1
    assert client.get("/api/v1/suggestions", params={"status": "lost"}).status_code == 422
