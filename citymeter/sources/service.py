"""The source registry: add, list, show, enable/disable sources, ask for a run; what each viewer
may see (the public sees public sources, without config or error messages)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import READ_INTERNAL, SOURCES_WRITE, Viewer
from citymeter.connectors.base import ConnectorRegistry, default_registry
from citymeter.db.base import utcnow
from citymeter.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from citymeter.sources import health
from citymeter.sources.models import Source
from citymeter.sources.schedule import Schedule, parse_schedule
from citymeter.sources.schemas import (
    DayCountsOut,
    SourceCreate,
    SourceDetail,
    SourceHealthOut,
    SourceOut,
    SourceRunOut,
)


def _check_writer(actor: Viewer) -> None:
    if not actor.can(SOURCES_WRITE):
        raise PermissionDenied(f"The role {actor.role!r} may not manage sources.")


def effective_schedule(source: Source) -> Schedule | None:
    """The source's schedule, else every expected interval, else none (runs only when asked)."""
    if source.schedule:
        return parse_schedule(source.schedule)
    if source.expected_interval_s:
        return Schedule(
            text=f"{source.expected_interval_s}s", interval_s=source.expected_interval_s
        )
    return None


def visible_sources(session: Session, viewer: Viewer) -> list[Source]:
    query = select(Source).order_by(Source.code)
    if not viewer.can(READ_INTERNAL):
        query = query.where(Source.visibility == "public")
    return list(session.scalars(query))


def get_source(session: Session, viewer: Viewer, code: str) -> Source:
    source = session.scalar(select(Source).where(Source.code == code))
    # An internal source is as unknown to the public as a missing one.
    if source is None or (source.visibility != "public" and not viewer.can(READ_INTERNAL)):
        raise NotFound(f"There is no source {code!r}. `citymeter sources list` shows them.")
    return source


def enabled_sources(session: Session) -> list[Source]:
    """For the runner: every enabled source, whoever may see it."""
    return list(session.scalars(select(Source).where(Source.enabled.is_(True)).order_by(Source.id)))


def source_by_code(session: Session, code: str) -> Source:
    """For the runner and the CLI acting as the installation."""
    source = session.scalar(select(Source).where(Source.code == code))
    if source is None:
        raise NotFound(f"There is no source {code!r}. `citymeter sources list` shows them.")
    return source


def add_source(
    session: Session,
    actor: Viewer,
    data: SourceCreate,
    *,
    registry: ConnectorRegistry | None = None,
    now: dt.datetime | None = None,
) -> Source:
    _check_writer(actor)
    registry = registry or default_registry()
    if data.kind not in registry:
        known = ", ".join(registry.kinds()) or "none"
        raise InvalidInput(
            f"There is no connector of kind {data.kind!r}. Known kinds: {known}. "
            "A third-party kind needs its package installed (see docs/connectors.md)."
        )
    config = registry.create(data.kind).check_config(data.config)
    if data.schedule is not None:
        parse_schedule(data.schedule)
    if session.scalar(select(Source.id).where(Source.code == data.code)) is not None:
        raise Conflict(f"A source with code {data.code!r} already exists.")
    source = Source(
        code=data.code,
        name=data.name,
        kind=data.kind,
        department=data.department,
        description=data.description,
        visibility=data.visibility,
        expected_interval_s=data.expected_interval_s,
        schedule=data.schedule,
        timeout_s=data.timeout_s,
        max_retries=data.max_retries,
        config=config,
        enabled=data.enabled,
        state={},
        consecutive_failures=0,
    )
    if effective_schedule(source) is not None:
        source.next_run_at = now or utcnow()  # a new scheduled source runs at once
    session.add(source)
    session.flush()
    audit.record(
        session,
        actor,
        "sources.add",
        "source",
        source.code,
        {"kind": source.kind, "visibility": source.visibility, "schedule": source.schedule},
    )
    return source


def set_enabled(session: Session, actor: Viewer, code: str, enabled: bool) -> Source:
    _check_writer(actor)
    source = source_by_code(session, code)
    if source.enabled != enabled:
        source.enabled = enabled
        if enabled and effective_schedule(source) is not None:
            source.next_run_at = utcnow()
        session.flush()
        audit.record(
            session, actor, "sources.enable" if enabled else "sources.disable", "source", code
        )
    return source


def request_run(
    session: Session, actor: Viewer, code: str, *, now: dt.datetime | None = None
) -> Source:
    """Make the source due now; the runner picks it up at its next tick."""
    _check_writer(actor)
    source = source_by_code(session, code)
    if not source.enabled:
        raise Conflict(f"Source {code!r} is disabled; enable it before asking for a run.")
    source.next_run_at = now or utcnow()
    session.flush()
    audit.record(session, actor, "sources.run", "source", code)
    return source


def _day_out(counts: health.DayCounts) -> DayCountsOut:
    return DayCountsOut(
        day=counts.day,
        records_in=counts.records_in,
        accepted=counts.accepted,
        rejected=counts.rejected,
        runs=counts.runs,
        failures=counts.failures,
    )


def describe(
    session: Session,
    viewer: Viewer,
    source: Source,
    *,
    now: dt.datetime | None = None,
    tz: str = "UTC",
) -> SourceOut:
    """The source as the viewer may see it, with its health at `now`."""
    out = _describe(session, viewer, source, now=now, tz=tz, detail=False)
    return out


def describe_detail(
    session: Session,
    viewer: Viewer,
    source: Source,
    *,
    now: dt.datetime | None = None,
    tz: str = "UTC",
) -> SourceDetail:
    """As `describe`, with the last seven days and the latest runs."""
    out = _describe(session, viewer, source, now=now, tz=tz, detail=True)
    assert isinstance(out, SourceDetail)
    return out


def _describe(
    session: Session,
    viewer: Viewer,
    source: Source,
    *,
    now: dt.datetime | None,
    tz: str,
    detail: bool,
) -> SourceOut:
    moment = now or utcnow()
    staff = viewer.can(READ_INTERNAL)
    state = health.freshness(source, moment)
    today = health.local_day(moment, tz)
    days = health.day_counts(session, source, today, days=7 if detail else 1)
    fields = {
        "code": source.code,
        "name": source.name,
        "kind": source.kind,
        "department": source.department,
        "description": source.description,
        "visibility": source.visibility,
        "enabled": source.enabled,
        "expected_interval_s": source.expected_interval_s,
        "schedule": source.schedule,
        "timeout_s": source.timeout_s,
        "max_retries": source.max_retries,
        "created_at": source.created_at,
        "config": dict(source.config) if staff else None,
        "health": SourceHealthOut(
            freshness=state,
            freshness_text=health.FRESHNESS_TEXT[state],
            last_run_at=source.last_run_at,
            last_success_at=source.last_success_at,
            last_data_at=source.last_data_at,
            last_error_at=source.last_error_at,
            last_error=source.last_error if staff else None,
            consecutive_failures=source.consecutive_failures,
            next_run_at=source.next_run_at,
            today=_day_out(days[0]),
        ),
    }
    if not detail:
        return SourceOut(**fields)
    runs = [
        SourceRunOut(
            started_at=run.started_at,
            finished_at=run.finished_at,
            status=run.status,
            attempts=run.attempts,
            records_in=run.records_in,
            accepted=run.accepted,
            rejected=run.rejected,
            message=run.message if staff else None,
        )
        for run in health.recent_runs(session, source)
    ]
    return SourceDetail(**fields, days=[_day_out(d) for d in days], runs=runs)
