"""Live events between worker processes: PostgreSQL LISTEN/NOTIFY, Redis pub/sub, and two real
app processes on the real PostgreSQL where an event ingested in one reaches an SSE client of the
other."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.live.bus import NOTIFY_LIMIT, LiveBus, PostgresBus, RedisBus
from citymeter.live.events import LiveEvent
from tests.live.live_helpers import SseReader, free_port

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_URL = os.environ.get("CITYMETER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _ready(*buses: PostgresBus | RedisBus) -> None:
    for bus in buses:
        bus.start()
    for bus in buses:
        assert bus.ready.wait(10), f"the {bus.backend} listener did not start"


def _receive(bus: LiveBus, count: int, seconds: float = 10) -> list[LiveEvent]:
    sub = bus.subscribe_sync()
    got: list[LiveEvent] = []
    try:
        yield_deadline = time.monotonic() + seconds
        while len(got) < count and time.monotonic() < yield_deadline:
            event = sub.get(timeout=0.2)
            if event is not None:
                got.append(event)
    finally:
        sub.close()
    return got


def _exchange(one: PostgresBus | RedisBus, two: PostgresBus | RedisBus) -> None:
    sub = two.subscribe_sync()
    try:
        small = one.publish(LiveEvent("entity.updated", {"pm10": 5}, entity_type="A"))
        large = one.publish(LiveEvent("entity.updated", {"blob": "x" * (NOTIFY_LIMIT + 100)}))
        got = [sub.get(timeout=10), sub.get(timeout=10)]
    finally:
        sub.close()
    assert [e.id for e in got if e] == [small.id, large.id]
    assert got[0] is not None and got[0].data == {"pm10": 5} and got[0].entity_type == "A"
    assert got[1] is not None and len(got[1].data["blob"]) == NOTIFY_LIMIT + 100
    # The receiving process can resume a client from its own buffer.
    assert [e.id for e in two.replay_after(small.id)] == [large.id]
    # A process does not hear its own events twice.
    assert [e.id for e in one.recent()] == [small.id, large.id]


@pytest.mark.postgresql
def test_postgresql_notify_carries_events_between_buses(database_url: str, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL")
    one, two = PostgresBus(database_url), PostgresBus(database_url)
    try:
        _ready(one, two)
        _exchange(one, two)
        assert one.by_reference == 1  # the large one went through the table
    finally:
        one.stop()
        two.stop()


@pytest.mark.redis
def test_redis_pubsub_carries_events_between_buses() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.ConnectionError as exc:
        if IN_CI:
            pytest.fail(f"Redis is not reachable at {REDIS_URL} (CI=true): {exc}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    one, two = RedisBus(REDIS_URL), RedisBus(REDIS_URL)
    try:
        _ready(one, two)
        _exchange(one, two)
    finally:
        one.stop()
        two.stop()


def test_an_async_subscriber_hears_events_published_from_other_threads() -> None:
    bus = LiveBus()

    async def listen() -> list[str]:
        sub = bus.subscribe()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            None, lambda: [bus.publish(LiveEvent(f"k{i}", {})) for i in range(3)]
        )
        got = [await sub.get(timeout=2) for _ in range(3)]
        sub.close()
        return [e.kind for e in got if e]

    assert asyncio.run(listen()) == ["k0", "k1", "k2"]
    assert bus.subscriber_count == 0


def test_a_slow_subscriber_is_marked_lagging_and_the_buffer_is_bounded() -> None:
    bus = LiveBus(replay_size=5)
    sub = bus.subscribe_sync(maxsize=2)
    events = [bus.publish(LiveEvent("k", {"i": i})) for i in range(8)]
    assert sub.lagging
    assert [e.data["i"] for e in bus.recent()] == [3, 4, 5, 6, 7]
    assert [e.data["i"] for e in bus.replay_after(events[5].id or "")] == [6, 7]
    # An id older than the buffer: everything buffered after it.
    assert len(bus.replay_after(events[0].id or "")) == 5


# -- two app processes -------------------------------------------------------------------------


def _wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "an app process exited while starting"
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not start")


@pytest.fixture
def two_apps(database_url: str, backend: str, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    if backend != "postgresql":
        pytest.skip("two processes share events through PostgreSQL")
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        accounts.create_user(session, SYSTEM_VIEWER, username="feeder", role="admin", password=None)
        _, token = accounts.create_token(session, SYSTEM_VIEWER, "feeder", "push")
        session.commit()
    engine.dispose()
    env = {
        **os.environ,
        "CITYMETER_DATABASE_URL": database_url,
        "CITYMETER_LIVE_BACKEND": "postgresql",
        "CITYMETER_DATA_DIR": str(tmp_path),
        "CITYMETER_SECRET_KEY": "two-process-test",
    }
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(2):
            port = free_port()
            cmd = [
                sys.executable,
                "-m",
                "uvicorn",
                "citymeter.web.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            procs.append(subprocess.Popen(cmd, env=env))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            _wait_http(url, proc)
        yield urls[0], urls[1], token
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.postgresql
@pytest.mark.slow
def test_an_event_ingested_in_one_process_reaches_an_sse_client_of_the_other(
    two_apps: tuple[str, str, str],
) -> None:
    ingest_url, stream_url, token = two_apps
    reading = {
        "type": "AirQualityStation",
        "id": "two-proc-1",
        "observed_at": "2025-03-01T09:00:00+09:00",
        "attrs": {"pm10": 33.5},
    }
    with (
        httpx.Client(timeout=15) as client,
        client.stream(
            "GET", stream_url + "/api/v1/live", params={"types": "AirQualityStation"}
        ) as stream,
    ):
        reader = SseReader(stream)
        reader.next()  # connected: the subscription is in place
        time.sleep(0.5)  # the other process's listener is up by now; LISTEN is fast
        pushed = client.post(
            ingest_url + "/api/v1/ingest/readings",
            json={"readings": [reading]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert pushed.status_code == 200, pushed.text
        event = reader.next_event()
        body = event.json()
        assert body["kind"] == "entity.updated"
        assert body["data"]["entity_id"] == "urn:ngsi-ld:AirQualityStation:two-proc-1"
        assert body["data"]["attrs"] == {"pm10": 33.5}
