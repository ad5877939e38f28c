"""A small city for incident tests (the entity tests' one) and a fresh live bus."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from citymeter.live.bus import LiveBus, set_bus
from tests.entities.conftest import SmallCity, small_city

__all__ = ["SmallCity", "small_city"]


@pytest.fixture
def bus() -> Iterator[LiveBus]:
    fresh = LiveBus(replay_size=100)
    previous = set_bus(fresh)
    yield fresh
    set_bus(previous)
