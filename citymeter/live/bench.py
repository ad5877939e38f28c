"""Benchmarks of the live side: MQTT into the store, and event-to-SSE latency.

Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import queue
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

STATIONS = 200


@dataclass
class MqttBench:
    offered_rate: int
    seconds: float
    published: int
    publish_seconds: float
    baseline_published: int
    baseline_received: int
    baseline_seconds: float
    stored: int
    dead_lettered: int
    store_seconds: float
    backend: str
    processes: int = 1
    # Messages done (stored, duplicate or dead-lettered) after the first batch, over store_seconds.
    store_count: int = 0
    # How long after the publisher's last message the connector finished.
    lag_seconds: float = 0.0

    @property
    def publish_rate(self) -> float:
        return self.published / self.publish_seconds if self.publish_seconds else 0.0

    @property
    def baseline_rate(self) -> float:
        return self.baseline_received / self.baseline_seconds if self.baseline_seconds else 0.0

    @property
    def store_rate(self) -> float:
        return self.store_count / self.store_seconds if self.store_seconds else 0.0

    @property
    def lost(self) -> int:
        return self.published - self.stored - self.dead_lettered


def _publish(host: str, port: int, prefix: str, rate: int, seconds: float, out: Any) -> None:
    """In a child process: publish at `rate` messages/s for `seconds` at QoS 1; report the count."""
    from citymeter.live.publisher import publish

    def message(i: int) -> tuple[bytes, bytes]:
        station, step = i % STATIONS, i // STATIONS
        at = 1_700_000_000 + step  # one reading per station per (simulated) second
        body = {"pm10": 10 + i % 90, "observedAt": at}
        return f"{prefix}/d{station % 25}/air/s{station}".encode(), json.dumps(body).encode()

    sent, elapsed, _acknowledged = publish(host, port, f"{prefix}-pub", rate, seconds, message)
    out.put((sent, elapsed))


def _run_publisher(
    host: str, port: int, prefix: str, rate: int, seconds: float
) -> tuple[int, float]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_publish, args=(host, port, prefix, rate, seconds, out))
    proc.start()
    try:
        deadline = time.monotonic() + seconds * 4 + 120
        while True:
            try:
                result: tuple[int, float] = out.get(timeout=1)
                break
            except queue.Empty:
                if not proc.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the MQTT publisher process failed") from None
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
    return result


def _baseline(host: str, port: int, rate: int, seconds: float) -> tuple[int, int, float]:
    """A bare paho subscriber (QoS 1) that only counts: (published, received, seconds)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    count = [0, 0.0, 0.0]
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"{prefix}-count",
        protocol=mqtt.MQTTv5,
    )

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        now = time.monotonic()
        if count[0] == 0:
            count[1] = now
        count[0] += 1
        count[2] = now

    subscribed = threading.Event()
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.ReceiveMaximum = 5000  # as the connector asks for
    client.connect(host, port, properties=properties)
    client.subscribe(f"{prefix}/+/air/+", qos=1)
    client.loop_start()
    subscribed.wait(10)
    published, _ = _run_publisher(host, port, prefix, rate, seconds)
    deadline = time.monotonic() + 60
    while count[0] < published and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    return published, int(count[0]), float(count[2] - count[1])


class _StoreWatch:
    """Samples the connector's counters every 20 ms while the bench runs. The store's rate is taken
    from the first batch done to the last, as the bare subscriber's is from its first message to
    its last: neither counts the publisher process's start-up."""

    def __init__(self, connector: Any) -> None:
        self._connector = connector
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.done = 0
        self.first: tuple[float, int] | None = None
        self.last_at = time.monotonic()

    def _count(self) -> int:
        stats = self._connector.stats
        return int(stats.stored + stats.duplicates + stats.dead_lettered)

    def _run(self) -> None:
        while not self._stopping.wait(0.02):
            done = self._count()
            if done != self.done:
                now = time.monotonic()
                self.done, self.last_at = done, now
                if self.first is None:
                    self.first = (now, done)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def window(self) -> tuple[float, int]:
        """(seconds, messages) from the first batch done to the last."""
        if self.first is None:
            return 0.0, 0
        return self.last_at - self.first[0], self.done - self.first[1]


def _count(engine: Engine) -> tuple[int, int]:
    from sqlalchemy.orm import Session

    from citymeter.entities.history import count_points
    from citymeter.entities.models import DeadLetter

    with Session(engine) as session:
        points = count_points(session)
        dead = session.scalar(select(func.count()).select_from(DeadLetter))
    return int(points or 0), int(dead or 0)


