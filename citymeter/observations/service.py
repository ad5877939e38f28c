"""Metrics and observations: register metrics, open load batches, store observations in bulk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import READ_INTERNAL, Viewer
from citymeter.errors import Conflict, InvalidInput
from citymeter.observations import bulk
from citymeter.observations.keys import KEY_COLUMNS, PeriodKey, with_keys
from citymeter.observations.models import (
    GRAINS,
    Breakdown,
    LoadBatch,
    Metric,
    Observation,
    ObservationPeriod,
)
from citymeter.places.models import Area, City
from citymeter.sources.models import VISIBILITIES

# Rows per driver-level executemany call: large enough to amortise the call, small enough
# to keep the tuples of one chunk cheap in memory.
CHUNK_ROWS = 20_000


class ObservationRow(NamedTuple):
    """One observation on its way into the store (ids already resolved)."""

    metric_id: int
    area_id: int
    grain: str
    period_start: dt.date
    value: float
    unit: str
    sex: str = "total"
    age_band: str = "total"
    dims: str = ""
    source_id: int | None = None


def ensure_metric(
    session: Session,
    actor: Viewer | None,
    *,
    code: str,
    name: str,
    unit: str,
    names: dict[str, str] | None = None,
    description: str | None = None,
    visibility: str = "public",
) -> Metric:
    """The metric with this code, created when it does not exist yet.

    A metric's unit never changes silently: asking for an existing code with another unit is an
    error. `actor=None` skips the audit entry (used by loaders that record the batch instead).
    """
    if not code.strip():
        raise InvalidInput("A metric needs a code.")
    if not unit.strip():
        raise InvalidInput(f"The metric {code!r} needs a unit (e.g. persons, %, GBP).")
    if visibility not in VISIBILITIES:
        raise InvalidInput(
            f"Visibility {visibility!r} is not one of {', '.join(VISIBILITIES)} (metric {code!r})."
        )
    metric = session.scalar(select(Metric).where(Metric.code == code))
    if metric is not None:
        if metric.unit != unit:
            raise InvalidInput(
                f"The metric {code!r} is measured in {metric.unit!r}, not {unit!r}; "
                "use the registered unit or a new metric code."
            )
        return metric
    metric = Metric(
        code=code,
        name=name,
        names=names or {},
        unit=unit,
        description=description,
        visibility=visibility,
    )
    session.add(metric)
    session.flush()
    if actor is not None:
        audit.record(
            session, actor, "metric.create", "metric", metric.id, {"code": code, "unit": unit}
        )
    return metric


def add_metric(
    session: Session,
    actor: Viewer,
    *,
    code: str,
    name: str,
    unit: str,
    names: dict[str, str] | None = None,
    description: str | None = None,
    visibility: str = "public",
) -> Metric:
    """Register a new metric; an existing code is a conflict."""
    if session.scalar(select(Metric.id).where(Metric.code == code)) is not None:
        raise Conflict(f"A metric with the code {code!r} already exists.")
    return ensure_metric(
        session,
        actor,
        code=code,
        name=name,
        unit=unit,
        names=names,
        description=description,
        visibility=visibility,
    )


def list_metrics(session: Session, viewer: Viewer) -> list[Metric]:
    """Metrics the viewer may see: internal ones only for those who read internal data."""
    query = select(Metric).order_by(Metric.code)
    if not viewer.can(READ_INTERNAL):
        query = query.where(Metric.visibility == "public")
    return list(session.scalars(query))


def open_batch(
    session: Session,
    *,
    kind: str = "observations",
    city_id: int | None = None,
    source_id: int | None = None,
    file_name: str | None = None,
    file_sha256: str | None = None,
    mapping_name: str | None = None,
    created_by_id: int | None = None,
) -> LoadBatch:
    batch = LoadBatch(
        kind=kind,
        city_id=city_id,
        source_id=source_id,
        file_name=file_name,
        file_sha256=file_sha256,
        mapping_name=mapping_name,
        created_by_id=created_by_id,
        status="running",
    )
    session.add(batch)
    session.flush()
    return batch


def _chunks(rows: Iterable[ObservationRow], size: int) -> Iterator[list[ObservationRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def store_observations(session: Session, batch: LoadBatch, rows: Iterable[ObservationRow]) -> int:
    """Upsert observations for `batch` in chunks; returns the rows written.

    Rows equal to what is stored already are not written and not counted (re-importing the same
    rows stores 0). Runs in the session's transaction: nothing is committed here. The rows go to
    the store in the importer's compact form (see `citymeter.observations.bulk`).
    """
    keys = bulk.ObservationKeys()
    series_numbers: dict[tuple[Any, ...], int] = {}
    period_numbers: dict[tuple[str, dt.date], int] = {}

    def compact() -> Iterator[list[bulk.CompactRow]]:
        for chunk in _chunks(rows, CHUNK_ROWS):
            out: list[bulk.CompactRow] = []
            for row in chunk:
                key = (row[0], row[5], row[6], row[7], row[8], row[9])
                series = series_numbers.get(key)
                if series is None:
                    series = series_numbers[key] = keys.series_number(bulk.Series(*key))
                when = (row[2], row[3])
                period = period_numbers.get(when)
                if period is None:
                    period = period_numbers[when] = keys.period(PeriodKey(*when))
                out.append((row[1], period, series, row[4]))
            yield out

    return bulk.write_observations(session, batch, keys, compact())


def close_batch(
    session: Session,
    batch: LoadBatch,
    *,
    rows_read: int,
    stored: int,
    rejected: int,
    skipped: int = 0,
    summary: dict[str, Any] | None = None,
) -> None:
    batch.rows_read = rows_read
    batch.stored = stored
    batch.rejected = rejected
    batch.skipped = skipped
    batch.summary = summary or {}
    batch.status = "done"
    batch.finished_at = dt.datetime.now(dt.UTC)
    session.flush()


def check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise InvalidInput(f"Grain {grain!r} is not one of {', '.join(GRAINS)}.")
    return grain


class ObservationView(NamedTuple):
    """One observation as the API and CLI show it."""

    metric: str
    unit: str
    city: str
    area_code: str
    area_name: str
    area_level: str
    grain: str
    period_start: dt.date
    sex: str
    age_band: str
    dims: str
    value: float
    batch_id: int | None


def query_observations(
    session: Session,
    viewer: Viewer,
    *,
    metric: str | None = None,
    city: str | None = None,
    area_code: str | None = None,
    level: str | None = None,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    grain: str | None = None,
    sex: str | None = None,
    age_band: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[ObservationView], int]:
    """Observations matching the filters, a page of them and the total count.

    The public sees public metrics only; a district head sees internal metrics of their own
    district (and the areas directly under it); staff who read internal data see everything.
    """
    filters: list[Any] = []
    if metric is not None:
        filters.append(Metric.code == metric)
    if city is not None:
        filters.append(City.code == city)
    if area_code is not None:
        filters.append(Area.code == area_code)
    if level is not None:
        filters.append(Area.level == level)
    if period_from is not None:
        filters.append(ObservationPeriod.period_start >= period_from)
    if period_to is not None:
        filters.append(ObservationPeriod.period_start <= period_to)
    if grain is not None:
        filters.append(ObservationPeriod.grain == check_grain(grain))
    if sex is not None:
        filters.append(Breakdown.sex == sex)
    if age_band is not None:
        filters.append(Breakdown.age_band == age_band)
    if viewer.role == "district_head" and viewer.district_id is not None:
        own = (Area.id == viewer.district_id) | (Area.parent_id == viewer.district_id)
        filters.append((Metric.visibility == "public") | own)
    elif not viewer.sees_internal_of(None):
        filters.append(Metric.visibility == "public")
    base = (
        # The columns of ObservationView, in its order.
        with_keys(
            select(
                Metric.code,
                Observation.unit,
                City.code,
                Area.code,
                Area.name,
                Area.level,
                *KEY_COLUMNS,
                Observation.value,
                Observation.batch_id,
            )
        )
        .join(Metric, Metric.id == Observation.metric_id)
        .join(Area, Area.id == Observation.area_id)
        .join(City, City.id == Area.city_id)
        .where(*filters)
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    page = session.execute(
        base.order_by(
            Metric.code,
            Area.code,
            ObservationPeriod.period_start,
            Breakdown.sex,
            Breakdown.age_band,
            Breakdown.dims,
        )
        .limit(limit)
        .offset(offset)
    ).all()
    views = [ObservationView(*row) for row in page]
    return views, int(total)
