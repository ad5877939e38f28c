"""Schedules: intervals and cron fields, in the installation's time zone."""

from __future__ import annotations

import datetime as dt

import pytest

from citymeter.errors import InvalidInput
from citymeter.sources.schedule import parse_schedule

T0 = dt.datetime(2025, 5, 1, 0, 7, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "seconds"), [("300", 300), ("90s", 90), ("5m", 300), ("1h", 3600), ("2d", 172800)]
)
def test_intervals(text: str, seconds: int) -> None:
    assert parse_schedule(text).next_after(T0) == T0 + dt.timedelta(seconds=seconds)


def test_cron_every_ten_minutes() -> None:
    assert parse_schedule("*/10 * * * *").next_after(T0) == T0.replace(minute=10, second=0)


def test_cron_reads_hours_in_the_local_time_zone() -> None:
    # 06:00 in Seoul is 21:00 UTC the day before.
    due = parse_schedule("0 6 * * *").next_after(T0, "Asia/Seoul")
    assert due == dt.datetime(2025, 5, 1, 21, 0, tzinfo=dt.UTC)


def test_cron_weekdays_only() -> None:
    # 1 May 2025 is a Thursday; "sat,sun" as 6,0 → Saturday 3 May.
    due = parse_schedule("30 9 * * 6,0").next_after(T0)
    assert due == dt.datetime(2025, 5, 3, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("every so often", "neither an interval"),
        ("0s", "shorter than one second"),
        ("61 * * * *", "out of range"),
        ("x * * * *", "not understood"),
        ("0 0 31 2 *", "never comes due"),
    ],
)
def test_bad_schedules_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_schedule(text)
