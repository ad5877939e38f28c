"""Shared helpers of the MQTT tests: the real broker, a publisher, counting what was stored."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select

from citymeter.connectors.base import ConnectorContext
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.entities.history import count_points
from citymeter.entities.models import DeadLetter

BROKER_HOST = "127.0.0.1"
BROKER_PORT = 1883
BROKER_URL = f"mqtt://{BROKER_HOST}:{BROKER_PORT}"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
MOSQUITTO_START = ["mosquitto", "-d", "-c", "/etc/mosquitto/mosquitto.conf"]


def broker_up(timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=timeout):
            return True
    except OSError:
        return False


def require_broker() -> None:
    if broker_up():
        return
    message = f"Mosquitto is not reachable at {BROKER_HOST}:{BROKER_PORT}"
    if IN_CI:
        pytest.fail(message + " (CI=true: the MQTT tests must run)")
    pytest.skip(message)


def mosquitto_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-x", "mosquitto"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def start_mosquitto() -> None:
    if not broker_up(0.3):
        subprocess.run(MOSQUITTO_START, check=True)
    wait_for(broker_up, 10, "Mosquitto to come back")


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def unique_prefix() -> str:
    return f"cmtest-{uuid.uuid4().hex[:10]}"


def topics_config(prefix: str, protocol: str = "5", **extra: Any) -> dict[str, Any]:
    return {
        "url": BROKER_URL,
        "protocol": protocol,
        "client_id": f"{prefix}-sub",
        "topics": [
            {"pattern": f"{prefix}/{{district}}/air/{{station}}", "type": "AirQualityStation"},
            {
                "pattern": f"{prefix}/parking/{{lot}}",
                "type": "ParkingLot",
                "attributes": {"occ": "occupied", "cap": "capacity"},
            },
        ],
        **extra,
    }


def context(engine: Engine, config: dict[str, Any], code: str = "mqtt-test") -> ConnectorContext:
    return ConnectorContext(
        source_code=code, kind="mqtt", config=config, sessions=make_sessionmaker(engine)
    )


class Publisher:
    """A plain paho publisher at QoS 1 that waits until the broker has every message."""

    def __init__(self) -> None:
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"pub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(BROKER_HOST, BROKER_PORT)
        self.client.loop_start()
        self.sent = 0

    def publish(self, topic: str, payload: str | bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"the broker did not take the message on {topic}"
        self.sent += 1

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def counts(engine: Engine) -> tuple[int, int]:
    """(readings stored — one pm10 or occupied point each —, dead letters on the mqtt channel)."""
    with make_sessionmaker(engine)() as session:
        points = count_points(session, "pm10") + count_points(session, "occupied")
        dead = session.scalar(
            select(func.count()).select_from(DeadLetter).where(DeadLetter.channel == "mqtt")
        )
    return int(points or 0), int(dead or 0)


def engine_for(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
