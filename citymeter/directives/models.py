"""Directive: an order from the mayor or a district head to a department, and its answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citymeter.db.base import Base, utcnow

STATUSES = ("issued", "acknowledged", "answered", "closed")
# What a directive can be about; `subject` holds the reference (see directives/service.py).
SUBJECT_KINDS = ("incident", "complaint", "complaint_cluster", "indicator", "none")


class Directive(Base):
    __tablename__ = "directive"
    __table_args__ = (Index("ix_directive_city_status", "city_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    # The district the directive concerns; a district head's directives always carry theirs.
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), index=True
    )
    department: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    instruction: Mapped[str] = mapped_column(Text)
    due_on: Mapped[dt.date] = mapped_column(Date)
    subject_kind: Mapped[str] = mapped_column(String(24), default="none")
    subject: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="issued")
    issued_by: Mapped[str] = mapped_column(String(120))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    issuer_role: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    acknowledged_at: Mapped[dt.datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(120))
    answered_at: Mapped[dt.datetime | None]
    close_note: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(120))
    closed_at: Mapped[dt.datetime | None]
