"""An MQTT source served by several processes on an MQTT 5 shared subscription, against the real
Mosquitto on 127.0.0.1:1883 (PostgreSQL and SQLite file stores).

The broker hands each message to one worker; together they store every message once, and a worker
that is down (stopped, or killed) gets its share when it comes back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine

from citymeter.connectors.mqtt import MqttConnector, _Inbound, parse_config
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.entities.ingest import ingest_readings
from citymeter.errors import InvalidInput
from tests.mqtt.mqtt_helpers import (
    Publisher,
    context,
    counts,
    topics_config,
    unique_prefix,
    wait_for,
)

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def _air(pub: Publisher, prefix: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        body = {
            "pm10": 20 + i % 50,
            "observedAt": f"2025-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
        }
        pub.publish(f"{prefix}/d{i % 3}/air/st-{i % 7}", json.dumps(body))


def _pool(store: Engine, prefix: str, processes: int = 2, **extra: Any) -> MqttConnector:
    connector = MqttConnector()
    connector.start(context(store, topics_config(prefix, processes=processes, **extra)))
    wait_for(connector.connected.is_set, 60, "every worker to connect")
    time.sleep(0.5)  # the SUBACKs
    return connector


def _expect(engine: Engine, stored: int, dead: int, seconds: float = 60) -> None:
    wait_for(lambda: counts(engine) == (stored, dead), seconds, f"{stored} stored + {dead} dead")


def test_the_workers_share_the_messages_and_store_each_once(
    store: Engine, publisher: Publisher
) -> None:
    prefix = unique_prefix()
    connector = _pool(store, prefix)
    try:
        _air(publisher, prefix, 300)
        publisher.publish(f"{prefix}/d1/air/st-x", b"{not json")
        _expect(store, 300, 1)
        wait_for(
            lambda: (connector.stats.stored, connector.stats.dead_lettered) == (300, 1),
            10,
            "the pool's counters to add up",
        )
        wait_for(lambda: connector.stats.acked == 301, 10, "every message acknowledged")
        shares = {m: c["stored"] + c["dead_lettered"] for m, c in connector.member_stats.items()}
        assert sorted(shares) == [1, 2]
        assert sum(shares.values()) == 301
        assert all(share > 0 for share in shares.values()), shares
    finally:
        connector.stop()
    assert not connector.connected.is_set()


def test_messages_sent_while_the_workers_are_down_arrive_after_restart(
    store: Engine, publisher: Publisher
) -> None:
    prefix = unique_prefix()
    first = _pool(store, prefix)
    try:
        _air(publisher, prefix, 20)
        _expect(store, 20, 0)
    finally:
        first.stop()
    # Every worker is down: the broker queues each worker's share for its persistent session.
    _air(publisher, prefix, 100, start=20)
    assert counts(store) == (20, 0)
    second = _pool(store, prefix)
    try:
        _expect(store, 120, 0)
    finally:
        second.stop()


def test_a_killed_worker_is_started_again_and_gets_its_share(
    store: Engine, publisher: Publisher
) -> None:
    prefix = unique_prefix()
    connector = _pool(store, prefix)
    try:
        assert connector._pool is not None
        victim = connector._pool._workers[1]
        os.kill(victim.pid, signal.SIGKILL)
        wait_for(lambda: not victim.is_alive(), 10, "worker 1 to die")
        _air(publisher, prefix, 80)  # half of them wait in worker 1's session
        _expect(store, 80, 0, seconds=90)
        assert connector._pool._workers[1].pid != victim.pid
        assert any("worker 1 stopped" in e for e in connector.stats.errors)
    finally:
        connector.stop()


def test_a_pool_needs_mqtt_5_a_plain_group_and_a_shared_database(tmp_path: Any) -> None:
    prefix = unique_prefix()
    with pytest.raises(InvalidInput, match="MQTT 5 shared subscription"):
        parse_config(topics_config(prefix, protocol="3.1.1", processes=2))
    with pytest.raises(InvalidInput, match="share_group"):
        parse_config(topics_config(prefix, processes=2, share_group="a/b"))
    with pytest.raises(InvalidInput, match="processes must be"):
        parse_config(topics_config(prefix, processes=0))
    assert parse_config(topics_config(prefix, processes=3)).share_group == "citymeter-source"
    memory = make_engine("sqlite://")
    try:
        ctx = context(memory, topics_config(prefix, processes=2))
        ctx.sessions = make_sessionmaker(memory)
        with pytest.raises(InvalidInput, match="in-memory SQLite"):
            MqttConnector().start(ctx)
    finally:
        memory.dispose()


def test_a_batch_racing_another_worker_for_a_new_entity_is_stored_on_a_second_try(
    store: Engine,
) -> None:
    """Two workers see the same new station at once: the second to write meets the first one's
    entity (a unique-key conflict on PostgreSQL; on SQLite it waits for the write lock). The
    batch is tried again, not dead-lettered."""
    prefix = unique_prefix()
    connector = MqttConnector(member=2)
    connector.config = parse_config(topics_config(prefix, processes=2))
    connector._ctx = context(store, topics_config(prefix, processes=2))
    topic = f"{prefix}/d1/air/st-race"
    body = json.dumps({"pm10": 33, "observedAt": "2025-01-01T00:00:05Z"}).encode()
    batch = [_Inbound(0, 1, 1, topic, body, dt.datetime.now(dt.UTC))]
    other = make_sessionmaker(store)()
    try:
        # The other worker has written the entity, not yet committed.
        first = ingest_readings(
            other,
            [
                {
                    "type": "AirQualityStation",
                    "id": "st-race",
                    "observed_at": "2025-01-01T00:00:00Z",
                    "attrs": {"pm10": 30},
                }
            ],
        )
        assert first.accepted == 1
        outcome: list[tuple[int, int, int]] = []
        worker = threading.Thread(target=lambda: outcome.append(connector._store(batch)))
        worker.start()
        time.sleep(1.0)  # this worker now waits on the other's entity row (or write lock)
        other.commit()
        worker.join(timeout=30)
    finally:
        other.close()
    assert outcome == [(1, 0, 0)]
    assert counts(store) == (2, 0)
