"""The connector extension point: what a connector is, what the runner hands it, what it returns.

Built-in and third-party connectors register the same way, as entry points in the group
"citymeter.connectors" whose name is the source kind and whose object is a class (or any callable
with no arguments) returning a `Connector`. The runner (citymeter/connectors/runner.py), not the
connector, owns schedules, timeouts, retries and a source's health.

Three modes:
- "poll": the runner calls `run(ctx)` when the source is due; one call is one pass
  (read what is new, ingest it, return counts). Raise to fail the attempt; the runner retries.
- "stream": the runner calls `start(ctx)` once and `stop()` at shutdown; the connector works on its
  own thread and feeds health with `ctx.report(...)` / `ctx.report_error(...)` (MQTT).
- "push": the data arrives by itself (the HTTP push endpoint); the runner never calls the connector
  and health is fed by whoever receives the data (`citymeter.sources.health.record_run`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from citymeter.db.engine import write_session
from citymeter.errors import ConnectorError, InvalidInput

ENTRY_POINT_GROUP = "citymeter.connectors"

Mode = Literal["poll", "stream", "push"]
MODES: tuple[Mode, ...] = ("poll", "stream", "push")


class ConnectorTimeout(ConnectorError):
    """The run went past the source's timeout; the runner counts it as a failed attempt."""


class ConnectorCancelled(ConnectorError):
    """The runner gave up on this run (timeout or shutdown); stop working and return."""


@dataclass
class ConnectorResult:
    """What one pass (or one streamed batch) did. records_in = accepted + rejected (+ skipped)."""

    records_in: int = 0
    accepted: int = 0
    rejected: int = 0
    # The remote side said nothing changed (HTTP 304): a success with no records.
    not_modified: bool = False
    message: str = ""

    def add(self, other: ConnectorResult) -> ConnectorResult:
        self.records_in += other.records_in
        self.accepted += other.accepted
        self.rejected += other.rejected
        if other.message:
            self.message = other.message
        return self


Reporter = Callable[[ConnectorResult], None]
ErrorReporter = Callable[[str], None]


@dataclass
class ConnectorContext:
    """Everything a connector may use during a run. Built by the runner (or by a test).

    `state` is the connector's memo between runs (an ETag, the files already read): the runner loads
    it from the source before the run and saves it after a successful run only, so a failed run
    is retried from the same point.
    """

    source_code: str
    kind: str
    config: Mapping[str, Any]
    sessions: sessionmaker[Session]
    state: dict[str, Any] = field(default_factory=dict)
    city: str | None = None
    timeout_s: float = 60.0
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("citymeter.connectors"))
    cancelled: threading.Event = field(default_factory=threading.Event)
    on_report: Reporter | None = None
    on_error: ErrorReporter | None = None
    started: float = field(default_factory=time.monotonic)
    # Everything stored so far in this run, so a run failing halfway still counts what it stored.
    ingested: ConnectorResult = field(default_factory=ConnectorResult)
    # SQLite has one writer: the runner serialises its threads' write transactions with this lock
    # (a deferred transaction that reads, then writes, fails at once if another thread wrote).
    write_lock: threading.Lock | None = None

    # --- time -------------------------------------------------------------------------------
    def remaining(self) -> float:
        """Seconds left before the run's timeout (with a small floor, for socket timeouts)."""
        return max(0.05, self.timeout_s - (time.monotonic() - self.started))

    def check(self) -> None:
        """Call between pages or files: ends a run the runner gave up on or that ran out of time."""
        if self.cancelled.is_set():
            raise ConnectorCancelled(f"The run of source {self.source_code!r} was cancelled.")
        if time.monotonic() - self.started > self.timeout_s:
            raise ConnectorTimeout(
                f"Source {self.source_code!r} timed out after {self.timeout_s:g} s."
            )

    # --- storing ----------------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in its own transaction, committed when the block ends without error."""
        self.check()
        with _holding(self.write_lock), write_session(self.sessions) as session:
            yield session

    def ingest_readings(
        self, readings: Sequence[Mapping[str, Any]], *, channel: str | None = None
    ) -> ConnectorResult:
        """Store entity readings through the entity ingest service, in one transaction.

        A reading is a mapping like {"type": "AirQualityObserved", "id": "station-7",
        "observed_at": "2025-05-01T09:00:00+09:00", "attrs": {"pm10": 41},
        "location": {"lat": 37.5, "lon": 127.0}}. The batch is all-or-nothing: if one reading is
        invalid, the whole batch is refused and its bad readings go to the dead-letter table.
        Returns this batch's counts (also added to `ingested`).
        """
        from citymeter.entities.ingest import ingest_readings
        from citymeter.places import service as places
        from citymeter.sources.models import Source

        if not readings:
            return ConnectorResult()
        with self.session() as session:
            source = session.scalar(select(Source).where(Source.code == self.source_code))
            city = places.get_city(session, self.city) if self.city else None
            outcome = ingest_readings(
                session,
                list(readings),
                city=city,
                source=source,
                channel=channel or self.kind,
            )
        first = outcome.errors[0].reason if outcome.errors else ""
        return self.counted(
            ConnectorResult(
                records_in=outcome.received,
                accepted=outcome.accepted + outcome.duplicates,
                rejected=outcome.rejected,
                message=f"batch refused: {first}" if first else "",
            )
        )

    def counted(self, result: ConnectorResult) -> ConnectorResult:
        """Adds counts stored some other way (e.g. an observations import) to the run's tally."""
        self.ingested.add(result)
        return result

    # --- streaming connectors ---------------------------------------------------------------
    def report(self, result: ConnectorResult) -> None:
        """A stream connector hands in the counts of a batch it stored; health is updated."""
        if self.on_report is not None:
            self.on_report(result)

    def report_error(self, message: str) -> None:
        """A stream connector reports a failure (lost connection, bad batch); health shows it."""
        if self.on_error is not None:
            self.on_error(message)


