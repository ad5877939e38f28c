"""The demo feeds: seeded sites with daily rhythms, stored in-process or over the real Mosquitto."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.connectors.mqtt import MqttConnector
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.demo import feeds
from citymeter.entities.models import DeadLetter, Entity
from citymeter.live.bus import LiveBus, set_bus
from citymeter.places import service as places
from tests.mqtt.mqtt_helpers import BROKER_URL, context, require_broker, wait_for

SEOUL = ZoneInfo("Asia/Seoul")


def _square(lon: float, lat: float, size: float) -> dict[str, object]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def city_engine(database_url: str) -> Iterator[Engine]:
    """A small city: two districts of two neighbourhoods each, with boundaries."""
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        city = places.create_city(session, SYSTEM_VIEWER, code="feedtown", name="Feedtown")
        root = places.root_area_of(session, city)
        for i, code in enumerate(("east", "west")):
            lon = 127.0 + i * 0.1
            district = places.add_area(
                session,
                None,
                city=city,
                code=code,
                level="district",
                name=code.title(),
                parent=root,
                boundary=_square(lon, 37.5, 0.1),
            )
            for j in range(2):
                places.add_area(
                    session,
                    None,
                    city=city,
                    code=f"{code}-{j}",
                    level="neighbourhood",
                    name=f"{code} {j}",
                    parent=district,
                    boundary=_square(lon + j * 0.05, 37.5, 0.05),
                )
        session.commit()
    yield engine
    engine.dispose()


def _sites(engine: Engine, seed: int) -> list[feeds.Site]:
    with make_sessionmaker(engine)() as session:
        city = places.get_city(session, "feedtown")
        return feeds.plan_sites(session, city, seed)


def test_sites_are_seeded_and_cover_every_family(city_engine: Engine) -> None:
    sites = _sites(city_engine, 7)
    assert sites == _sites(city_engine, 7)
    assert sites != _sites(city_engine, 8)
    assert {s.district_code for s in sites} == {"east", "west"}
    assert set(feeds.site_summary(sites)) == set(feeds.FAMILIES.values())


def test_values_follow_a_daily_rhythm(city_engine: Engine) -> None:
    sites = _sites(city_engine, 7)
    day = dt.date(2025, 5, 14)  # a Wednesday

    def at(hour: int) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SEOUL).astimezone(dt.UTC)

    def mean(family: str, attr: str, hour: int) -> float:
        values = [feeds.site_values(s, at(hour), SEOUL)[attr] for s in sites if s.family == family]
        return sum(values) / len(values)

    assert mean("air", "pm10", 8) > mean("air", "pm10", 3)
    assert mean("air", "o3", 14) > mean("air", "o3", 3)
    assert mean("traffic", "speed", 8) < mean("traffic", "speed", 3)
    assert mean("parking", "occupancy", 14) > mean("parking", "occupancy", 3)
    first = sites[0]
    assert feeds.site_values(first, at(8), SEOUL) == feeds.site_values(first, at(8), SEOUL)


def test_in_process_feeds_store_entities_and_publish_events(city_engine: Engine) -> None:
    bus = LiveBus()
    previous = set_bus(bus)
    try:
        simulator = feeds.FeedSimulator(make_sessionmaker(city_engine), "feedtown", seed=7)
        assert simulator.mode == "in-process"
        sent = simulator.tick()
    finally:
        set_bus(previous)
    with Session(city_engine) as session:
        entities = session.scalar(select(func.count()).select_from(Entity))
        located = session.scalar(
            select(func.count()).select_from(Entity).where(Entity.district_id.is_not(None))
        )
        dead = session.scalar(select(func.count()).select_from(DeadLetter))
    assert sent == len(simulator.sites) == entities == located
    assert dead == 0
    kinds = {event.entity_type for event in bus.recent() if event.kind == "entity.updated"}
    assert kinds == set(feeds.FAMILIES.values())


def test_in_process_feeds_keep_their_source_healthy(city_engine: Engine) -> None:
    from citymeter.sources.models import Source, SourceDay

    factory = make_sessionmaker(city_engine)
    with factory() as session, session.begin():
        assert feeds.ensure_demo_source(session, SYSTEM_VIEWER, None)
        assert not feeds.ensure_demo_source(session, SYSTEM_VIEWER, None)
    simulator = feeds.FeedSimulator(factory, "feedtown", seed=7)
    sent = simulator.tick() + simulator.tick()
    with Session(city_engine) as session:
        source = session.scalars(select(Source).where(Source.code == feeds.MQTT_SOURCE_CODE)).one()
        assert source.kind == "manual"
        assert source.last_success_at is not None and source.last_error is None
        days = session.scalars(select(SourceDay).where(SourceDay.source_id == source.id)).all()
        assert sum(d.records_in for d in days) == sent
        entities = session.scalars(select(Entity)).all()
        assert {e.source_id for e in entities} == {source.id}


@pytest.mark.mqtt
@pytest.mark.slow
def test_feeds_over_mqtt_reach_the_store(city_engine: Engine) -> None:
    require_broker()
    config = feeds.mqtt_source_config(BROKER_URL)
    config["client_id"] = f"feeds-test-{time.time_ns()}"
    with make_sessionmaker(city_engine)() as session:
        feeds.ensure_mqtt_source(session, SYSTEM_VIEWER, BROKER_URL)
        assert not feeds.ensure_mqtt_source(session, SYSTEM_VIEWER, BROKER_URL)
        session.commit()
    connector = MqttConnector()
    ctx = context(city_engine, config, code=feeds.MQTT_SOURCE_CODE)
    ctx.city = "feedtown"
    connector.start(ctx)
    simulator = feeds.FeedSimulator(
        make_sessionmaker(city_engine), "feedtown", mqtt_url=BROKER_URL, seed=7
    )
    try:
        wait_for(connector.connected.is_set, 10, "the connector to connect")
        time.sleep(0.3)
        assert simulator.mode == "mqtt"
        sent = simulator.tick()
        wait_for(lambda: connector.stats.stored == sent, 20, "every sensor stored")
    finally:
        simulator.stop()
        connector.stop()
    assert connector.stats.dead_lettered == 0
    with Session(city_engine) as session:
        assert session.scalar(select(func.count()).select_from(Entity)) == sent
