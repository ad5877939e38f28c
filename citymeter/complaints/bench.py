"""`citymeter bench open311`: the Open311 request list and request filing through the real ASGI
app (uvicorn in a subprocess, one worker, a keep-alive http.client connection), each beside a raw
baseline measured in the same run on the same store:

- list: `GET /open311/v2/requests.json?status=open&page_size=100` (pages 1–5 in turn) against the
  bare SQL query of the same page through SQLAlchemy Core;
- filing: form POSTs to `/open311/v2/requests.json` with an API key against a bare single-row
  INSERT and COMMIT per request.

The store is filled first with a bulk insert of `requests` service requests (a third of them open,
opened over the last two years).
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.complaints import service
from citymeter.complaints.models import ServiceRequest
from citymeter.db import migrate
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.loadclients import fan_out
from citymeter.ngsi.bench import Rate, _free_port, _rate, _stop
from citymeter.places.models import City
from citymeter.places.service import add_area, create_city, root_area_of

LIST_TARGET_MS = 50.0
POST_TARGET = 500.0
SERVICES = ("pothole", "streetlight", "graffiti", "noise", "litter")
_CHUNK = 20_000


@dataclass(frozen=True)
class Open311BenchResult:
    backend: str
    requests: int
    open_requests: int
    fill_seconds: float
    list_api: Rate
    list_sql: Rate
    post_api: Rate
    insert_sql: Rate
    # The same filings from several connections at once: the worker's throughput when more than
    # one system files (None when the run used one connection only).
    post_concurrent: Rate | None = None

    @property
    def post_best(self) -> Rate:
        if self.post_concurrent and self.post_concurrent.per_second > self.post_api.per_second:
            return self.post_concurrent
        return self.post_api

    @property
    def met(self) -> bool:
        return (
            self.list_api.p95_ms < LIST_TARGET_MS
            and self.post_best.per_second >= POST_TARGET
            and not self.list_api.failures
            and not self.post_api.failures
            and not (self.post_concurrent and self.post_concurrent.failures)
        )


def _start_server(port: int, env: dict[str, str]) -> Any:
    """The real app in uvicorn (one worker); waits up to two minutes for it to answer."""
    command = [sys.executable, "-m", "uvicorn", "citymeter.web.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/open311/v2/discovery.json")
            connection.getresponse().read()
            connection.close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with code {process.returncode}") from None
            time.sleep(0.2)
    _stop(process)
    raise RuntimeError("uvicorn did not start within 120 s")


def _box(west: float, south: float, size: float) -> dict[str, Any]:
    ring = [[west, south], [west + size, south], [west + size, south + size], [west, south + size]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def add_grid_areas(session: Session, city: City) -> int:
    """Four districts of four neighbourhoods each, tiling the square the bench files into
    (lat 37.5-37.6, lon 127.0-127.1), so every POST is located as a real one would be."""
    root = root_area_of(session, city)
    added = 0
    for row in range(2):
        for col in range(2):
            west, south = 127.0 + col * 0.05, 37.5 + row * 0.05
            code = f"d{row}{col}"
            district = add_area(
                session,
                None,
                city=city,
                code=code,
                level="district",
                name=f"District {code}",
                parent=root,
                boundary=_box(west, south, 0.05),
            )
            added += 1
            for sub in range(4):
                add_area(
                    session,
                    None,
                    city=city,
                    code=f"{code}n{sub}",
                    level="neighbourhood",
                    name=f"Neighbourhood {code}-{sub}",
                    parent=district,
                    boundary=_box(west + (sub % 2) * 0.025, south + (sub // 2) * 0.025, 0.025),
                )
                added += 1
    return added


def fill(engine: Engine, city_id: int, type_ids: dict[str, int], count: int, seed: int = 7) -> int:
    """Bulk-insert `count` requests; returns how many are open."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    table = ServiceRequest.__table__
    assert isinstance(table, Table)
    opened = 0
    with engine.begin() as connection:
        rows: list[dict[str, Any]] = []
        for index in range(count):
            code = SERVICES[index % len(SERVICES)]
            requested = now - dt.timedelta(seconds=rng.randrange(2 * 365 * 86400))
            is_open = rng.random() < 1 / 3
            opened += is_open
            closed = None if is_open else requested + dt.timedelta(hours=rng.uniform(0.5, 200))
            rows.append(
                {
                    "city_id": city_id,
                    "service_request_id": f"bench-{index}",
                    "token": None,
                    "service_type_id": type_ids[code],
                    "service_code": code,
                    "status": "open" if is_open else "closed",
                    "description": f"Bench request {index}",
                    "requested_at": requested,
                    "updated_at": closed or requested,
                    "expected_at": requested + dt.timedelta(hours=72),
                    "closed_at": closed,
                    "lat": 37.5 + rng.random() / 10,
                    "long": 127.0 + rng.random() / 10,
                    "attributes": {},
                    "source_id": "bench",
                }
            )
            if len(rows) >= _CHUNK:
                connection.execute(insert(table), rows)
                rows = []
        if rows:
            connection.execute(insert(table), rows)
    return opened


