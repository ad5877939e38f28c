"""GET /api/v1/live through a real server: filters, visibility, heartbeats, Last-Event-ID resume."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.live.bus import LiveBus, set_bus
from citymeter.live.events import LiveEvent, publish_after_commit
from citymeter.places import service as places
from citymeter.settings import Settings
from citymeter.web.app import create_app
from tests.live.live_helpers import SseReader, serve_in_thread

pytestmark = pytest.mark.slow


@dataclass
class Site:
    url: str
    bus: LiveBus
    sessions: object
    token: str
    north_id: int
    south_id: int


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    bus = LiveBus(replay_size=100)
    previous = set_bus(bus)
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    with factory() as session:
        city = places.create_city(session, SYSTEM_VIEWER, code="tc", name="Test City")
        root = places.root_area_of(session, city)
        north = places.add_area(
            session, None, city=city, code="tc-n", level="district", name="North", parent=root
        )
        south = places.add_area(
            session, None, city=city, code="tc-s", level="district", name="South", parent=root
        )
        places.add_area(
            session, None, city=city, code="tc-n-1", level="neighbourhood", name="N1", parent=north
        )
        accounts.create_user(session, SYSTEM_VIEWER, username="mayor", role="mayor", password=None)
        _, token = accounts.create_token(session, SYSTEM_VIEWER, "mayor", "dashboard")
        session.commit()
        north_id, south_id = north.id, south.id
    settings = Settings(data_dir=tmp_path, database_url=database_url, secret_key="t")
    try:
        with serve_in_thread(create_app(settings, engine)) as url:
            yield Site(url, bus, factory, token, north_id, south_id)
    finally:
        set_bus(previous)
        engine.dispose()


def _publish(site: Site, *events: LiveEvent) -> None:
    """As a service would: inside a transaction, published once it commits."""
    with site.sessions() as session:  # type: ignore[operator]
        assert isinstance(session, Session)
        for event in events:
            publish_after_commit(session, event)
        session.commit()


def _wait_subscribed(bus: LiveBus, count: int) -> None:
    deadline = time.monotonic() + 5
    while bus.subscriber_count < count:
        assert time.monotonic() < deadline, "the stream did not subscribe"
        time.sleep(0.01)


def _air(district: int, pm10: float, visibility: str = "public") -> LiveEvent:
    return LiveEvent(
        "entity.updated",
        {"attrs": {"pm10": pm10}},
        district_id=district,
        entity_type="AirQualityStation",
        visibility=visibility,
    )


def test_filters_and_visibility(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=10) as client:
        params = {"types": "AirQualityStation", "area": "tc-n", "kinds": "entity"}
        with client.stream("GET", "/api/v1/live", params=params) as public_stream:
            assert public_stream.status_code == 200
            assert public_stream.headers["content-type"].startswith("text/event-stream")
            headers = {"Authorization": f"Bearer {site.token}"}
            with client.stream("GET", "/api/v1/live", headers=headers) as staff_stream:
                _wait_subscribed(site.bus, 2)
                _publish(
                    site,
                    _air(site.south_id, 1),  # another district
                    LiveEvent("entity.updated", {}, district_id=site.north_id, entity_type="X"),
                    LiveEvent(
                        "source.health",
                        {},
                        district_id=site.north_id,
                        entity_type="AirQualityStation",
                    ),
                    _air(site.north_id, 2, visibility="internal"),  # staff only
                    _air(site.north_id, 3),
                )
                public = SseReader(public_stream).next_event()
                assert public.event == "entity.updated"
                assert public.json()["data"]["attrs"] == {"pm10": 3}
                assert public.json()["district_id"] == site.north_id
                staff = SseReader(staff_stream)
                seen = [staff.next_event().json()["kind"] for _ in range(5)]
                assert seen.count("entity.updated") == 4 and "source.health" in seen


def test_resume_with_last_event_id(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=10) as client:
        with client.stream("GET", "/api/v1/live") as first:
            _wait_subscribed(site.bus, 1)
            _publish(site, _air(site.north_id, 1))
            seen = SseReader(first).next_event()
        assert seen.id
        _publish(site, _air(site.north_id, 2), _air(site.south_id, 3))  # while disconnected
        with client.stream("GET", "/api/v1/live", headers={"Last-Event-ID": seen.id}) as again:
            reader = SseReader(again)
            missed = [reader.next_event().json()["data"]["attrs"]["pm10"] for _ in range(2)]
            assert missed == [2, 3]
            _publish(site, _air(site.north_id, 4))
            assert reader.next_event().json()["data"]["attrs"]["pm10"] == 4


def test_heartbeats_keep_a_quiet_stream_open(site: Site) -> None:
    with (
        httpx.Client(base_url=site.url, timeout=10) as client,
        client.stream("GET", "/api/v1/live", params={"heartbeat": 1}) as stream,
    ):
        reader = SseReader(stream)
        assert "connected" in " ".join(reader.next().comments)
        started = time.monotonic()
        assert reader.next().comments == ["heartbeat"]
        assert 0.5 < time.monotonic() - started < 5


def test_bad_filters_get_a_clear_problem(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=10) as client:
        unknown = client.get("/api/v1/live", params={"area": "nowhere"})
        assert unknown.status_code == 404
        assert "nowhere" in unknown.json()["detail"]
        too_deep = client.get("/api/v1/live", params={"area": "tc-n-1"})
        assert too_deep.status_code == 422
        assert "district" in too_deep.json()["detail"]
        bad_beat = client.get("/api/v1/live", params={"heartbeat": 0})
        assert bad_beat.status_code == 422
