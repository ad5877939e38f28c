"""The bench's hand-made QoS 1 publisher speaks MQTT the broker and paho understand."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from citymeter.live.publisher import _length, publish
from tests.mqtt.mqtt_helpers import BROKER_HOST, BROKER_PORT, require_broker


def test_remaining_length_encoding() -> None:
    # The examples of MQTT 3.1.1, section 2.2.3.
    assert _length(0) == b"\x00"
    assert _length(127) == b"\x7f"
    assert _length(128) == b"\x80\x01"
    assert _length(16_383) == b"\xff\x7f"
    assert _length(16_384) == b"\x80\x80\x01"


def test_every_published_message_is_acknowledged_and_received_intact() -> None:
    require_broker()
    prefix = f"pubtest-{uuid.uuid4().hex[:8]}"
    received: list[tuple[str, bytes]] = []
    subscribed = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=prefix)

    def on_message(_c: Any, _u: Any, message: Any) -> None:
        received.append((message.topic, bytes(message.payload)))

    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect(BROKER_HOST, BROKER_PORT)
    client.subscribe(f"{prefix}/#", qos=1)
    client.loop_start()
    try:
        assert subscribed.wait(10)

        def message(i: int) -> tuple[bytes, bytes]:
            return f"{prefix}/s{i % 7}".encode(), (b"x" * 200 + str(i).encode())

        sent, _seconds, acknowledged = publish(
            BROKER_HOST, BROKER_PORT, f"{prefix}-pub", rate=2000, seconds=0.5, message=message
        )
        assert sent == acknowledged == 1000
        deadline = time.monotonic() + 10
        while len(received) < sent and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        client.disconnect()
        client.loop_stop()
    expected = [(topic.decode(), payload) for topic, payload in map(message, range(1000))]
    assert sorted(received) == sorted(expected)
