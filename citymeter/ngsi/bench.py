"""`citymeter bench ngsi`: single-entity attribute updates (PATCH /entities/{id}/attrs) against a
real uvicorn server on 127.0.0.1, at several connection counts (1, 4 and 16 by default: a city's
sensors update at once, and one connection shows only one request's latency, never the
server's throughput), with two baselines measured in the same run:

- the HTTP floor: the same client against a bare ASGI app in uvicorn that reads the body and
  answers 204 (what uvicorn and the client cost by themselves on this machine), per count;
- the store floor: the same updates through the NGSI-LD service in-process, one commit each
  (what the database work costs without HTTP).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.db import migrate
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.loadclients import fan_out
from citymeter.ngsi import service
from citymeter.ngsi.context import CORE
from citymeter.ngsi.representation import entity_from_body, format_time

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The HTTP baseline: drain the body, answer 204."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@dataclass(frozen=True)
class Rate:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


TARGET_PER_SECOND = 2000
TARGET_P95_MS = 20.0
DEFAULT_CLIENTS = (1, 4, 16)


@dataclass(frozen=True)
class ConnectionRun:
    """The run at one connection count: CityMeter and the bare-uvicorn floor."""

    clients: int
    ngsi: Rate
    http_floor: Rate

    @property
    def meets_target(self) -> bool:
        rate = self.ngsi
        return (
            rate.per_second >= TARGET_PER_SECOND
            and rate.p95_ms < TARGET_P95_MS
            and not rate.failures
        )


@dataclass(frozen=True)
class NgsiBenchResult:
    entities: int
    backend: str
    runs: list[ConnectionRun]
    store_floor: Rate


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(target: str, port: int, env: dict[str, str], factory: bool) -> Any:
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"]
    if factory:
        command.append("--factory")
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/ngsi-ld/v1/contexts/core")
            connection.getresponse().read()
            connection.close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with code {process.returncode}") from None
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("uvicorn did not start within 30 s")


def _stop(process: Any) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _body(value: float, at: dt.datetime) -> bytes:
    return json.dumps(
        {"pm10": {"type": "Property", "value": value, "observedAt": format_time(at)}}
    ).encode()


def _drive(
    label: str,
    port: int,
    token: str,
    entity_ids: list[str],
    count: int,
    clients: int,
    start: dt.datetime = T0,
) -> Rate:
    """`count` PATCH requests from `clients` threads, each on its own keep-alive connection,
    observed from `start` on, one millisecond apart (give each drive its own `start`)."""
    per_client = count // clients
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def client(index: int) -> tuple[list[float], int]:
        rng = random.Random(index)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies: list[float] = []
        bad = 0
        for step in range(per_client):
            entity_id = entity_ids[rng.randrange(len(entity_ids))]
            # Distinct times: every update is a new history point, never a duplicate.
            at = start + dt.timedelta(milliseconds=step * clients + index)
            body = _body(round(rng.uniform(0, 200), 1), at)
            started = time.perf_counter()
            connection.request("PATCH", f"/ngsi-ld/v1/entities/{entity_id}/attrs", body, headers)
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 204:
                bad += 1
        connection.close()
        return latencies, bad

    run = fan_out(clients, client)
    return _rate(label, run.latencies, run.elapsed, run.failures)


def _rate(label: str, latencies: list[float], elapsed: float, failures: int) -> Rate:
    ordered = sorted(latencies)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    return Rate(label, len(ordered), elapsed, pick(0.5), pick(0.95), pick(0.99), failures)


def run(
    count: int = 5000,
    entities: int = 100,
    clients: tuple[int, ...] = DEFAULT_CLIENTS,
    database_url: str | None = None,
    say: Callable[[str], None] = print,
) -> NgsiBenchResult:
    """On a fresh SQLite store in a temporary folder, or on `database_url` (migrated to head;
    the run adds its own user and entities, named by a random run tag). `count` updates at each
    connection count of `clients`, against one server (warmed up once)."""
    run_tag = f"{random.randrange(16**6):06x}"
    with tempfile.TemporaryDirectory(prefix="citymeter-bench-ngsi-") as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        factory = make_sessionmaker(engine)
        username = f"bench-ngsi-{run_tag}"
        with factory() as session:
            accounts.create_user(
                session, SYSTEM_VIEWER, username=username, role="data_steward", password=None
            )
            _row, token = accounts.create_token(session, SYSTEM_VIEWER, username, "ngsi bench")
            steward = accounts.viewer_for(accounts.get_user(session, username))
            entity_ids = []
            for index in range(entities):
                body = {
                    "id": f"urn:ngsi-ld:AirQualityStation:bench-{run_tag}-{index}",
                    "type": "AirQualityStation",
                    "pm10": {"type": "Property", "value": 10.0, "observedAt": format_time(T0)},
                }
                entity_ids.append(
                    service.create_entity(session, steward, entity_from_body(body, CORE))
                )
            session.commit()
        backend = engine.dialect.name
        say(f"Seeded {entities} AirQualityStation entities ({backend}).")

        env = dict(os.environ)
        env.update(
            {
                "CITYMETER_DATABASE_URL": url,
                "CITYMETER_DATA_DIR": folder,
                "CITYMETER_SECRET_KEY": "bench",
            }
        )
        env.pop("CITYMETER_CONFIG", None)

        floors: list[Rate] = []
        port = _free_port()
        server = _start_server("citymeter.ngsi.bench:raw_app", port, env, factory=False)
        try:
            _drive("warm-up", port, token, entity_ids, min(500, count), max(clients))
            for n in clients:
                floors.append(_drive("bare uvicorn", port, token, entity_ids, count, n))
                say(f"HTTP floor, {n} connection(s): {floors[-1].per_second:,.0f} requests/s.")
        finally:
            _stop(server)

        runs: list[ConnectionRun] = []
        port = _free_port()
        server = _start_server("citymeter.web.app:create_app", port, env, factory=True)
        try:
            # Each drive observes from its own day: no update repeats another's time.
            warm_up = T0 + dt.timedelta(days=1)
            _drive("warm-up", port, token, entity_ids, min(500, count), max(clients), warm_up)
            for day, (n, floor) in enumerate(zip(clients, floors, strict=True), start=2):
                start = T0 + dt.timedelta(days=day)
                measured = _drive("citymeter", port, token, entity_ids, count, n, start)
                runs.append(ConnectionRun(n, measured, floor))
                say(f"NGSI-LD, {n} connection(s): {measured.per_second:,.0f} updates/s.")
        finally:
            _stop(server)

        store_start = T0 + dt.timedelta(days=len(clients) + 2)
        store = _store_floor(factory, steward, entity_ids, count, store_start)
        engine.dispose()
    return NgsiBenchResult(entities, backend, runs, store)


def _store_floor(
    factory: Any, steward: Any, entity_ids: list[str], count: int, base: dt.datetime
) -> Rate:
    rng = random.Random(99)
    latencies = []
    started = time.perf_counter()
    with factory() as session:
        for step in range(count):
            entity_id = entity_ids[rng.randrange(len(entity_ids))]
            at = base + dt.timedelta(milliseconds=step)
            attrs = {
                "pm10": {
                    "type": "Property",
                    "value": round(rng.uniform(0, 200), 1),
                    "observedAt": format_time(at),
                }
            }
            one = time.perf_counter()
            service.write_attributes(session, steward, entity_id, attrs, mode="update")
            session.commit()
            latencies.append(time.perf_counter() - one)
    return _rate("service in-process", latencies, time.perf_counter() - started, 0)


def summary(result: NgsiBenchResult) -> list[str]:
    lines = [f"{result.entities} entities on {result.backend}, one uvicorn worker"]

    def line(label: str, rate: Rate) -> str:
        return (
            f"  {label:<24}{rate.per_second:>10,.0f} /s   p50 {rate.p50_ms:6.2f} ms   "
            f"p95 {rate.p95_ms:6.2f} ms   p99 {rate.p99_ms:6.2f} ms   "
            f"({rate.requests:,} requests, {rate.failures} failed)"
        )

    for run_ in result.runs:
        lines.append(line(f"citymeter, {run_.clients} conn.", run_.ngsi))
        lines.append(line(f"bare uvicorn, {run_.clients} conn.", run_.http_floor))
    lines.append(line("service in-process", result.store_floor))
    met = [run_.clients for run_ in result.runs if run_.meets_target]
    missed = [run_.clients for run_ in result.runs if not run_.meets_target]
    target = f"target ≥ {TARGET_PER_SECOND:,} updates/s with p95 < {TARGET_P95_MS:g} ms"
    if not missed:
        verdict = f"met at every connection count ({_counts(met)})"
    elif not met:
        verdict = f"MISSED at every connection count ({_counts(missed)})"
    else:
        verdict = f"met with {_counts(met)} connection(s); MISSED with {_counts(missed)}"
    lines.append(f"  {target}: {verdict}")
    return lines


def _counts(clients: list[int]) -> str:
    return ", ".join(str(n) for n in clients)