@contextlib.contextmanager
def _database(database_url: str | None) -> Iterator[tuple[Engine, str]]:
    from citymeter.db import migrate
    from citymeter.db.engine import make_engine

    folder = None
    if database_url is None:
        folder = Path(tempfile.mkdtemp(prefix="citymeter-bench-"))
        database_url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        yield engine, engine.dialect.name
    finally:
        engine.dispose()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def run_mqtt(
    *,
    url: str = "mqtt://127.0.0.1:1883",
    rate: int = 10_000,
    seconds: float = 60.0,
    database_url: str | None = None,
    processes: int = 1,
) -> MqttBench:
    """Publish `rate` messages/s for `seconds` through Mosquitto, first to a bare counting
    subscriber, then to the MQTT connector storing them; count what arrived and was stored."""
    from sqlalchemy.orm import sessionmaker

    from citymeter.connectors.base import ConnectorContext
    from citymeter.connectors.mqtt import MqttConnector, parse_url
    from citymeter.runtime import tune_garbage_collector

    # The connector runs here as in the server's connector runner: in a process tuned alike.
    tune_garbage_collector()
    host, port, _user, _password = parse_url(url)
    base_published, base_received, base_seconds = _baseline(host, port, rate, seconds)
    with _database(database_url) as (engine, backend):
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        config = {
            "url": url,
            "client_id": f"{prefix}-citymeter",
            "receive_maximum": 5000,
            "batch_size": 2000,
            "batch_ms": 50,
            "processes": processes,
            "topics": [
                {"pattern": f"{prefix}/{{district}}/air/{{station}}", "type": "AirQualityStation"}
            ],
        }
        connector = MqttConnector()
        ctx = ConnectorContext(
            source_code="bench", kind="mqtt", config=config, sessions=sessionmaker(engine)
        )
        connector.start(ctx)
        try:
            connector.connected.wait(60)
            time.sleep(0.5)
            watch = _StoreWatch(connector)
            watch.start()
            published, publish_seconds = _run_publisher(host, port, prefix, rate, seconds)
            published_at = time.monotonic()
            deadline = published_at + max(60.0, seconds * 2)
            while time.monotonic() < deadline and watch.done < published:
                if not connector.inbox_size() and time.monotonic() - watch.last_at > 30:
                    break  # nothing more is coming: the broker dropped the rest
                time.sleep(0.05)
            watch.stop()
            store_seconds, store_count = watch.window()
            lag = max(0.0, watch.last_at - published_at)
        finally:
            connector.stop()
        stored, dead = _count(engine)
    return MqttBench(
        offered_rate=rate,
        seconds=seconds,
        published=published,
        publish_seconds=publish_seconds,
        baseline_published=base_published,
        baseline_received=base_received,
        baseline_seconds=base_seconds,
        stored=stored,
        dead_lettered=dead,
        store_seconds=store_seconds,
        store_count=store_count,
        lag_seconds=lag,
        backend=backend,
        processes=processes,
    )


@dataclass
class LiveBench:
    clients: int
    events: int
    deliveries: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    baseline_p95_ms: float


async def _clients(
    url: str,
    clients: int,
    expected: int,
    ready: threading.Event,
    times: list[float],
    stop: threading.Event,
) -> None:
    import httpx

    async def one(client: httpx.AsyncClient) -> None:
        async with client.stream("GET", url, params={"kinds": "bench"}) as response:
            connected = False
            async for line in response.aiter_lines():
                if not connected and line.startswith(": connected"):
                    connected = True
                    ready_count[0] += 1
                    if ready_count[0] == clients:
                        ready.set()
                if line.startswith("data: "):
                    sent = json.loads(line[6:])["data"]["t"]
                    times.append(time.perf_counter() - sent)
                    got[0] += 1
                if stop.is_set():
                    return

    ready_count = [0]
    got = [0]
    limits = httpx.Limits(max_connections=clients + 10)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        tasks = [asyncio.create_task(one(client)) for _ in range(clients)]
        deadline = time.monotonic() + 120
        while got[0] < expected and time.monotonic() < deadline and not stop.is_set():
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_live(*, clients: int = 100, events: int = 200, per_second: float = 20.0) -> LiveBench:
    """`clients` SSE clients on a real uvicorn server (in a thread); `events` events published on
    its bus; latency from publish to each client's receipt. Baseline: the same events through
    in-process bus subscriptions alone (no HTTP)."""
    import socket

    import uvicorn

    from citymeter.live.bus import LiveBus, set_bus
    from citymeter.live.events import LiveEvent
    from citymeter.settings import Settings
    from citymeter.web.app import create_app

    bus = LiveBus(replay_size=100)
    previous = set_bus(bus)
    folder = Path(tempfile.mkdtemp(prefix="citymeter-bench-live-"))
    try:
        # Baseline: bus subscriptions only.
        subs = [bus.subscribe_sync() for _ in range(clients)]
        base: list[float] = []
        for _ in range(min(events, 50)):
            bus.publish(LiveEvent("bench", {"t": time.perf_counter()}))
            for sub in subs:
                event = sub.get(timeout=1)
                if event is not None:
                    base.append(time.perf_counter() - float(event.data["t"]))
        for sub in subs:
            sub.close()

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        settings = Settings(
            data_dir=folder, database_url=f"sqlite:///{folder / 'live.db'}", secret_key="bench"
        )
        from citymeter.db import migrate
        from citymeter.db.engine import make_engine

        engine = make_engine(settings.resolved_database_url)
        migrate.upgrade(engine)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        server_thread = threading.Thread(target=server.run, daemon=True)
        server_thread.start()
        while not server.started:
            time.sleep(0.02)
        times: list[float] = []
        ready, stop = threading.Event(), threading.Event()
        url = f"http://127.0.0.1:{port}/api/v1/live"
        client_thread = threading.Thread(
            target=lambda: asyncio.run(
                _clients(url, clients, clients * events, ready, times, stop)
            ),
            daemon=True,
        )
        client_thread.start()
        try:
            if not ready.wait(60):
                raise RuntimeError("the SSE clients did not all connect within 60 s")
            for _ in range(events):
                bus.publish(LiveEvent("bench", {"t": time.perf_counter()}))
                time.sleep(1 / per_second)
            deadline = time.monotonic() + 30
            while len(times) < clients * events and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            client_thread.join(timeout=30)
            server.should_exit = True
            server_thread.join(timeout=30)
            engine.dispose()
        return LiveBench(
            clients=clients,
            events=events,
            deliveries=len(times),
            p50_ms=statistics.median(times) * 1000 if times else float("nan"),
            p95_ms=_percentile(times, 0.95) * 1000,
            max_ms=max(times) * 1000 if times else float("nan"),
            baseline_p95_ms=_percentile(base, 0.95) * 1000,
        )
    finally:
        set_bus(previous)
        shutil.rmtree(folder, ignore_errors=True)
