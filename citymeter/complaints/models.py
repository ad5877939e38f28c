"""Complaint service types, service requests (Open311 GeoReport v2) and their status history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citymeter.db.base import Base, utcnow

SERVICE_KINDS = ("realtime", "batch", "blackbox")
STATUSES = ("open", "closed")
MAX_DESCRIPTION = 4000


class ServiceType(Base):
    """What a resident can report (Open311 "service"), with its deadline and department."""

    __tablename__ = "complaint_service_types"
    __table_args__ = (UniqueConstraint("city_id", "service_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), index=True)
    service_code: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    group: Mapped[str] = mapped_column(String(200), default="")
    keywords: Mapped[str] = mapped_column(String(500), default="")
    has_metadata: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(16), default="realtime")
    target_hours: Mapped[float | None] = mapped_column(Float)
    department: Mapped[str] = mapped_column(String(200), default="")
    # Open311 attribute definitions: [{code, datatype, required, description, order, values}]
    attributes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ServiceRequest(Base):
    """One complaint. Requester fields are personal: never part of any public output."""

    __tablename__ = "complaint_requests"
    __table_args__ = (
        UniqueConstraint("city_id", "service_request_id"),
        Index("ix_complaint_requests_city_status_requested", "city_id", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    service_request_id: Mapped[str] = mapped_column(String(64))
    token: Mapped[str | None] = mapped_column(String(64), index=True)
    service_type_id: Mapped[int] = mapped_column(
        ForeignKey("complaint_service_types.id", ondelete="CASCADE"), index=True
    )
    service_code: Mapped[str] = mapped_column(String(120), index=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    status_notes: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column()
    expected_at: Mapped[dt.datetime | None] = mapped_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    address: Mapped[str | None] = mapped_column(String(500))
    address_id: Mapped[str | None] = mapped_column(String(64))
    zipcode: Mapped[str | None] = mapped_column(String(16))
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    # Why the point was not used to locate the request ("placeholder", "outside city", ...).
    location_flag: Mapped[str | None] = mapped_column(String(40))
    source_area: Mapped[str | None] = mapped_column(
        String(200)
    )  # neighbourhood as the source named it
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), index=True
    )
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), index=True
    )
    department: Mapped[str | None] = mapped_column(String(200))
    service_notice: Mapped[str | None] = mapped_column(String(500))
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    device_id: Mapped[str | None] = mapped_column(String(120))
    account_id: Mapped[str | None] = mapped_column(String(120))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media_url: Mapped[str | None] = mapped_column(String(1000))
    source_id: Mapped[str | None] = mapped_column(String(120))
    import_batch: Mapped[str | None] = mapped_column(String(64), index=True)


class StatusChange(Base):
    """A step in a request's history (opened, closed, reopened), with notes."""

    __tablename__ = "complaint_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("complaint_requests.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(8))
    notes: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120), default="system")
