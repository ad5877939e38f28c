"""The filing lane answers URL-encoded Open311 filings in front of the router, with the route's
own code; everything else reaches the app untouched, and both give the same answer."""

from __future__ import annotations

import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.cli.common import CLI_ACTOR
from citymeter.complaints import service
from citymeter.complaints.models import ServiceRequest
from citymeter.places.service import add_area, create_city
from citymeter.web.api.open311_lane import Filing, Open311FilingLane
from citymeter.web.write_lane import _Job
from tests.web.lane_helpers import RecordingApp

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


@pytest.fixture
def lane(client: TestClient) -> tuple[TestClient, RecordingApp]:
    """The lane in front of a recording app, with the real app's sessions (the test's own)."""
    rest = RecordingApp()
    owner: Any = client.app
    return TestClient(Open311FilingLane(rest, owner=owner)), rest


def test_a_url_encoded_filing_is_answered_by_the_lane_and_stored(
    lane: tuple[TestClient, RecordingApp], db: Session, api_key: str
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
    lane: tuple[TestClient, RecordingApp], path: str, kwargs: dict[str, Any]
) -> None:
    http, rest = lane
    if "cookies" in kwargs:
        http.cookies.update(kwargs.pop("cookies"))
    answer = http.post(path, **kwargs)
    assert answer.status_code == 299 and rest.seen == [("POST", path)]


def test_get_reaches_the_app(lane: tuple[TestClient, RecordingApp]) -> None:
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


def _waiting(lane: Open311FilingLane, *forms: dict[str, str]) -> list[Any]:
    """Filings as they wait together on the lane's desk (the test's own session source)."""
    source = lane._session_source()
    assert source is not None
    sessions, key = source
    body = urllib.parse.urlencode
    return [_Job(Filing("json", body(form).encode(), None), sessions, key) for form in forms]


def test_filings_waiting_together_share_one_commit_and_keep_their_own_answers(
    client: TestClient, db: Session, api_key: str
) -> None:
    owner: Any = client.app
    lane = Open311FilingLane(RecordingApp(), owner=owner)
    commits: list[int] = []
    event.listen(db, "after_commit", lambda _session: commits.append(1))
    bad = {**_form(api_key, "Unknown kind"), "service_code": "nope"}
    answers = lane._run_batch(
        _waiting(lane, _form(api_key, "First"), bad, _form(api_key, "Second"))
    )
    assert [a.status_code for a in answers] == [201, 400, 201]
    assert b"no service with the code" in bytes(answers[1].body)
    assert len(commits) == 1
    stored = db.scalars(select(ServiceRequest.description).order_by(ServiceRequest.id)).all()
    assert [d for d in stored if d in {"First", "Second", "Unknown kind"}] == ["First", "Second"]


def test_a_filing_the_database_refuses_fails_alone(
    client: TestClient, db: Session, api_key: str, backend: str
) -> None:
    """The database itself refuses one filing of a batch (a trigger stands for a broken disk or
    a constraint): the batch is undone and each filing is filed again on its own."""
    if backend == "postgresql":
        db.execute(
            text(
                "CREATE FUNCTION refuse_filing() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused by the database'; END; $$ LANGUAGE plpgsql"
            )
        )
        db.execute(
            text(
                "CREATE TRIGGER refuse_filing BEFORE INSERT ON complaint_requests FOR EACH ROW "
                "WHEN (NEW.description = 'Doomed') EXECUTE FUNCTION refuse_filing()"
            )
        )
    else:
        db.execute(
            text(
                "CREATE TRIGGER refuse_filing BEFORE INSERT ON complaint_requests "
                "WHEN NEW.description = 'Doomed' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    db.commit()  # the city, the token and the trigger stay when the batch is undone
    owner: Any = client.app
    lane = Open311FilingLane(RecordingApp(), owner=owner)
    answers = lane._run_batch(
        _waiting(lane, _form(api_key, "Kept 1"), _form(api_key, "Doomed"), _form(api_key, "Kept 2"))
    )
    assert [a.status_code for a in answers] == [201, 500, 201]
    assert answers[1].headers["content-type"].startswith("application/problem+json")
    stored = db.scalars(select(ServiceRequest.description)).all()
    assert sorted(d for d in stored if d in {"Kept 1", "Kept 2", "Doomed"}) == ["Kept 1", "Kept 2"]


def test_concurrent_filings_over_http_are_all_answered_and_stored(
    client: TestClient, db: Session, api_key: str
) -> None:
    owner: Any = client.app
    lane = Open311FilingLane(RecordingApp(), owner=owner)
    http = TestClient(lane)
    descriptions = [f"Crowd {n}" for n in range(12)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda d: http.post("/open311/v2/requests.json", data=_form(api_key, d)),
                descriptions,
            )
        )
    assert [a.status_code for a in answers] == [201] * 12
    ids = {a.json()[0]["service_request_id"] for a in answers}
    assert len(ids) == 12
    stored = db.scalars(select(ServiceRequest.description)).all()
    assert sorted(d for d in stored if d.startswith("Crowd ")) == sorted(descriptions)
    assert lane.desk.jobs == 12 and 1 <= lane.desk.batches <= 12
