"""The MQTT connector against the real Mosquitto on 127.0.0.1:1883 (PostgreSQL and SQLite store).

Nothing published is lost: count published = count stored + count dead-lettered, across a restart
of CityMeter's subscriber (persistent session, QoS 1) and a restart of the broker.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from sqlalchemy import Engine

from citymeter.connectors.mqtt import MqttConnector
from tests.mqtt.mqtt_helpers import (
    Publisher,
    broker_up,
    context,
    counts,
    mosquitto_pids,
    start_mosquitto,
    topics_config,
    unique_prefix,
    wait_for,
)

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


def _air(pub: Publisher, prefix: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        body = {
            "pm10": 20 + i % 50,
            "pm25": 10 + i % 30,
            "observedAt": f"2025-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z",
        }
        pub.publish(f"{prefix}/d{i % 3}/air/st-{i // 3600}", json.dumps(body))


def _expect(engine: Engine, stored: int, dead: int, seconds: float = 30) -> None:
    wait_for(lambda: counts(engine) == (stored, dead), seconds, f"{stored} stored + {dead} dead")


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_every_message_is_stored_or_dead_lettered(
    store: Engine, publisher: Publisher, protocol: str
) -> None:
    prefix = unique_prefix()
    connector = MqttConnector()
    connector.start(context(store, topics_config(prefix, protocol)))
    try:
        wait_for(connector.connected.is_set, 10, "the connector to connect")
        time.sleep(0.3)  # the SUBACK
        _air(publisher, prefix, 40)
        publisher.publish(f"{prefix}/parking/lot-1", json.dumps({"occ": 12, "cap": 40}))
        bad = [
            (f"{prefix}/d1/air/st-x", b"{not json"),  # malformed JSON
            (f"{prefix}/d1/air/st-x", b"[1, 2]"),  # not an object
            (f"{prefix}/d1/air/st-x", b"\xff\xfe"),  # not UTF-8
            (f"{prefix}/d1/air/st-x", json.dumps({"pm10": "high"})),  # wrong type
            (f"{prefix}/d1/air/st-x", json.dumps({"noise": 3})),  # unknown attribute
            (f"{prefix}/d1/air/st-x", json.dumps({"pm10": 3, "observedAt": "2025-01-01T00:00"})),
        ]
        for topic, payload in bad:
            publisher.publish(topic, payload)
        _expect(store, 41, len(bad))
        assert publisher.sent == 41 + len(bad)
        # The worker counts a batch just after its commit, so the rows can be visible a moment
        # before the counters move.
        wait_for(
            lambda: connector.stats.stored + connector.stats.dead_lettered == publisher.sent,
            5,
            "the connector's counters to match what was published",
        )
        assert (connector.stats.stored, connector.stats.dead_lettered) == (41, len(bad))
        wait_for(lambda: connector.stats.acked == publisher.sent, 5, "every message acknowledged")
    finally:
        connector.stop()


def test_messages_sent_while_citymeter_is_down_arrive_after_restart(
    store: Engine, publisher: Publisher
) -> None:
    prefix = unique_prefix()
    config = topics_config(prefix)
    first = MqttConnector()
    first.start(context(store, config))
    try:
        wait_for(first.connected.is_set, 10, "the connector to connect")
        time.sleep(0.3)
        _air(publisher, prefix, 10)
        _expect(store, 10, 0)
    finally:
        first.stop()
    # CityMeter is down: the broker keeps these for the persistent session.
    _air(publisher, prefix, 60, start=10)
    assert counts(store) == (10, 0)
    second = MqttConnector()
    second.start(context(store, config))
    try:
        _expect(store, 70, 0)
        wait_for(lambda: second.stats.stored == 60, 5, "the second connector to count 60 stored")
    finally:
        second.stop()


def test_a_broker_restart_is_survived(store: Engine, publisher: Publisher) -> None:
    prefix = unique_prefix()
    connector = MqttConnector()
    connector.start(context(store, topics_config(prefix)))
    try:
        wait_for(connector.connected.is_set, 10, "the connector to connect")
        time.sleep(0.3)
        _air(publisher, prefix, 20)
        _expect(store, 20, 0)
        publisher.close()
        for pid in mosquitto_pids():
            os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not broker_up(0.2), 10, "Mosquitto to stop")
        wait_for(lambda: not connector.connected.is_set(), 10, "the connector to notice")
        start_mosquitto()
        wait_for(connector.connected.is_set, 40, "the connector to reconnect")
        again = Publisher()
        try:
            _air(again, prefix, 30, start=20)
        finally:
            again.close()
        _expect(store, 50, 0)
        assert connector.stats.disconnects >= 1 and connector.stats.connects >= 2
    finally:
        connector.stop()
        start_mosquitto()  # later tests need the broker whatever happened here
