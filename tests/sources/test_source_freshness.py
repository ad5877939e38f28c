"""Freshness moves fresh → late → stale as time passes, and to failing when an attempt fails."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.sources import health, service
from citymeter.sources.models import Source
from citymeter.sources.schemas import SourceCreate

T0 = dt.datetime(2025, 5, 1, 0, 0, tzinfo=dt.UTC)


def _source(db: Session, interval: int | None = 600) -> Source:
    return service.add_source(
        db,
        SYSTEM_VIEWER,
        SourceCreate(code="air", name="Air", kind="http_push", expected_interval_s=interval),
        now=T0,
    )


def test_transitions_with_a_moving_clock(db: Session) -> None:
    source = _source(db)
    assert health.freshness(source, T0) == "unknown"
    health.record_batch(db, "air", records_in=4, accepted=4, rejected=0, now=T0)
    minutes = [(5, "fresh"), (10, "fresh"), (11, "late"), (30, "late"), (31, "stale")]
    for minute, expected in minutes:
        assert health.freshness(source, T0 + dt.timedelta(minutes=minute)) == expected
    health.record_batch(
        db,
        "air",
        records_in=0,
        accepted=0,
        rejected=0,
        error="broker gone",
        now=T0 + dt.timedelta(minutes=40),
    )
    assert health.freshness(source, T0 + dt.timedelta(minutes=40)) == "failing"
    assert source.last_error == "broker gone" and source.consecutive_failures == 1
    health.record_batch(
        db, "air", records_in=1, accepted=1, rejected=0, now=T0 + dt.timedelta(minutes=41)
    )
    assert health.freshness(source, T0 + dt.timedelta(minutes=41)) == "fresh"


def test_counts_add_up_by_day_in_the_installation_time_zone(db: Session) -> None:
    source = _source(db)
    # 23:30 UTC on 30 April is 08:30 on 1 May in Seoul.
    late_evening = dt.datetime(2025, 4, 30, 23, 30, tzinfo=dt.UTC)
    health.record_batch(
        db, "air", records_in=5, accepted=4, rejected=1, now=late_evening, tz="Asia/Seoul"
    )
    health.record_batch(db, "air", records_in=3, accepted=3, rejected=0, now=T0, tz="Asia/Seoul")
    [today] = health.day_counts(db, source, dt.date(2025, 5, 1))
    assert (today.records_in, today.accepted, today.rejected) == (8, 7, 1)
    out = service.describe(db, SYSTEM_VIEWER, source, now=T0, tz="Asia/Seoul")
    assert out.health.today.records_in == 8
    [before] = health.day_counts(db, source, dt.date(2025, 4, 30))
    assert before.records_in == 0


def test_without_an_expected_interval_a_success_is_fresh(db: Session) -> None:
    source = _source(db, interval=None)
    health.record_batch(db, "air", records_in=1, accepted=1, rejected=0, now=T0)
    assert health.freshness(source, T0 + dt.timedelta(days=400)) == "fresh"


def test_a_batch_for_an_unknown_source_is_refused(db: Session) -> None:
    from citymeter.errors import NotFound

    with pytest.raises(NotFound, match="no source 'ghost'"):
        health.record_batch(db, "ghost", records_in=1, accepted=1, rejected=0)