@contextmanager
def _holding(lock: threading.Lock | None) -> Iterator[None]:
    if lock is None:
        yield
        return
    with lock:
        yield


@runtime_checkable
class Connector(Protocol):
    """What the runner calls. Subclass `BaseConnector` to get the defaults."""

    mode: Mode

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The config, checked and normalised; raise InvalidInput with a clear message."""
        ...

    def run(self, ctx: ConnectorContext) -> ConnectorResult:
        """Poll mode: one pass. Stream and push connectors never have it called."""
        ...

    def start(self, ctx: ConnectorContext) -> None:
        """Stream mode: begin work on a thread of the connector's own, and return at once."""
        ...

    def stop(self) -> None:
        """Stream mode: stop and release connections; return within a few seconds."""
        ...


class BaseConnector:
    """Defaults for a connector: accepts any config mapping, does nothing on start/stop."""

    mode: ClassVar[Mode] = "poll"

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(config, Mapping):
            raise InvalidInput("A source's config must be a mapping (a JSON object).")
        return dict(config)

    def run(self, ctx: ConnectorContext) -> ConnectorResult:
        raise ConnectorError(f"{type(self).__name__} is a {self.mode!r} connector; it has no run.")

    def start(self, ctx: ConnectorContext) -> None:
        return None

    def stop(self) -> None:
        return None


class ConnectorRegistry:
    """Source kind → entry point. Loading is lazy so a broken third-party package breaks only its
    own kind, with a message, never the others."""

    def __init__(self, points: Sequence[EntryPoint] = ()) -> None:
        self._points: dict[str, EntryPoint] = {}
        for point in points:
            self.add(point)

    @classmethod
    def from_entry_points(cls) -> ConnectorRegistry:
        return cls(list(entry_points(group=ENTRY_POINT_GROUP)))

    def add(self, point: EntryPoint) -> None:
        self._points[point.name] = point

    def points(self) -> list[EntryPoint]:
        return list(self._points.values())

    def kinds(self) -> list[str]:
        return sorted(self._points)

    def __contains__(self, kind: object) -> bool:
        return kind in self._points

    def target(self, kind: str) -> str:
        return self._points[kind].value if kind in self._points else ""

    def create(self, kind: str) -> Connector:
        """A new connector instance for `kind` (one per source for stream connectors)."""
        point = self._points.get(kind)
        if point is None:
            known = ", ".join(self.kinds()) or "none"
            raise InvalidInput(
                f"No connector is registered for kind {kind!r} (known: {known}). "
                f"Install the package that provides it (entry-point group {ENTRY_POINT_GROUP!r})."
            )
        try:
            factory = point.load()
            connector = factory()
        except Exception as exc:
            raise ConnectorError(
                f"The connector for kind {kind!r} ({point.value}) could not be loaded: "
                f"{exc.__class__.__name__}: {exc}"
            ) from exc
        mode = getattr(connector, "mode", None)
        if mode not in MODES or not isinstance(connector, Connector):
            raise ConnectorError(
                f"{point.value} is not a CityMeter connector: it needs a `mode` "
                f"({', '.join(MODES)}) and check_config/run/start/stop (see docs/connectors.md)."
            )
        return connector


@lru_cache(maxsize=1)
def default_registry() -> ConnectorRegistry:
    """The connectors installed here (cached; `default_registry.cache_clear()` reloads them)."""
    return ConnectorRegistry.from_entry_points()
