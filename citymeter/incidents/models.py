"""IncidentType, Incident and IncidentUnitStage: what happened, where, and each unit's timeline."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citymeter.db.base import Base, utcnow

CATEGORIES = ("fire", "rescue", "medical", "crime", "traffic_accident", "flood", "gas", "other")
STATUSES = ("reported", "dispatched", "en_route", "on_scene", "cleared", "resolved")
# The stages a responding unit goes through, in order.
STAGES = ("dispatched", "en_route", "on_scene", "cleared")


class IncidentType(Base):
    __tablename__ = "incident_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_ko: Mapped[str] = mapped_column(String(200), default="")
    name_en: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    default_severity: Mapped[int] = mapped_column(Integer, default=2)


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_reported", "reported_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("incident_type.id", ondelete="RESTRICT"))
    severity: Mapped[int] = mapped_column(Integer)
    reported_at: Mapped[dt.datetime]
    # "time" when the call time is known; "date" when the source gives the day only.
    reported_precision: Mapped[str] = mapped_column(String(8), default="time")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), index=True
    )
    address: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="reported")
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    import_batch: Mapped[str | None] = mapped_column(String(64), index=True)
    raw_call_type: Mapped[str | None] = mapped_column(String(100))
    # Internal: free text from the dispatcher, never in the public view.
    remarks: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IncidentUnitStage(Base):
    __tablename__ = "incident_unit_stage"
    __table_args__ = (UniqueConstraint("incident_id", "unit", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    unit: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime]
