"""The update lane answers token-authenticated PATCH …/attrs in front of the router with the
route's own code: the same answers as the route, and updates waiting together share a commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from citymeter.entities.models import Entity
from citymeter.web.api.ngsi_lane import AttributeUpdate, NgsiUpdateLane
from citymeter.web.write_lane import _Job
from tests.web.lane_helpers import RecordingApp

from .conftest import JSON, NGSI, bearer

W1 = "urn:ngsi-ld:AirQualityStation:W1"
E1 = "urn:ngsi-ld:AirQualityStation:E1"
PM10 = {"pm10": {"type": "Property", "value": 61.0}}


def _pm10(db: Session, entity_id: str) -> Any:
    db.expire_all()
    entity = db.query(Entity).filter(Entity.entity_id == entity_id).one()
    return entity.attributes["pm10"]["value"]


def test_a_token_patch_is_answered_by_the_lane_and_stored(
    client: TestClient, db: Session, stations: list[str], writer: dict[str, str]
) -> None:
    rest = RecordingApp()
    owner: Any = client.app
    http = TestClient(NgsiUpdateLane(rest, owner=owner))
    answer = http.patch(f"{NGSI}/entities/{W1}/attrs", json=PM10, headers=writer)
    assert answer.status_code == 204, answer.text
    assert rest.seen == []
    assert _pm10(db, W1) == 61.0
    # Not the lane's: other methods and paths, a query string, no token, a browser session.
    http.post(f"{NGSI}/entities/{W1}/attrs", json=PM10, headers=writer)
    http.patch(f"{NGSI}/entities/{W1}/attrs/pm10", json={"value": 1}, headers=writer)
    http.patch(f"{NGSI}/entities/{W1}/attrs?options=x", json=PM10, headers=writer)
    http.patch(f"{NGSI}/entities/{W1}/attrs", json=PM10, headers=JSON)
    http.cookies.set("citymeter_session", "abc")
    http.patch(f"{NGSI}/entities/{W1}/attrs", json=PM10, headers=writer)
    assert [method for method, _path in rest.seen] == ["POST", "PATCH", "PATCH", "PATCH", "PATCH"]


@pytest.mark.parametrize(
    ("case", "status"),
    [("unknown entity", 404), ("not json", 400), ("wrong role", 403), ("bad token", 401)],
)
def test_lane_and_route_give_the_same_answers(
    client: TestClient,
    db: Session,
    stations: list[str],
    writer: dict[str, str],
    case: str,
    status: int,
) -> None:
    url, headers, body = f"{NGSI}/entities/{W1}/attrs", dict(writer), b'{"pm10": 70}'
    if case == "unknown entity":
        url = f"{NGSI}/entities/urn:ngsi-ld:AirQualityStation:nowhere/attrs"
    elif case == "not json":
        body = b"{pm10"
    elif case == "wrong role":
        headers = {**bearer(db, "mayor"), **JSON}
    else:
        headers["Authorization"] = "Bearer cm_wrong"
    db.commit()  # a refused update undoes its transaction: the stations and tokens stay
    by_lane = client.patch(url, content=body, headers=headers)
    by_route = client.patch(url + "?route=1", content=body, headers=headers)  # a query: the route
    assert by_lane.status_code == by_route.status_code == status
    assert by_lane.json() == by_route.json()
    assert by_lane.headers.get("www-authenticate") == by_route.headers.get("www-authenticate")
    assert _pm10(db, W1) == 35.0  # nothing changed


def _lane_and_jobs(
    client: TestClient, writer: dict[str, str]
) -> tuple[NgsiUpdateLane, Callable[..., _Job[AttributeUpdate]]]:
    """A lane on the test app, and a maker of its jobs (the writer's token unless told)."""
    owner: Any = client.app
    lane = NgsiUpdateLane(RecordingApp(), owner=owner)
    source = lane._session_source()
    assert source is not None
    sessions, key = source
    token = writer["Authorization"].removeprefix("Bearer ")

    def update(entity_id: str, body: bytes, secret: str = token) -> _Job[AttributeUpdate]:
        work = AttributeUpdate(entity_id, secret, "application/json", None, body)
        return _Job(work, sessions, key)

    return lane, update


def test_updates_waiting_together_share_a_commit_and_a_failure_stays_alone(
    client: TestClient, db: Session, stations: list[str], writer: dict[str, str]
) -> None:
    db.commit()  # the stations stay when a batch is undone
    lane, update = _lane_and_jobs(client, writer)
    commits: list[int] = []
    event.listen(db, "after_commit", lambda _session: commits.append(1))
    answers = lane._run_batch([update(W1, b'{"pm10": 71}'), update(E1, b'{"pm10": 72}')])
    assert [a.status_code for a in answers] == [204, 204]
    assert len(commits) == 1
    assert (_pm10(db, W1), _pm10(db, E1)) == (71, 72)
    missing = "urn:ngsi-ld:AirQualityStation:nowhere"
    answers = lane._run_batch(
        [update(W1, b'{"pm10": 81}'), update(missing, b'{"pm10": 1}'), update(E1, b'{"pm10": 82}')]
    )
    assert [a.status_code for a in answers] == [204, 404, 204]
    assert (_pm10(db, W1), _pm10(db, E1)) == (81, 82)


def test_refused_updates_in_a_batch_leave_the_others_in_one_commit(
    client: TestClient, db: Session, stations: list[str], writer: dict[str, str]
) -> None:
    db.commit()
    lane, update = _lane_and_jobs(client, writer)
    commits: list[int] = []
    event.listen(db, "after_commit", lambda _session: commits.append(1))
    answers = lane._run_batch(
        [
            update(W1, b'{"pm10": 91}'),
            update(E1, b'{"pm10": 1}', secret="cm_wrong"),
            update(E1, b'{"pm10": 92, "colour": "red"}'),
            update(E1, b"{pm10"),
            update(W1, b'{"pm10": 93}'),
        ]
    )
    assert [a.status_code for a in answers] == [204, 401, 207, 400, 204]
    assert len(commits) == 1  # nothing undone, nothing run again
    assert (_pm10(db, W1), _pm10(db, E1)) == (93, 92)
    by_route = client.patch(
        f"{NGSI}/entities/{E1}/attrs?route=1",
        content=b'{"pm10": 92, "colour": "red"}',
        headers=writer,
    )
    assert bytes(answers[2].body) == by_route.content


def test_the_lanes_are_in_front_of_fastapis_own_middleware(
    client: TestClient, db: Session, stations: list[str], writer: dict[str, str]
) -> None:
    app: Any = client.app
    stack = app.middleware_stack
    reached: list[str] = []

    async def recording_stack(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await stack(scope, receive, send)

    app.middleware_stack = recording_stack
    by_lane = client.patch(f"{NGSI}/entities/{W1}/attrs", json=PM10, headers=writer)
    by_route = client.patch(f"{NGSI}/entities/{W1}/attrs?route=1", json=PM10, headers=writer)
    assert by_lane.status_code == by_route.status_code == 204
    assert reached == [f"{NGSI}/entities/{W1}/attrs"]  # only the route's request
    assert _pm10(db, W1) == 61.0


@pytest.mark.parametrize("declared", [True, False])
def test_an_oversized_update_is_refused_with_413_before_the_lane(
    client: TestClient, db: Session, stations: list[str], writer: dict[str, str], declared: bool
) -> None:
    body = b'{"pm10": {"type": "Property", "value": 1, "x": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    url = f"{NGSI}/entities/{W1}/attrs"
    if declared:
        answer = client.patch(url, content=body, headers=writer)
    else:  # chunked: no Content-Length, the limit counts what arrives
        answer = client.patch(url, content=iter([body[:1024], body[1024:]]), headers=writer)
    assert answer.status_code == 413
    assert "CITYMETER_MAX_UPLOAD_MB" in answer.json()["detail"]
    assert _pm10(db, W1) == 35.0