def _get_many(port: int, count: int) -> Rate:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, failures = [], 0
    started = time.perf_counter()
    for step in range(count):
        path = f"/open311/v2/requests.json?status=open&page_size=100&page={step % 5 + 1}"
        one = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        latencies.append(time.perf_counter() - one)
        if response.status != 200 or body.count(b'"service_request_id"') != 100:
            failures += 1
    connection.close()
    return _rate("GET requests.json", latencies, time.perf_counter() - started, failures)


def _post_many(port: int, key: str, count: int, seed: int, clients: int = 1) -> Rate:
    """`count` filings from `clients` threads, each on its own keep-alive connection (a city's
    complaint desk, app and call centre file at the same time)."""

    def client(index: int) -> tuple[list[float], int]:
        rng = random.Random(seed * 1000 + index)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        latencies, failed = [], 0
        for step in range(index, count, clients):
            form = {
                "api_key": key,
                "service_code": SERVICES[step % len(SERVICES)],
                "lat": f"{37.5 + rng.random() / 10:.6f}",
                "long": f"{127.0 + rng.random() / 10:.6f}",
                "description": f"Filed by the bench, number {step}",
                "email": "bench@example.org",
            }
            one = time.perf_counter()
            connection.request(
                "POST", "/open311/v2/requests.json", urllib.parse.urlencode(form), headers
            )
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - one)
            if response.status != 201:
                failed += 1
        connection.close()
        return latencies, failed

    run = fan_out(clients, client)
    label = "POST requests.json" + (f" ×{clients}" if clients > 1 else "")
    return _rate(label, run.latencies, run.elapsed, run.failures)


_PAGE_SQL = (
    "SELECT * FROM complaint_requests WHERE city_id = :city AND status = 'open' "
    "ORDER BY requested_at DESC, id DESC LIMIT 100 OFFSET :offset"
)


def _sql_pages(engine: Engine, city_id: int, count: int) -> Rate:
    latencies = []
    started = time.perf_counter()
    with engine.connect() as connection:
        for step in range(count):
            one = time.perf_counter()
            rows = connection.execute(
                text(_PAGE_SQL), {"city": city_id, "offset": (step % 5) * 100}
            ).all()
            latencies.append(time.perf_counter() - one)
            assert len(rows) == 100
    return _rate("bare SQL page", latencies, time.perf_counter() - started, 0)


def _sql_inserts(engine: Engine, city_id: int, type_id: int, count: int) -> Rate:
    latencies = []
    now = dt.datetime.now(dt.UTC)
    statement = text(
        "INSERT INTO complaint_requests (city_id, service_request_id, service_type_id, "
        "service_code, status, requested_at, updated_at, attributes) VALUES "
        "(:city, :rid, :type, 'pothole', 'open', :at, :at, '{}')"
    )
    started = time.perf_counter()
    with engine.connect() as connection:
        for step in range(count):
            one = time.perf_counter()
            connection.execute(
                statement, {"city": city_id, "rid": f"raw-{step}", "type": type_id, "at": now}
            )
            connection.commit()
            latencies.append(time.perf_counter() - one)
    return _rate("bare INSERT + COMMIT", latencies, time.perf_counter() - started, 0)


