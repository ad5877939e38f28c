"""A source's health: freshness from its expected interval, runs, and the records of each day.

The runner records each run (`record_run`); whoever receives pushed or streamed data records each
batch (`record_batch`). Freshness is computed when asked, from `now` (tests move the clock).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from citymeter.db.base import utcnow
from citymeter.db.upsert import conflict_insert
from citymeter.errors import NotFound
from citymeter.sources.models import Source, SourceDay, SourceRun

FRESHNESS = ("fresh", "late", "stale", "failing", "unknown")
FRESHNESS_TEXT = {
    "fresh": "Fresh: data arrived within the expected interval",
    "late": "Late: no data for more than the expected interval",
    "stale": "Stale: no data for more than three expected intervals",
    "failing": "Failing: the last attempt failed",
    "unknown": "No data yet",
}
# A source is late past one expected interval and stale past this many.
STALE_AFTER_INTERVALS = 3
RUN_HISTORY_DAYS = 30
ERROR_MAX_CHARS = 2000


@dataclass(frozen=True)
class DayCounts:
    day: dt.date
    records_in: int = 0
    accepted: int = 0
    rejected: int = 0
    runs: int = 0
    failures: int = 0


def freshness(source: Source, now: dt.datetime | None = None) -> str:
    """fresh / late / stale from the age of the last success; failing when the latest attempt
    failed; unknown before anything arrived."""
    if source.consecutive_failures > 0:
        return "failing"
    if source.last_success_at is None:
        return "unknown"
    if not source.expected_interval_s:
        return "fresh"
    age = ((now or utcnow()) - source.last_success_at).total_seconds()
    if age <= source.expected_interval_s:
        return "fresh"
    if age <= source.expected_interval_s * STALE_AFTER_INTERVALS:
        return "late"
    return "stale"


def local_day(moment: dt.datetime, tz: str = "UTC") -> dt.date:
    return moment.astimezone(ZoneInfo(tz)).date()


def day_counts(session: Session, source: Source, day: dt.date, *, days: int = 1) -> list[DayCounts]:
    """Counts for `day` and the `days - 1` days before it, newest first (zeros where none)."""
    first = day - dt.timedelta(days=days - 1)
    rows = {
        row.day: row
        for row in session.scalars(
            select(SourceDay)
            .where(SourceDay.source_id == source.id, SourceDay.day >= first, SourceDay.day <= day)
            # The counters are added to in SQL (see _add_to_day): read them afresh.
            .execution_options(populate_existing=True)
        )
    }
    out = []
    for offset in range(days):
        when = day - dt.timedelta(days=offset)
        row = rows.get(when)
        out.append(
            DayCounts(when, row.records_in, row.accepted, row.rejected, row.runs, row.failures)
            if row
            else DayCounts(when)
        )
    return out


def recent_runs(session: Session, source: Source, limit: int = 20) -> list[SourceRun]:
    return list(
        session.scalars(
            select(SourceRun)
            .where(SourceRun.source_id == source.id)
            .order_by(SourceRun.started_at.desc(), SourceRun.id.desc())
            .limit(limit)
        )
    )


def _add_to_day(
    session: Session,
    source: Source,
    day: dt.date,
    *,
    records_in: int,
    accepted: int,
    rejected: int,
    runs: int,
    failures: int,
) -> None:
    """Adds to the day's counters in one statement, so concurrent pushes never lose counts."""
    values = {
        "source_id": source.id,
        "day": day,
        "records_in": records_in,
        "accepted": accepted,
        "rejected": rejected,
        "runs": runs,
        "failures": failures,
    }
    statement = conflict_insert(session, SourceDay).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[SourceDay.source_id, SourceDay.day],
        set_={
            name: getattr(SourceDay, name) + getattr(statement.excluded, name)
            for name in ("records_in", "accepted", "rejected", "runs", "failures")
        },
    )
    session.execute(statement)


def record_run(
    session: Session,
    source: Source,
    *,
    status: str,
    started_at: dt.datetime,
    finished_at: dt.datetime,
    attempts: int = 1,
    records_in: int = 0,
    accepted: int = 0,
    rejected: int = 0,
    message: str | None = None,
    next_run_at: dt.datetime | None = None,
    tz: str = "UTC",
) -> SourceRun:
    """One run of a polled source (all its attempts): its row, the day's counts, the health."""
    ok = status in ("success", "not_modified")
    run = SourceRun(
        source_id=source.id,
        started_at=started_at,
        finished_at=finished_at,
        status=status,
        attempts=attempts,
        records_in=records_in,
        accepted=accepted,
        rejected=rejected,
        message=(message or None) and message[:ERROR_MAX_CHARS],
    )
    session.add(run)
    source.last_run_at = finished_at
    source.next_run_at = next_run_at
    if ok:
        source.last_success_at = finished_at
        source.consecutive_failures = 0
        if status == "success":
            source.last_data_at = finished_at
    else:
        source.last_error_at = finished_at
        source.last_error = (message or status)[:ERROR_MAX_CHARS]
        source.consecutive_failures += 1
    _add_to_day(
        session,
        source,
        local_day(finished_at, tz),
        records_in=records_in,
        accepted=accepted,
        rejected=rejected,
        runs=1,
        failures=0 if ok else 1,
    )
    session.execute(
        delete(SourceRun).where(
            SourceRun.source_id == source.id,
            SourceRun.started_at < finished_at - dt.timedelta(days=RUN_HISTORY_DAYS),
        )
    )
    session.flush()
    return run


def record_batch(
    session: Session,
    source_code: str,
    *,
    records_in: int,
    accepted: int,
    rejected: int,
    error: str | None = None,
    now: dt.datetime | None = None,
    tz: str = "UTC",
) -> Source:
    """A batch pushed to (HTTP push) or streamed into (MQTT) a source: counts and health.

    `error` marks the batch as failed (e.g. the whole batch was refused, the broker went away).
    """
    source = session.scalar(select(Source).where(Source.code == source_code))
    if source is None:
        raise NotFound(f"There is no source {source_code!r}; add it with `citymeter sources add`.")
    moment = now or utcnow()
    if error is None:
        source.last_success_at = moment
        source.consecutive_failures = 0
        if records_in:
            source.last_data_at = moment
    else:
        source.last_error_at = moment
        source.last_error = error[:ERROR_MAX_CHARS]
        source.consecutive_failures += 1
    _add_to_day(
        session,
        source,
        local_day(moment, tz),
        records_in=records_in,
        accepted=accepted,
        rejected=rejected,
        runs=0,
        failures=0 if error is None else 1,
    )
    session.flush()
    return source


def record_push(
    session: Session,
    source_code: str,
    *,
    received: int,
    accepted: int,
    rejected: int,
    refusal: str | None = None,
    tz: str = "UTC",
) -> Source:
    """Health of a push source after one pushed batch; a refused batch counts as a failure."""
    return record_batch(
        session,
        source_code,
        records_in=received,
        accepted=accepted,
        rejected=rejected,
        error=f"batch refused: {refusal}" if refusal is not None else None,
        tz=tz,
    )
