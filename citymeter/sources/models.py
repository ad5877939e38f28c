"""Source: one connected system (a statistics export, a sensor network, a complaint system), with
its schedule, the connector's memo between runs and its health (runs, daily counts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citymeter.db.base import Base, utcnow

# The kinds CityMeter ships; any kind registered in the "citymeter.connectors" entry-point group
# is accepted too (citymeter/connectors/base.py).
SOURCE_KINDS = ("file", "http_pull", "http_push", "mqtt", "manual")
VISIBILITIES = ("public", "internal")
RUN_STATUSES = ("success", "not_modified", "failed", "timeout")


class Source(Base):
    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="file")
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    expected_interval_s: Mapped[int | None]
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    # Schedule: "300", "5m", "1h" (every so long) or five cron fields ("*/10 6-22 * * *").
    schedule: Mapped[str | None] = mapped_column(String(100))
    timeout_s: Mapped[int] = mapped_column(default=60)
    max_retries: Mapped[int] = mapped_column(default=3)
    # The connector's memo between runs (ETag, Last-Modified, files already read).
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # Health, kept up to date by the runner (and by the push endpoint for push sources).
    next_run_at: Mapped[dt.datetime | None]
    last_run_at: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]
    # When data last arrived (a 304 "not modified" is a success but brings no new data).
    last_data_at: Mapped[dt.datetime | None]
    last_error_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(default=0)


class SourceDay(Base):
    """Records a source brought in on one day (in the installation's time zone)."""

    __tablename__ = "source_day"
    __table_args__ = (UniqueConstraint("source_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    records_in: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)


class SourceRun(Base):
    """One run of a source's connector (all its attempts), or one pushed batch."""

    __tablename__ = "source_run"
    __table_args__ = (Index("ix_source_run_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=1)
    records_in: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text)
