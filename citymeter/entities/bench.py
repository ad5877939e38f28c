"""Timing the HTTP push of readings through the real app (uvicorn in its own process, as deployed;
an httpx client in this one) against a raw sqlite3 `executemany` of the same readings into the
store's table shape (and, for comparison, into the one-row-per-value shape before it), for
`citymeter bench ingest-http`."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.db import migrate
from citymeter.db.engine import make_engine
from citymeter.entities.history import pack_values, to_micros
from citymeter.ngsi.bench import _free_port, _start_server, _stop
from citymeter.places import service as places

ATTRS = ("pm10", "pm25", "no2", "o3")
# A 0.4° × 0.2° city split into 4 × 4 district squares, around Seoul.
WEST, SOUTH, STEP_LON, STEP_LAT, SIDE = 126.8, 37.4, 0.1, 0.05, 4


@dataclass(frozen=True)
class IngestBenchResult:
    readings: int
    points: int
    batches: int
    batch_size: int
    seconds: float
    p95_ms: float
    baseline_seconds: float
    point_baseline_seconds: float
    peak_mb: float
    accepted: int
    duplicates: int
    rejected: int
    backend: str

    @property
    def per_second(self) -> float:
        return self.readings / self.seconds

    @property
    def baseline_per_second(self) -> float:
        return self.readings / self.baseline_seconds

    @property
    def point_baseline_per_second(self) -> float:
        return self.readings / self.point_baseline_seconds


def _box(west: float, south: float) -> dict[str, Any]:
    east, north = west + STEP_LON, south + STEP_LAT
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _prepare(session: Session) -> str:
    city = places.create_city(session, SYSTEM_VIEWER, code="bench", name="Bench City")
    root = places.root_area_of(session, city)
    for i in range(SIDE * SIDE):
        west, south = WEST + (i % SIDE) * STEP_LON, SOUTH + (i // SIDE) * STEP_LAT
        places.add_area(
            session,
            None,
            city=city,
            code=f"D{i:02d}",
            level="district",
            name=f"District {i}",
            parent=root,
            boundary=_box(west, south),
        )
    accounts.create_user(
        session, SYSTEM_VIEWER, username="bench", role="data_steward", password=None
    )
    _row, secret = accounts.create_token(session, SYSTEM_VIEWER, "bench", "ingest bench")
    return secret


def make_readings(stations: int, steps: int, seed: int = 7) -> list[dict[str, Any]]:
    """`stations` stations inside the city, `steps` readings each a minute apart."""
    rng = random.Random(seed)
    start = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    spots = [
        {
            "lat": round(SOUTH + rng.random() * STEP_LAT * SIDE * 0.999, 5),
            "lon": round(WEST + rng.random() * STEP_LON * SIDE * 0.999, 5),
        }
        for _ in range(stations)
    ]
    readings = []
    for step in range(steps):
        at = (start + dt.timedelta(minutes=step)).isoformat()
        for station in range(stations):
            readings.append(
                {
                    "type": "AirQualityStation",
                    "id": f"bench-{station}",
                    "observed_at": at,
                    "attrs": {
                        "pm10": round(rng.uniform(5, 150), 1),
                        "pm25": round(rng.uniform(2, 80), 1),
                        "no2": round(rng.uniform(0, 0.1), 4),
                        "o3": round(rng.uniform(0, 0.1), 4),
                    },
                    "location": spots[station],
                }
            )
    return readings


def _timed_executemany(path: Path, table: str, insert: str, rows: list[Any]) -> float:
    """Seconds for sqlite3 alone to insert `rows` in one transaction (WAL, synchronous=NORMAL,
    as the app's engine)."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(table)
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany(insert, rows)
    connection.execute("COMMIT")
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def raw_baseline(readings: list[dict[str, Any]], folder: Path) -> float:
    """Seconds for sqlite3 alone to store the same readings into the table shape the store uses:
    a row per (entity, time) with the values packed, keyed WITHOUT ROWID. The rows are built
    before the clock starts."""
    ids: dict[str, int] = {}
    rows: list[tuple[int, int, str]] = []
    for item in readings:
        entity = ids.setdefault(item["id"], len(ids) + 1)
        at = to_micros(dt.datetime.fromisoformat(item["observed_at"]))
        rows.append((entity, at, pack_values({n: item["attrs"][n] for n in ATTRS})))
    return _timed_executemany(
        folder / "baseline.db",
        "CREATE TABLE entity_reading (entity_pk INTEGER NOT NULL, observed_us BIGINT NOT NULL, "
        "attrs TEXT NOT NULL, PRIMARY KEY (entity_pk, observed_us)) WITHOUT ROWID",
        "INSERT INTO entity_reading (entity_pk, observed_us, attrs) VALUES (?, ?, ?)",
        rows,
    )


def raw_baseline_point_per_row(readings: list[dict[str, Any]], folder: Path) -> float:
    """Seconds for sqlite3 alone to store the same points one row per value, the layout before
    migration 0006 (a rowid, and a unique key on entity, attribute text and time text)."""
    rows: list[tuple[int, str, str, float]] = []
    ids: dict[str, int] = {}
    for item in readings:
        entity = ids.setdefault(item["id"], len(ids) + 1)
        at = item["observed_at"]
        rows.extend((entity, name, at, item["attrs"][name]) for name in ATTRS)
    return _timed_executemany(
        folder / "baseline-points.db",
        "CREATE TABLE point (id INTEGER PRIMARY KEY, entity_pk INTEGER, attr TEXT, "
        "observed_at TEXT, value REAL, UNIQUE (entity_pk, attr, observed_at))",
        "INSERT INTO point (entity_pk, attr, observed_at, value) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        rows,
    )


def run(
    *,
    stations: int = 500,
    steps: int = 120,
    batch_size: int = 5000,
    database_url: str | None = None,
) -> IngestBenchResult:
    """Push stations × steps readings (4 numeric attributes each) in batches over HTTP."""
    with tempfile.TemporaryDirectory(prefix="citymeter-bench-") as tmp:
        folder = Path(tmp)
        url = database_url or f"sqlite:///{folder / 'bench.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        with Session(engine) as session, session.begin():
            secret = _prepare(session)
        readings = make_readings(stations, steps)
        bodies = [
            json.dumps({"readings": readings[i : i + batch_size]}).encode()
            for i in range(0, len(readings), batch_size)
        ]
        engine.dispose()
        env = dict(os.environ)
        env.update(
            {
                "CITYMETER_DATABASE_URL": url,
                "CITYMETER_DATA_DIR": str(folder / "data"),
                "CITYMETER_SECRET_KEY": "bench",
                "CITYMETER_MAX_UPLOAD_MB": "256",
            }
        )
        env.pop("CITYMETER_CONFIG", None)
        port = _free_port()
        # Its own process, as deployed: the client's work and the GIL are not the server's.
        server = _start_server("citymeter.web.app:create_app", port, env, factory=True)
        try:
            headers = {
                "Authorization": f"Bearer {secret}",
                "Content-Type": "application/json",
            }
            latencies: list[float] = []
            totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                started = time.perf_counter()
                for body in bodies:
                    sent = time.perf_counter()
                    answer = client.post("/api/v1/ingest/readings", content=body, headers=headers)
                    latencies.append((time.perf_counter() - sent) * 1000)
                    if answer.status_code != 200:
                        raise RuntimeError(f"ingest answered {answer.status_code}: {answer.text}")
                    for key in totals:
                        totals[key] += int(answer.json()[key])
                seconds = time.perf_counter() - started
        finally:
            _stop(server)
        baseline = raw_baseline(readings, folder)
        point_baseline = raw_baseline_point_per_row(readings, folder)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    # The server's peak: the largest child process waited for (the client is this process).
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return IngestBenchResult(
        readings=len(readings),
        points=len(readings) * len(ATTRS),
        batches=len(bodies),
        batch_size=batch_size,
        seconds=seconds,
        p95_ms=p95,
        baseline_seconds=baseline,
        point_baseline_seconds=point_baseline,
        peak_mb=peak_mb,
        backend=engine.dialect.name,
        **totals,
    )
