"""`citymeter bench mqtt` end to end at a low rate, against the real Mosquitto: the bench counts
what it published, what the bare subscriber received and what the connector stored, and a store
that keeps up loses nothing."""

from __future__ import annotations

import pytest

from citymeter.live.bench import run_mqtt
from tests.mqtt.mqtt_helpers import BROKER_URL, require_broker

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


@pytest.mark.parametrize("processes", [1, 2])
def test_the_bench_stores_everything_it_publishes(processes: int) -> None:
    require_broker()
    result = run_mqtt(url=BROKER_URL, rate=400, seconds=2, processes=processes)
    assert result.published == 800
    assert result.baseline_published == result.baseline_received == 800
    assert (result.stored, result.dead_lettered, result.lost) == (800, 0, 0)
    assert result.processes == processes
    # The rate is measured from the first batch stored to the last: at most the offered rate
    # (with some slack for the 20 ms sampling), and a store that keeps up is near it.
    assert 0 < result.store_count <= 800
    assert 200 < result.store_rate < 600
    assert result.lag_seconds < 10
