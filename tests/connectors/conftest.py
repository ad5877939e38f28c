"""Fixtures for the connector tests: a fresh database per test (the runner opens its own
sessions), test connectors registered through real entry points, and a local HTTP server that
replays the recorded payloads of tests/connectors/payloads/ with paging, ETags and failures."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import sys
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.connectors.base import (
    ENTRY_POINT_GROUP,
    BaseConnector,
    ConnectorContext,
    ConnectorRegistry,
    ConnectorResult,
    Mode,
    default_registry,
)
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.errors import ConnectorError
from citymeter.sources import service
from citymeter.sources.models import Source
from citymeter.sources.schemas import SourceCreate

PAYLOADS = Path(__file__).parent / "payloads"
TEST_MODULE = "citymeter_connector_test_kinds"
LAST_MODIFIED = email.utils.format_datetime(dt.datetime(2025, 5, 1, 5, 0, tzinfo=dt.UTC), True)

# Attempts per source code, counted by the test connectors (the runner builds a new connector
# for every run, so the count lives here).
ATTEMPTS: dict[str, int] = {}


def reading(station: str, pm10: float, at: str = "2025-05-01T05:00:00Z") -> dict[str, Any]:
    return {"type": "AirQualityStation", "id": station, "observed_at": at, "attrs": {"pm10": pm10}}


class CountingConnector(BaseConnector):
    """Poll connector driven by its config: fails the first `fail_times` attempts, sleeps
    `sleep_s` (checking for cancellation), then stores `stations` readings."""

    mode: ClassVar[Mode] = "poll"

    def run(self, ctx: ConnectorContext) -> ConnectorResult:
        ATTEMPTS[ctx.source_code] = ATTEMPTS.get(ctx.source_code, 0) + 1
        attempt = ATTEMPTS[ctx.source_code]
        deadline = time.monotonic() + float(ctx.config.get("sleep_s", 0))
        while time.monotonic() < deadline:
            ctx.check()
            time.sleep(0.02)
        # A connector that never looks at its context: only the runner's join timeout stops it.
        time.sleep(float(ctx.config.get("block_s", 0)))
        if attempt <= int(ctx.config.get("fail_times", 0)):
            raise ConnectorError(f"upstream said no (attempt {attempt})")
        if ctx.config.get("crash"):
            raise RuntimeError("a bug in the connector")
        ctx.state["last_attempt"] = attempt
        stations = int(ctx.config.get("stations", 1))
        readings = [reading(f"{ctx.source_code}-{i}", 10 + i) for i in range(stations)]
        return ConnectorResult().add(ctx.ingest_readings(readings))


class StreamConnector(BaseConnector):
    mode: ClassVar[Mode] = "stream"
    started: ClassVar[list[str]] = []
    stopped: ClassVar[list[str]] = []

    def start(self, ctx: ConnectorContext) -> None:
        self.code = ctx.source_code
        StreamConnector.started.append(ctx.source_code)
        ctx.report(ctx.ingest_readings([reading(f"{ctx.source_code}-live", 5)]))

    def stop(self) -> None:
        StreamConnector.stopped.append(self.code)


class NotAConnector:
    """Has no mode: the registry must refuse it with a message."""


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> ConnectorRegistry:
    """The installed connectors plus the test kinds, registered as entry points of a module."""
    module = types.ModuleType(TEST_MODULE)
    module.CountingConnector = CountingConnector  # type: ignore[attr-defined]
    module.StreamConnector = StreamConnector  # type: ignore[attr-defined]
    module.NotAConnector = NotAConnector  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, TEST_MODULE, module)
    ATTEMPTS.clear()
    StreamConnector.started.clear()
    StreamConnector.stopped.clear()
    registry = ConnectorRegistry(default_registry().points())
    for name, target in (
        ("counting", "CountingConnector"),
        ("streaming", "StreamConnector"),
        ("broken", "NotAConnector"),
    ):
        registry.add(
            EntryPoint(name=name, value=f"{TEST_MODULE}:{target}", group=ENTRY_POINT_GROUP)
        )
    return registry


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def add_source(
    sessions: sessionmaker[Session],
    registry: ConnectorRegistry,
    code: str,
    kind: str = "counting",
    now: dt.datetime | None = None,
    **fields: Any,
) -> None:
    fields.setdefault("name", code)
    with sessions() as session, session.begin():
        service.add_source(
            session,
            SYSTEM_VIEWER,
            SourceCreate(code=code, kind=kind, **fields),
            registry=registry,
            now=now,
        )


def load_source(sessions: sessionmaker[Session], code: str) -> Source:
    with sessions() as session:
        source = session.scalar(select(Source).where(Source.code == code))
        assert source is not None
        session.expunge(source)
        return source


# --- the local HTTP server ------------------------------------------------------------------


@dataclass
class PayloadServer:
    base: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    fail_first: dict[str, int] = field(default_factory=dict)

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if urlparse(p).path == path)


def _stations() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(
        (PAYLOADS / "airkorea_stations.json").read_text("utf-8")
    )["items"]
    return items


class _Handler(BaseHTTPRequestHandler):
    server_state: ClassVar[PayloadServer]

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
        return

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, document: Any, **headers: str) -> None:
        self._send(200, json.dumps(document).encode(), "application/json", **headers)

    def do_GET(self) -> None:
        state = self.server_state
        state.requests.append((self.path, dict(self.headers.items())))
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        remaining = state.fail_first.get(path, 0)
        if remaining > 0:
            state.fail_first[path] = remaining - 1
            self._send(503, b"busy", "text/plain")
            return
        items = _stations()
        if path == "/air/all":
            body = json.dumps({"items": items}).encode()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", "application/json", ETag=etag)
                return
            self._send(200, body, "application/json", ETag=etag)
        elif path == "/air/dated":
            if self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                self._send(304, b"", "application/json")
                return
            self._json({"items": items}, Last_Modified=LAST_MODIFIED)
        elif path == "/air/page":
            page, size = int(query.get("pageNo", "1")), int(query.get("numOfRows", "10"))
            chunk = items[(page - 1) * size : page * size]
            self._json({"response": {"body": {"items": chunk, "pageNo": page}}})
        elif path == "/air/offset":
            offset, limit = int(query.get("offset", "0")), int(query.get("limit", "10"))
            self._json({"items": items[offset : offset + limit]})
        elif path == "/air/link":
            cursor = int(query.get("cursor", "0"))
            headers = {}
            if cursor + 2 < len(items):
                headers["Link"] = f'</air/link?cursor={cursor + 2}>; rel="next"'
            self._json({"items": items[cursor : cursor + 2]}, **headers)
        elif path == "/air/secure":
            if self.headers.get("Authorization") != "Bearer s3cret-token":
                self._send(401, b'{"error": "bad token"}', "application/json")
                return
            self._json({"items": items[:1]})
        elif path == "/air/slow":
            time.sleep(float(query.get("s", "3")))
            self._json({"items": items[:1]})
        elif path == "/parking.csv":
            body = (PAYLOADS / "parking_occupancy.csv").read_bytes()
            self._send(200, body, "text/csv")
        else:
            self._send(404, b"not here", "text/plain")


@pytest.fixture
def payload_server() -> Iterator[PayloadServer]:
    state = PayloadServer(base="")
    handler = type("Handler", (_Handler,), {"server_state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)
