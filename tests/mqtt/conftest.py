"""Fixtures of the MQTT tests that talk to the real Mosquitto on 127.0.0.1:1883."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.mqtt.mqtt_helpers import Publisher, engine_for, require_broker


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    """A fresh database of the current backend, once the broker is known to be up."""
    require_broker()
    yield from engine_for(database_url)


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    require_broker()
    pub = Publisher()
    yield pub
    pub.close()
