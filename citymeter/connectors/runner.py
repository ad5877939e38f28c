"""The runner: runs due sources through their connectors and keeps their health.

It owns what connectors must not: schedules, timeouts, retries with exponential backoff and jitter,
health, and the rule that one failing or hanging connector never stops the others (each run is on
a pool thread, each attempt on a thread of its own that is abandoned — and cancelled through its
context — when it overruns its timeout).

With several app workers only one runs the connectors: on PostgreSQL the runner holds a session
advisory lock (`pg_try_advisory_lock`) on a connection of its own, and the others wait and try
again, so when the leader dies another worker takes over. SQLite is one process: it always runs.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from citymeter.connectors.base import (
    Connector,
    ConnectorContext,
    ConnectorRegistry,
    ConnectorResult,
    ConnectorTimeout,
    Mode,
    default_registry,
)
from citymeter.db.base import utcnow
from citymeter.db.engine import make_sessionmaker, write_session
from citymeter.errors import CityMeterError, NotFound
from citymeter.settings import Settings
from citymeter.sources import health
from citymeter.sources import service as sources
from citymeter.sources.models import Source

log = logging.getLogger("citymeter.connectors.runner")

# Arbitrary but fixed: the advisory lock every CityMeter worker on one database competes for.
ADVISORY_LOCK_KEY = 0x43_4D_52_55_4E  # "CMRUN"
# Extra seconds an attempt gets past its timeout to notice the cancellation and return.
GRACE_S = 0.5
# Between runs that keep failing the runner waits longer and longer, up to this.
MAX_FAILURE_DELAY_S = 3600.0


@dataclass
class RunOutcome:
    code: str
    status: str  # success, not_modified, failed, timeout, skipped
    attempts: int = 0
    result: ConnectorResult = field(default_factory=ConnectorResult)
    message: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    delays: list[float] = field(default_factory=list)  # the backoff waits between attempts

    @property
    def ok(self) -> bool:
        return self.status in ("success", "not_modified")


class LeaderLock(Protocol):
    def acquire(self) -> bool: ...

    def release(self) -> None: ...


class AlwaysLeader:
    """SQLite: one process, so its runner always runs."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class PostgresAdvisoryLock:
    """Leadership among workers: a session advisory lock held on a connection of our own. If the
    connection drops, the lock is gone with it, and `acquire` tries again."""

    def __init__(self, engine: Engine, key: int = ADVISORY_LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("lost the connection holding the runner lock; trying again")
                self._drop()
        try:
            connection = self.engine.connect()
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                ).scalar()
            )
            connection.commit()
        except Exception as exc:
            log.warning("could not ask for the runner lock: %s", exc)
            return False
        if got:
            self._connection = connection
        else:
            connection.close()
        return got

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:
                pass
            self._connection = None

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._connection.commit()
            self._connection.close()
        except Exception:
            self._drop()
        self._connection = None


def leader_lock_for(engine: Engine) -> LeaderLock:
    if engine.dialect.name == "postgresql":
        return PostgresAdvisoryLock(engine)
    return AlwaysLeader()


def _message(exc: BaseException) -> str:
    if isinstance(exc, CityMeterError):
        return exc.message
    return f"{exc.__class__.__name__}: {exc}"


@dataclass
class _Stream:
    connector: Connector
    ctx: ConnectorContext
    fingerprint: str


