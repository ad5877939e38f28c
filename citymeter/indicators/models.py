"""Computed indicator values with provenance, engine runs (the incremental watermark), and
pledges with milestones and status history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citymeter.db.base import Base, utcnow
from citymeter.observations.models import BigId

QUALITY_FLAGS = ("measured", "estimated", "extrapolated", "unknown")


class IndicatorValue(Base):
    """One computed value of an indicator for (area, period, breakdown).

    The key includes the pack: two packs may define the same code differently (youth
    unemployment is 15–29 in one and 15–24 in another).
    """

    __tablename__ = "indicator_value"
    __table_args__ = (
        UniqueConstraint("pack", "code", "area_id", "grain", "period_start", "sex", "age_band"),
        Index("ix_indicator_value_lookup", "code", "area_id", "grain", "period_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pack: Mapped[str] = mapped_column(String(80))
    code: Mapped[str] = mapped_column(String(120))
    definition_version: Mapped[int]
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"))
    grain: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(8), default="total")
    age_band: Mapped[str] = mapped_column(String(16), default="total")
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(40))
    quality: Mapped[str] = mapped_column(String(16), default="measured")
    # The smallest count of observations behind one input of this value, and their total.
    input_count: Mapped[int] = mapped_column(default=0)
    min_count: Mapped[float | None]
    # {"inputs": {key: {"value", "observations", "batch"}}, "rollup": ..., "periods": n}
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IndicatorRun(Base):
    """One engine run for a city and pack; its watermark drives incremental recomputes."""

    __tablename__ = "indicator_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), index=True)
    pack: Mapped[str] = mapped_column(String(80))
    mode: Mapped[str] = mapped_column(String(16))  # full | incremental | single
    # The highest observation batch id seen; observations written later have higher batch ids.
    watermark: Mapped[int] = mapped_column(default=0)
    values_written: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class Pledge(Base):
    """A mayoral pledge: a target for one or more indicators, with a baseline and milestones."""

    __tablename__ = "pledge"
    __table_args__ = (UniqueConstraint("city_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    title_ko: Mapped[str | None] = mapped_column(String(300))
    title_en: Mapped[str | None] = mapped_column(String(300))
    owner_department: Mapped[str] = mapped_column(String(200))
    pack: Mapped[str] = mapped_column(String(80), default="administration")
    # The first code is the pledge's measure; the others are shown alongside.
    indicator_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    baseline_value: Mapped[float]
    baseline_date: Mapped[dt.date] = mapped_column(Date)
    target_value: Mapped[float]
    target_date: Mapped[dt.date] = mapped_column(Date)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    milestones: Mapped[list[PledgeMilestone]] = relationship(
        back_populates="pledge", cascade="all, delete-orphan", order_by="PledgeMilestone.due"
    )
    history: Mapped[list[PledgeStatus]] = relationship(
        back_populates="pledge", cascade="all, delete-orphan", order_by="PledgeStatus.id"
    )


class PledgeMilestone(Base):
    __tablename__ = "pledge_milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id", ondelete="CASCADE"), index=True)
    due: Mapped[dt.date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    target_value: Mapped[float | None]
    done_on: Mapped[dt.date | None] = mapped_column(Date)

    pledge: Mapped[Pledge] = relationship(back_populates="milestones")


class PledgeStatus(Base):
    """A status assessed at a time: the pledge's history."""

    __tablename__ = "pledge_status"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id", ondelete="CASCADE"), index=True)
    assessed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    as_of: Mapped[dt.date | None] = mapped_column(Date)
    value: Mapped[float | None]
    progress: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(120))

    pledge: Mapped[Pledge] = relationship(back_populates="history")
