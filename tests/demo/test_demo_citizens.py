"""The live citizens of the demo: ticked with a clock (no thread, no sleeping) they file
complaints, incidents whose units then advance, and suggestions, through the services, and the
live bus carries each; the same seed gives the same events; the feed simulator runs and stops
them with its sensors."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.complaints.models import ServiceRequest
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.demo import build, citizens, feeds
from citymeter.demo.geography import CITY_CODE
from citymeter.incidents import service as incidents
from citymeter.incidents.models import Incident
from citymeter.live.bus import LiveBus, set_bus
from citymeter.suggestions.models import Suggestion
from tests.conftest import create_database, drop_database

SMALL: dict[str, Any] = {"seed": 5, "months": 13, "districts": 3, "neighbourhoods": 6}


@pytest.fixture
def bus() -> Iterator[LiveBus]:
    fresh = LiveBus(replay_size=5000)
    previous = set_bus(fresh)
    yield fresh
    set_bus(previous)


def _city(url: str, *, activity: bool = False) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        build.build_demo_city(session, SYSTEM_VIEWER, **SMALL, activity=activity)
    return engine, sessions


@pytest.fixture
def city(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, sessions = _city(database_url)
    yield sessions
    engine.dispose()


def _run(
    simulator: citizens.CitizenSimulator, start: dt.datetime, minutes: int, step: int = 1
) -> None:
    """Tick every `step` minutes of simulated time (the feed simulator ticks every 5 s)."""
    for minute in range(0, minutes + 1, step):
        simulator.tick(start + dt.timedelta(minutes=minute))


def test_ticked_citizens_go_through_the_services_and_the_bus(
    city: sessionmaker[Session], bus: LiveBus
) -> None:
    # The clock runs ahead of the wall clock, which stamps the complaints: after 20 simulated
    # minutes the first ones are old enough for an official to close.
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    simulator = citizens.CitizenSimulator(city, CITY_CODE, seed=7)
    _run(simulator, start, 30)
    done = simulator.done
    assert simulator.errors == []
    assert 30 <= done["complaints"] <= 62  # one every 30-60 s
    assert 6 <= done["incidents"] <= 13  # one every 2.5-5 min
    assert 3 <= done["suggestions"] <= 8  # one every 4-8 min
    assert done["stages"] > done["incidents"] and done["closed"] >= 1
    with city() as session:
        assert (
            session.scalar(select(func.count()).select_from(ServiceRequest)) == done["complaints"]
        )
        filed = list(session.scalars(select(Incident).where(Incident.number.like("LIVE-%"))))
        assert len(filed) == done["incidents"]
        statuses = Counter(i.status for i in filed)
        assert statuses["cleared"] >= 1 and sum(statuses.values()) > statuses["cleared"]
        for incident in filed:
            timeline = incidents.timeline_of(session, incident)
            assert incidents.check_timeline([(s.unit, s.stage, s.at) for s in timeline]) is None
        suggestions = session.scalar(
            select(func.count()).select_from(Suggestion).where(Suggestion.channel == "demo")
        )
        assert suggestions == 200 + done["suggestions"]  # the build's and the live ones
    kinds = Counter(event.kind for event in bus.recent())
    assert kinds["complaint.created"] == done["complaints"]
    assert kinds["complaint.updated"] == done["closed"]
    assert kinds["incident.created"] == done["incidents"]
    assert kinds["incident.updated"] == done["stages"]
    assert kinds["suggestion.created"] == done["suggestions"]


def test_a_pause_does_not_make_a_burst(city: sessionmaker[Session]) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    simulator = citizens.CitizenSimulator(city, CITY_CODE, seed=7)
    simulator.tick(start)
    simulator.tick(start + dt.timedelta(hours=2))
    assert simulator.done["complaints"] <= citizens.MAX_CATCH_UP


def test_the_build_s_open_incidents_go_on(database_url: str) -> None:
    engine, sessions = _city(database_url, activity=True)
    try:
        with sessions() as session:
            open_before = set(
                session.scalars(
                    select(Incident.number).where(Incident.status.not_in(("cleared", "resolved")))
                )
            )
        assert open_before
        simulator = citizens.CitizenSimulator(sessions, CITY_CODE, seed=7)
        start = dt.datetime.now(dt.UTC).replace(microsecond=0)
        simulator.tick(start)
        assert simulator.done["resumed"] > 0
        assert {p.number for p in simulator.pending} >= open_before
        _run(simulator, start, 180, step=5)
        assert simulator.errors == []
        with sessions() as session:
            moved = session.scalar(
                select(func.count())
                .select_from(Incident)
                .where(Incident.number.in_(open_before), Incident.status == "cleared")
            )
        # Within three hours every unit on the way or on scene has cleared.
        assert simulator.done["stages"] >= simulator.done["resumed"] and moved == len(open_before)
    finally:
        engine.dispose()


def _events(url: str) -> list[tuple[Any, ...]]:
    engine, sessions = _city(url)
    try:
        simulator = citizens.CitizenSimulator(sessions, CITY_CODE, seed=9)
        _run(simulator, dt.datetime(2026, 11, 18, 3, 0, tzinfo=dt.UTC), 12)
        with sessions() as session:
            requests = session.execute(
                select(
                    ServiceRequest.service_code, ServiceRequest.lat, ServiceRequest.status
                ).order_by(ServiceRequest.id)
            ).all()
            filed = session.execute(
                select(Incident.number, Incident.severity, Incident.lat, Incident.status).order_by(
                    Incident.number
                )
            ).all()
            ideas = session.execute(
                select(Suggestion.title, Suggestion.area_id)
                .where(Suggestion.author_name.like("주민%"))
                .order_by(Suggestion.id.desc())
                .limit(5)
            ).all()
        return [*map(tuple, requests), *map(tuple, filed), *map(tuple, ideas)]
    finally:
        engine.dispose()


def test_the_same_seed_files_the_same_events(tmp_path: Path) -> None:
    found = []
    for n in range(2):
        url, handle = create_database("sqlite", tmp_path / str(n))
        try:
            found.append(_events(url))
        finally:
            drop_database(handle)
    assert found[0] == found[1] and len(found[0]) > 10


def test_the_feed_simulator_runs_and_stops_the_citizens(city: sessionmaker[Session]) -> None:
    moments = iter(range(10_000))
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    simulator = feeds.FeedSimulator(city, CITY_CODE, seed=7, interval=0.01, citizens=True)
    # Each tick moves the simulated clock on by 20 s: the citizens act without waiting.
    simulator.clock = lambda: start + dt.timedelta(seconds=20 * next(moments))
    assert simulator.citizens is not None
    with simulator:
        deadline = time.monotonic() + 20
        while simulator.citizens.done["complaints"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    ticks = simulator.ticks
    assert simulator.citizens.done["complaints"] >= 2 and simulator.errors == []
    time.sleep(0.1)
    assert simulator.ticks == ticks  # stopped
    plain = feeds.FeedSimulator(city, CITY_CODE, seed=7)
    assert plain.citizens is None