def run(
    requests: int = 1_000_000,
    reads: int = 1000,
    posts: int = 3000,
    database_url: str | None = None,
    say: Callable[[str], None] = print,
    clients: int = 4,
) -> Open311BenchResult:
    """On a fresh SQLite store in a temporary folder, or on `database_url` (a NEW, EMPTY
    database: the run fills it and leaves it filled)."""
    with tempfile.TemporaryDirectory(prefix="citymeter-bench-open311-") as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        factory = make_sessionmaker(engine)
        with factory() as session:
            city = create_city(session, SYSTEM_VIEWER, code="bench-311", name="Bench City")
            add_grid_areas(session, city)
            type_ids = {}
            for code in SERVICES:
                kind = service.create_service_type(
                    session, SYSTEM_VIEWER, city, code=code, name=code.title(), target_hours=72
                )
                type_ids[code] = kind.id
            accounts.create_user(
                session, SYSTEM_VIEWER, username="bench-311", role="official", password=None
            )
            _row, key = accounts.create_token(session, SYSTEM_VIEWER, "bench-311", "bench")
            session.commit()
            city_id = city.id
        started = time.perf_counter()
        opened = fill(engine, city_id, type_ids, requests)
        fill_seconds = time.perf_counter() - started
        backend = engine.dialect.name
        say(
            f"Filled {requests:,} requests ({opened:,} open) on {backend} in {fill_seconds:.1f} s "
            f"({requests / fill_seconds:,.0f} rows/s, bulk insert)."
        )
        _sql_pages(engine, city_id, min(50, reads))  # warm the page cache
        list_sql = _sql_pages(engine, city_id, reads)

        env = dict(os.environ)
        env.update(
            {
                "CITYMETER_DATABASE_URL": url,
                "CITYMETER_DATA_DIR": folder,
                "CITYMETER_SECRET_KEY": "bench",
            }
        )
        env.pop("CITYMETER_CONFIG", None)
        port = _free_port()
        server = _start_server(port, env)
        try:
            _get_many(port, min(50, reads))  # warm-up
            list_api = _get_many(port, reads)
            _post_many(port, key, min(100, posts), seed=1)  # warm-up
            post_api = _post_many(port, key, posts, seed=2)
            post_concurrent = (
                _post_many(port, key, posts, seed=3, clients=clients) if clients > 1 else None
            )
        finally:
            _stop(server)
        insert_sql = _sql_inserts(engine, city_id, type_ids["pothole"], posts)
        engine.dispose()
    return Open311BenchResult(
        backend,
        requests,
        opened,
        fill_seconds,
        list_api,
        list_sql,
        post_api,
        insert_sql,
        post_concurrent,
    )


def summary(result: Open311BenchResult) -> list[str]:
    lines = [
        f"{result.requests:,} requests stored ({result.open_requests:,} open) on "
        f"{result.backend}; uvicorn, one worker, keep-alive connections"
    ]
    rates = [result.list_api, result.list_sql, result.post_api]
    rates += [result.post_concurrent] if result.post_concurrent else []
    for rate in [*rates, result.insert_sql]:
        lines.append(
            f"  {rate.label:<22}{rate.per_second:>9,.0f} /s   p50 {rate.p50_ms:6.2f} ms   "
            f"p95 {rate.p95_ms:6.2f} ms   ({rate.requests:,} requests, {rate.failures} failed)"
        )
    lines.append(
        f"  list p95 {result.list_api.p95_ms:.1f} ms (target < {LIST_TARGET_MS:.0f} ms), "
        f"POST {result.post_best.per_second:,.0f}/s ({result.post_best.label}; "
        f"target ≥ {POST_TARGET:,.0f}/s on one worker): " + ("met" if result.met else "MISSED")
    )
    return lines