class Runner:
    """Runs due sources. `start()` runs a loop on a thread; `run_due`/`run_source` run in the
    caller (the CLI, tests) and return what happened."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        registry: ConnectorRegistry | None = None,
        tz: str = "UTC",
        tick_s: float = 1.0,
        backoff_base_s: float = 2.0,
        backoff_max_s: float = 300.0,
        workers: int = 4,
        lock: LeaderLock | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.registry = registry or default_registry()
        self.tz = tz
        self.tick_s = tick_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.lock = lock or AlwaysLeader()
        self.clock = clock
        self.rng = rng or random.Random()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="citymeter-run")
        self._in_flight: dict[str, Future[RunOutcome]] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._streams: dict[str, _Stream] = {}
        self._modes: dict[str, Mode] = {}
        self.leading = False
        bind = sessions.kw.get("bind")
        is_sqlite = getattr(getattr(bind, "dialect", None), "name", "") == "sqlite"
        self._write_lock: threading.Lock | None = threading.Lock() if is_sqlite else None

    # --- one source -------------------------------------------------------------------------
    def backoff(self, attempt: int) -> float:
        """Wait before retry number `attempt` (1, 2, …): exponential, capped, with jitter in
        [50 %, 150 %] so that sources failing together do not retry together."""
        delay: float = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        return delay * (0.5 + self.rng.random())

    def mode_of(self, kind: str) -> Mode | None:
        if kind not in self._modes:
            try:
                self._modes[kind] = self.registry.create(kind).mode
            except CityMeterError:
                return None
        return self._modes[kind]

    def _context(self, source: Source, state: dict[str, Any]) -> ConnectorContext:
        city = source.config.get("city")
        return ConnectorContext(
            source_code=source.code,
            kind=source.kind,
            config=copy.deepcopy(source.config),
            sessions=self.sessions,
            state=state,
            city=city if isinstance(city, str) else None,
            timeout_s=float(source.timeout_s),
            now=self.clock(),
            log=logging.getLogger(f"citymeter.connectors.{source.kind}"),
            write_lock=self._write_lock,
        )

    def run_source(self, code: str, *, now: dt.datetime | None = None) -> RunOutcome:
        """Run one source now, whatever its schedule: all attempts, then its health."""
        started = now or self.clock()
        with self.sessions() as session:
            source = sources.source_by_code(session, code)
            session.expunge(source)
        outcome = RunOutcome(code=code, status="failed", started_at=started)
        try:
            connector = self.registry.create(source.kind)
        except CityMeterError as exc:
            outcome.message = exc.message
            return self._finish(source, outcome, None, now)
        if connector.mode != "poll":
            outcome.status = "skipped"
            outcome.message = f"Source {code!r} is a {connector.mode} source: " + (
                "data arrives by itself; nothing to run."
                if connector.mode == "push"
                else "its connector runs continuously while the server runs."
            )
            return outcome
        state = dict(source.state or {})
        final_ctx: ConnectorContext | None = None
        for attempt in range(1, source.max_retries + 2):
            if self._stop.is_set() and attempt > 1:
                break
            outcome.attempts = attempt
            ctx = self._context(source, copy.deepcopy(state))
            final_ctx = ctx
            status, result, message = self._attempt(connector, ctx)
            outcome.status, outcome.message = status, message
            if status in ("success", "not_modified"):
                assert result is not None
                outcome.result = result
                break
            # What a failed attempt stored before failing is still counted.
            outcome.result = ctx.ingested
            log.warning("source %s attempt %d failed: %s", code, attempt, message)
            if attempt <= source.max_retries:
                delay = self.backoff(attempt)
                outcome.delays.append(delay)
                if self._stop.wait(delay):
                    break
        return self._finish(source, outcome, final_ctx, now)

    def _attempt(
        self, connector: Connector, ctx: ConnectorContext
    ) -> tuple[str, ConnectorResult | None, str | None]:
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = connector.run(ctx)
            except BaseException as exc:
                box["error"] = exc

        thread = threading.Thread(
            target=work, name=f"citymeter-connector-{ctx.source_code}", daemon=True
        )
        thread.start()
        thread.join(ctx.timeout_s + GRACE_S)
        if thread.is_alive():
            ctx.cancelled.set()  # the connector stops at its next ctx.check()
            return (
                "timeout",
                None,
                f"Source {ctx.source_code!r} timed out after {ctx.timeout_s:g} s.",
            )
        if "error" in box:
            exc = box["error"]
            if not isinstance(exc, CityMeterError):
                log.exception("connector for %s raised", ctx.source_code, exc_info=exc)
            if isinstance(exc, ConnectorTimeout):
                return "timeout", None, exc.message
            return "failed", None, _message(exc)
        result = box.get("result")
        if not isinstance(result, ConnectorResult):
            return "failed", None, "The connector returned no ConnectorResult."
        return ("not_modified" if result.not_modified else "success"), result, result.message

    def _finish(
        self,
        source: Source,
        outcome: RunOutcome,
        ctx: ConnectorContext | None,
        now: dt.datetime | None,
    ) -> RunOutcome:
        finished = now or self.clock()
        outcome.finished_at = finished
        with self._writing(), write_session(self.sessions) as session:
            current = session.get(Source, source.id)
            if current is None:  # deleted meanwhile
                return outcome
            schedule = sources.effective_schedule(current)
            next_run = schedule.next_after(finished, self.tz) if schedule else None
            if not outcome.ok and next_run is not None:
                # Keep failing sources from being hammered: wait longer after each failed run.
                extra = min(
                    MAX_FAILURE_DELAY_S,
                    self.backoff_base_s * 2 ** (current.consecutive_failures + 1),
                )
                next_run = max(next_run, finished + dt.timedelta(seconds=extra))
            if outcome.ok and ctx is not None:
                current.state = ctx.state
            health.record_run(
                session,
                current,
                status=outcome.status,
                started_at=outcome.started_at or finished,
                finished_at=finished,
                attempts=outcome.attempts,
                records_in=outcome.result.records_in,
                accepted=outcome.result.accepted,
                rejected=outcome.result.rejected,
                message=outcome.message,
                next_run_at=next_run,
                tz=self.tz,
            )
        return outcome

    @contextmanager
    def _writing(self) -> Iterator[None]:
        if self._write_lock is None:
            yield
            return
        with self._write_lock:
            yield

    # --- many sources -----------------------------------------------------------------------
    def due_codes(self, now: dt.datetime | None = None) -> list[str]:
        """Enabled poll sources whose next run time has come."""
        moment = now or self.clock()
        with self.sessions() as session:
            due = []
            for source in sources.enabled_sources(session):
                if self.mode_of(source.kind) != "poll":
                    continue
                if _is_due(source, moment):
                    due.append(source.code)
            return due

    def _submit(self, code: str, now: dt.datetime | None) -> Future[RunOutcome] | None:
        with self._guard:
            if code in self._in_flight:
                return None
            future = self._pool.submit(self.run_source, code, now=now)
            self._in_flight[code] = future
        future.add_done_callback(lambda _f: self._done(code))
        return future

    def _done(self, code: str) -> None:
        with self._guard:
            self._in_flight.pop(code, None)

    def run_due(self, now: dt.datetime | None = None) -> list[RunOutcome]:
        """Run every due source side by side and wait for all of them (the CLI and tests)."""
        futures = [f for code in self.due_codes(now) if (f := self._submit(code, now))]
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result())
            except Exception as exc:  # a bug in the runner itself: logged, others go on
                log.exception("runner failed on a source", exc_info=exc)
        return outcomes

    # --- streaming connectors ---------------------------------------------------------------
    def sync_streams(self) -> None:
        """Start stream connectors of enabled sources, stop those of sources gone or disabled,
        restart those whose config changed."""
        wanted: dict[str, Source] = {}
        with self.sessions() as session:
            for source in sources.enabled_sources(session):
                if self.mode_of(source.kind) == "stream":
                    session.expunge(source)
                    wanted[source.code] = source
        for code in list(self._streams):
            source_now = wanted.get(code)
            if source_now is None or _fingerprint(source_now) != self._streams[code].fingerprint:
                self._stop_stream(code)
        for code, source in wanted.items():
            if code not in self._streams:
                self._start_stream(source)

    def _start_stream(self, source: Source) -> None:
        code = source.code
        try:
            connector = self.registry.create(source.kind)
            ctx = self._context(source, dict(source.state or {}))
            ctx.timeout_s = float("inf")
            ctx.on_report = lambda result: self._stream_report(code, result, None)
            ctx.on_error = lambda message: self._stream_report(code, None, message)
            connector.start(ctx)
        except Exception as exc:
            log.warning("could not start the connector of %s: %s", code, _message(exc))
            self._stream_report(code, None, f"Could not start: {_message(exc)}")
            return
        self._streams[code] = _Stream(connector, ctx, _fingerprint(source))
        log.info("started the %s connector of source %s", source.kind, code)

    def _stop_stream(self, code: str) -> None:
        stream = self._streams.pop(code)
        stream.ctx.cancelled.set()
        try:
            stream.connector.stop()
        except Exception as exc:
            log.warning("stopping the connector of %s failed: %s", code, _message(exc))

    def _stream_report(self, code: str, result: ConnectorResult | None, error: str | None) -> None:
        try:
            with self._writing(), write_session(self.sessions) as session:
                health.record_batch(
                    session,
                    code,
                    records_in=result.records_in if result else 0,
                    accepted=result.accepted if result else 0,
                    rejected=result.rejected if result else 0,
                    error=error,
                    now=self.clock(),
                    tz=self.tz,
                )
        except NotFound:
            pass
        except Exception as exc:
            log.warning("could not record the health of %s: %s", code, _message(exc))

    # --- the loop ---------------------------------------------------------------------------
    def tick(self) -> None:
        """One turn of the loop: if leading, start due runs (without waiting) and sync streams."""
        self.leading = self.lock.acquire()
        if not self.leading:
            if self._streams:
                for code in list(self._streams):
                    self._stop_stream(code)
            return
        for code in self.due_codes():
            self._submit(code, None)
        self.sync_streams()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # the database is away, say: try again next tick
                log.warning("runner tick failed: %s", _message(exc))
            self._stop.wait(self.tick_s)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="citymeter-runner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and the stream connectors; runs in progress are cancelled."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for code in list(self._streams):
            self._stop_stream(code)
        with self._guard:
            futures = list(self._in_flight.values())
        for future in futures:
            future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.lock.release()


def _is_due(source: Source, moment: dt.datetime) -> bool:
    if source.next_run_at is not None:
        return source.next_run_at <= moment
    # Never run and never scheduled (made outside `sources add`): due if it has a schedule.
    return source.last_run_at is None and sources.effective_schedule(source) is not None


def _fingerprint(source: Source) -> str:
    body = json.dumps([source.kind, source.config], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


@contextmanager
def embedded_runner(settings: Settings, engine: Engine) -> Iterator[Runner | None]:
    """The runner inside `citymeter serve` (CITYMETER_RUN_CONNECTORS=true, the default)."""
    if not settings.run_connectors:
        yield None
        return
    runner = Runner(make_sessionmaker(engine), tz=settings.timezone, lock=leader_lock_for(engine))
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()
