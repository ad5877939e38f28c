"""The filing lane answers URL-encoded Open311 filings in front of the router, with the route's
own code; everything else reaches the app untouched, and both give the same answer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from citymeter.accounts import service as accounts
from citymeter.cli.common import CLI_ACTOR
from citymeter.complaints import service
from citymeter.complaints.models import ServiceRequest
from citymeter.places.service import add_area, create_city
from citymeter.web.api.open311_lane import Open311FilingLane

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[127.0, 37.5], [127.1, 37.5], [127.1, 37.6], [127.0, 37.6], [127.0, 37.5]]],
}


@pytest.fixture
def api_key(db: Session) -> str:
    city = create_city(db, CLI_ACTOR, code="lanecity", name="Lane City")
    add_area(db, CLI_ACTOR, city=city, code="d1", level="district", name="D1", boundary=SQUARE)
    service.create_service_type(
        db, CLI_ACTOR, city, code="pothole", name="Pothole", target_hours=48, department="Roads"
    )
    accounts.create_user(db, CLI_ACTOR, username="desk", role="official", password=None)
    _, secret = accounts.create_token(db, CLI_ACTOR, "desk", "311 desk")
    db.flush()
    return secret


def _form(key: str, description: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "pothole",
        "lat": "37.55",
        "long": "127.05",
        "description": description,
        "email": "me@example.org",
    }


class _RecordingApp:
    """Stands for the rest of the app: notes what reached it and answers 299."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append((scope["method"], scope["path"]))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})


@pytest.fixture
def lane(client: TestClient) -> tuple[TestClient, _RecordingApp]:
    """The lane in front of a recording app, with the real app's sessions (the test's own)."""
    rest = _RecordingApp()
    owner: Any = client.app
    return TestClient(Open311FilingLane(rest, owner=owner)), rest


def test_a_url_encoded_filing_is_answered_by_the_lane_and_stored(
    lane: tuple[TestClient, _RecordingApp], db: Session, api_key: str
) -> None:
    http, rest = lane
    answer = http.post("/open311/v2/requests.json", data=_form(api_key, "Lane hole"))
    assert answer.status_code == 201, answer.text
    assert rest.seen == []
    [created] = answer.json()
    stored = db.scalar(
        select(ServiceRequest).where(
            ServiceRequest.service_request_id == created["service_request_id"]
        )
    )
    assert stored is not None
    assert (stored.description, stored.status, stored.department) == ("Lane hole", "open", "Roads")
    assert stored.district_id is not None and stored.token == created["token"]


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/open311/v2/requests.json", {"files": {"media": ("a.txt", b"x")}}),  # multipart
        ("/open311/v2/requests.json", {"headers": {"Authorization": "Bearer abc"}}),
        ("/open311/v2/requests.json", {"cookies": {"citymeter_session": "abc"}}),
        ("/open311/v2/requests.xml", {"json": {"service_code": "pothole"}}),
        ("/open311/v2/services.json", {}),
    ],
    ids=["multipart", "bearer", "browser-session", "json-body", "other-path"],
)
def test_everything_else_reaches_the_app(
    lane: tuple[TestClient, _RecordingApp], path: str, kwargs: dict[str, Any]
) -> None:
    http, rest = lane
    if "cookies" in kwargs:
        http.cookies.update(kwargs.pop("cookies"))
    answer = http.post(path, **kwargs)
    assert answer.status_code == 299 and rest.seen == [("POST", path)]


def test_get_reaches_the_app(lane: tuple[TestClient, _RecordingApp]) -> None:
    http, rest = lane
    assert http.get("/open311/v2/requests.json").status_code == 299
    assert rest.seen == [("GET", "/open311/v2/requests.json")]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_lane_and_route_give_the_same_answers(
    client: TestClient, db: Session, api_key: str, fmt: str
) -> None:
    url = f"/open311/v2/requests.{fmt}"
    # URL-encoded: the lane. Multipart (a form with a file part): the route.
    by_lane = client.post(url, data=_form(api_key, "Same hole"))
    by_route = client.post(url, data=_form(api_key, "Same hole"), files={"f": ("f.txt", b"x")})
    assert by_lane.status_code == by_route.status_code == 201
    assert by_lane.headers["content-type"] == by_route.headers["content-type"]
    rows = db.scalars(select(ServiceRequest).where(ServiceRequest.description == "Same hole")).all()
    assert len(rows) == 2
    a, b = rows
    assert (a.service_code, a.district_id, a.area_id, a.status, a.department) == (
        b.service_code,
        b.district_id,
        b.area_id,
        b.status,
        b.department,
    )
    # Errors too: an unknown service code is the same Open311 400 both ways.
    bad = {**_form(api_key, "x"), "service_code": "nope"}
    lane_error = client.post(url, data=bad)
    route_error = client.post(url, data=bad, files={"f": ("f.txt", b"x")})
    assert lane_error.status_code == route_error.status_code == 400
    assert lane_error.text == route_error.text
    # And a missing api_key.
    anonymous = {k: v for k, v in _form(api_key, "x").items() if k != "api_key"}
    lane_refusal = client.post(url, data=anonymous)
    route_refusal = client.post(url, data=anonymous, files={"f": ("f.txt", b"x")})
    assert lane_refusal.status_code == route_refusal.status_code == 403
    assert lane_refusal.text == route_refusal.text


def test_an_oversized_url_encoded_filing_is_refused_with_413(
    client: TestClient, db: Session, api_key: str
) -> None:
    before = len(db.scalars(select(ServiceRequest)).all())
    big = _form(api_key, "x" * (2 * 1024 * 1024))  # the test settings allow 1 MB
    answer = client.post("/open311/v2/requests.json", data=big)
    assert answer.status_code == 413
    assert "CITYMETER_MAX_UPLOAD_MB" in answer.json()["detail"]
    assert len(db.scalars(select(ServiceRequest)).all()) == before


def test_a_bad_bearer_token_is_a_401_problem_from_the_route(
    client: TestClient, api_key: str
) -> None:
    form = {k: v for k, v in _form(api_key, "x").items() if k != "api_key"}
    answer = client.post(
        "/open311/v2/requests.json", data=form, headers={"Authorization": "Bearer cm_wrong"}
    )
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "API token is not valid" in answer.json()["detail"]
