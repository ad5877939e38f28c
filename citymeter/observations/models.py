"""Metric, Observation (with its periods and breakdowns), LoadBatch and RejectedRecord."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from citymeter.db.base import Base, utcnow

GRAINS = ("day", "month", "quarter", "year")
SEXES = ("total", "male", "female")
# Age bands are free text in one shape: "total", "30" (single year), "0-4", "65+".
TOTAL = "total"

BigId = BigInteger().with_variant(Integer, "sqlite")


class Metric(Base):
    """A measured quantity with an explicit unit, e.g. `population` in `persons`."""

    __tablename__ = "metric"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    names: Mapped[dict[str, str]] = mapped_column(default=dict)
    unit: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoadBatch(Base):
    """One import run: what came in, what was stored, what was rejected."""

    __tablename__ = "load_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="observations")
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    file_name: Mapped[str | None] = mapped_column(String(500))
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    mapping_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="running")
    rows_read: Mapped[int] = mapped_column(default=0)
    stored: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    # Observation ids this batch inserted lie in [first, last] (with batch_id = this batch).
    first_observation_id: Mapped[int | None] = mapped_column(BigId)
    last_observation_id: Mapped[int | None] = mapped_column(BigId)


class ObservationPeriod(Base):
    """A period an observation is for: a grain and the day it starts, stored once."""

    __tablename__ = "observation_period"
    __table_args__ = (UniqueConstraint("grain", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[dt.date] = mapped_column(Date)


class Breakdown(Base):
    """The part of the population an observation counts (sex, age band, further dims), stored
    once."""

    __tablename__ = "observation_breakdown"
    __table_args__ = (UniqueConstraint("sex", "age_band", "dims"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sex: Mapped[str] = mapped_column(String(8), default=TOTAL)
    age_band: Mapped[str] = mapped_column(String(16), default=TOTAL)
    # Further breakdown dimensions as a canonical "key=value;key=value" string ("" for none).
    dims: Mapped[str] = mapped_column(String(200), default="")


class Observation(Base):
    """One value for (metric, area, period, breakdown)."""

    __tablename__ = "observation"
    __table_args__ = (
        # Four integers: a bulk import's seeks compare numbers, not text, and the key's order
        # (metric, area, period, breakdown) puts a new period's rows at the end of each
        # (metric, area) run, and serves readers that fix the metric and area.
        UniqueConstraint("metric_id", "area_id", "period_id", "breakdown_id"),
        # Rows a batch replaced (previous_batch_id set) are few; indexing only those keeps bulk
        # inserts fast. Rows a batch inserted are found by the batch's id range (LoadBatch).
        Index(
            "ix_observation_replaced_batch",
            "batch_id",
            sqlite_where=text("previous_batch_id IS NOT NULL"),
            postgresql_where=text("previous_batch_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("metric.id", ondelete="CASCADE"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"))
    period_id: Mapped[int] = mapped_column(ForeignKey("observation_period.id"))
    breakdown_id: Mapped[int] = mapped_column(ForeignKey("observation_breakdown.id"))
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("load_batch.id", ondelete="SET NULL"))
    # What the latest batch replaced, so that undoing that batch can put it back.
    previous_value: Mapped[float | None]
    previous_batch_id: Mapped[int | None]


class RejectedRecord(Base):
    """A record an import could not store, kept with the reason and the raw input."""

    __tablename__ = "rejected_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("load_batch.id", ondelete="CASCADE"), index=True
    )
    row_number: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
