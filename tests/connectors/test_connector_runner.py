"""The runner: runs, retries with backoff, timeouts, health, isolation between sources."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from citymeter.connectors.base import ConnectorRegistry, ConnectorResult
from citymeter.connectors.runner import Runner
from citymeter.entities.models import Entity
from citymeter.sources import health
from citymeter.sources.models import SourceDay, SourceRun

from .conftest import ATTEMPTS, StreamConnector, add_source, load_source

T0 = dt.datetime(2025, 5, 1, 6, 0, tzinfo=dt.UTC)


def _runner(sessions: sessionmaker[Session], registry: ConnectorRegistry) -> Runner:
    # A tiny backoff base so retries take milliseconds; a seeded jitter.
    return Runner(
        sessions, registry=registry, backoff_base_s=0.01, backoff_max_s=0.05, rng=random.Random(7)
    )


def _entities(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Entity)) or 0


def test_a_run_stores_readings_and_records_health(
    sessions: sessionmaker[Session], registry: ConnectorRegistry
) -> None:
    add_source(sessions, registry, "air", expected_interval_s=600, config={"stations": 3})
    runner = _runner(sessions, registry)
    outcome = runner.run_source("air", now=T0)
    runner.stop()
    assert outcome.status == "success" and outcome.attempts == 1
    assert (outcome.result.records_in, outcome.result.accepted, outcome.result.rejected) == (
        3,
        3,
        0,
    )
    assert _entities(sessions) == 3
    source = load_source(sessions, "air")
    assert source.last_success_at == T0 and source.consecutive_failures == 0
    assert source.state == {"last_attempt": 1}  # the connector's memo is kept after success
    assert source.next_run_at == T0 + dt.timedelta(seconds=600)
    assert health.freshness(source, T0) == "fresh"
    with sessions() as session:
        day = session.scalar(select(SourceDay))
        assert day is not None
        assert (day.records_in, day.accepted, day.rejected, day.runs) == (3, 3, 0, 1)


def test_retries_with_backoff_until_success(
    sessions: sessionmaker[Session], registry: ConnectorRegistry
) -> None:
    add_source(sessions, registry, "flaky", max_retries=3, config={"fail_times": 2})
    runner = _runner(sessions, registry)
    outcome = runner.run_source("flaky", now=T0)
    runner.stop()
    assert ATTEMPTS["flaky"] == 3
    assert outcome.status == "success" and outcome.attempts == 3
    # Exponential with jitter in [50 %, 150 %]: base·1, base·2.
    assert len(outcome.delays) == 2
    assert 0.005 <= outcome.delays[0] <= 0.015
    assert 0.01 <= outcome.delays[1] <= 0.03
    assert load_source(sessions, "flaky").consecutive_failures == 0


def test_backoff_grows_and_is_capped() -> None:
    runner = Runner(
        sessionmaker(),
        registry=ConnectorRegistry(),
        backoff_base_s=1,
        backoff_max_s=8,
        rng=random.Random(1),
    )
    waits = [runner.backoff(n) for n in range(1, 8)]
    runner.stop()
    for n, wait in enumerate(waits, start=1):
        nominal = min(8, 2 ** (n - 1))
        assert 0.5 * nominal <= wait <= 1.5 * nominal


def test_giving_up_records_the_error_and_delays_the_next_run(
    sessions: sessionmaker[Session], registry: ConnectorRegistry
) -> None:
    add_source(sessions, registry, "down", max_retries=2, schedule="60", config={"fail_times": 99})
    runner = _runner(sessions, registry)
    outcome = runner.run_source("down", now=T0)
    runner.stop()
    assert ATTEMPTS["down"] == 3  # one attempt and two retries
    assert outcome.status == "failed"
    source = load_source(sessions, "down")
    assert source.consecutive_failures == 1
    assert source.last_error == "upstream said no (attempt 3)"
    assert source.last_error_at == T0 and source.last_success_at is None
    assert health.freshness(source, T0) == "failing"
    assert source.next_run_at is not None and source.next_run_at >= T0 + dt.timedelta(seconds=60)
    assert source.state == {}  # state is not saved from a failed run
    with sessions() as session:
        run = session.scalar(select(SourceRun))
        assert run is not None and (run.status, run.attempts) == ("failed", 3)


def test_a_hanging_connector_times_out(
    sessions: sessionmaker[Session], registry: ConnectorRegistry
) -> None:
    add_source(sessions, registry, "slow", timeout_s=1, max_retries=0, config={"sleep_s": 10})
    runner = _runner(sessions, registry)
    started = time.monotonic()
    outcome = runner.run_source("slow", now=T0)
    elapsed = time.monotonic() - started
    runner.stop()
    assert outcome.status == "timeout"
    assert outcome.message == "Source 'slow' timed out after 1 s."
    assert elapsed < 3
    assert _entities(sessions) == 0
    assert load_source(sessions, "slow").last_error == "Source 'slow' timed out after 1 s."


def test_a_connector_ignoring_its_deadline_is_abandoned_and_cannot_store_late(
    sessions: sessionmaker[Session], registry: ConnectorRegistry
) -> None:
    add_source(sessions, registry, "deaf", timeout_s=1, max_retries=0, config={"block_s": 2})
    runner = _runner(sessions, registry)
    started = time.monotonic()
    outcome = runner.run_source("deaf", now=T0)
    assert time.monotonic() - started < 2
    assert outcome.status == "timeout"
    time.sleep(1.5)  # the abandoned attempt wakes up and tries to store: it is refused
    runner.stop()
    assert _entities(sessions) == 0


def test_a_failing_or_hanging_source_does_not_stop_the_others(
    sessions: sessionmaker[Session], registry: ConnectorRegistry
) -> None:
    add_source(sessions, registry, "good", now=T0, schedule="60", config={"stations": 2})
    add_source(
        sessions, registry, "bad", now=T0, schedule="60", max_retries=1, config={"crash": True}
    )
    add_source(
        sessions,
        registry,
        "hangs",
        now=T0,
        schedule="60",
        timeout_s=1,
        max_retries=0,
        config={"sleep_s": 10},
    )
    runner = _runner(sessions, registry)
    outcomes = {o.code: o for o in runner.run_due(now=T0 + dt.timedelta(seconds=1))}
    runner.stop()
    assert outcomes["good"].status == "success"
    assert outcomes["bad"].status == "failed"
    assert outcomes["bad"].message == "RuntimeError: a bug in the connector"
    assert outcomes["hangs"].status == "timeout"
    assert _entities(sessions) == 2
    # Not due again until their schedule comes round.
    assert _runner(sessions, registry).due_codes(T0 + dt.timedelta(seconds=2)) == []


def test_disabled_and_push_sources_are_never_due(
    sessions: sessionmaker[Session], registry: ConnectorRegistry
) -> None:
    add_source(sessions, registry, "off", now=T0, schedule="60", enabled=False)
    add_source(sessions, registry, "pushed", now=T0, kind="http_push", expected_interval_s=60)
    add_source(sessions, registry, "on", now=T0, schedule="60")
    runner = _runner(sessions, registry)
    assert runner.due_codes(T0 + dt.timedelta(days=1)) == ["on"]
    skipped = runner.run_source("pushed")
    runner.stop()
    assert skipped.status == "skipped"


def test_stream_connectors_start_report_and_stop(
    sessions: sessionmaker[Session], registry: ConnectorRegistry
) -> None:
    add_source(sessions, registry, "live", kind="streaming", expected_interval_s=60)
    runner = _runner(sessions, registry)
    runner.sync_streams()
    assert StreamConnector.started == ["live"]
    source = load_source(sessions, "live")
    assert source.last_success_at is not None and source.last_data_at is not None
    with sessions() as session:
        day = session.scalar(select(SourceDay))
        assert day is not None and (day.records_in, day.accepted, day.runs) == (1, 1, 0)
    runner.stop()
    assert StreamConnector.stopped == ["live"]


def test_a_stream_report_waits_for_a_writer_of_another_process(
    sessions: sessionmaker[Session],
    registry: ConnectorRegistry,
    database_url: str,
    backend: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """MQTT workers write from processes of their own. A health report that read first and wrote
    later would fail at once ("database is locked") when such a writer committed in between; the
    runner's writes take SQLite's write lock up front and wait their turn instead."""
    if backend != "sqlite":
        pytest.skip("SQLite's write lock; PostgreSQL writers lock rows")
    add_source(sessions, registry, "live", kind="streaming", expected_interval_s=60)
    runner = _runner(sessions, registry)
    other = sqlite3.connect(str(make_url(database_url).database), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE source SET description = 'touched' WHERE code = 'live'")
        report = threading.Thread(
            target=runner._stream_report, args=("live", ConnectorResult(3, 3, 0), None)
        )
        report.start()
        time.sleep(0.3)  # the report is waiting now
        other.execute("COMMIT")
        report.join(timeout=15)
    finally:
        other.close()
        runner.stop()
    assert "could not record the health" not in caplog.text
    with sessions() as session:
        day = session.scalar(select(SourceDay))
        assert day is not None and (day.records_in, day.accepted) == (3, 3)
    assert load_source(sessions, "live").description == "touched"


def test_the_loop_runs_due_sources_on_its_own(
    sessions: sessionmaker[Session], registry: ConnectorRegistry
) -> None:
    add_source(sessions, registry, "tick", schedule="3600", config={"stations": 1})
    runner = Runner(sessions, registry=registry, tick_s=0.05)
    runner.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and load_source(sessions, "tick").last_success_at is None:
        time.sleep(0.05)
    runner.stop()
    assert load_source(sessions, "tick").last_success_at is not None
    assert ATTEMPTS["tick"] == 1
