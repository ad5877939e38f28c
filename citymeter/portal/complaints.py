"""Complaint reads for the portal: the list by status, district and lateness, and one complaint
with its status history and deadline. The requester's name, contact, account, the exact address
and the staff who changed a status are internal: only those who see the complaint's district
internally get them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.complaints import service as complaints
from citymeter.complaints.models import ServiceRequest
from citymeter.db.base import utcnow
from citymeter.errors import InvalidInput
from citymeter.places.models import Area, City
from citymeter.portal import access

STATUSES = ("open", "closed")
PAGE_SIZE = 50


def is_late(request: ServiceRequest, now: dt.datetime) -> bool | None:
    """Closed after its deadline, or open past it; None without a deadline."""
    if request.expected_at is None:
        return None
    if request.closed_at is not None:
        return request.closed_at > request.expected_at
    return now > request.expected_at


def _late_clause(now: dt.datetime) -> Any:
    return and_(
        ServiceRequest.expected_at.is_not(None),
        or_(
            and_(
                ServiceRequest.closed_at.is_not(None),
                ServiceRequest.closed_at > ServiceRequest.expected_at,
            ),
            and_(ServiceRequest.closed_at.is_(None), ServiceRequest.expected_at < now),
        ),
    )


@dataclass(frozen=True)
class ComplaintRow:
    service_request_id: str
    service_name: str
    status: str
    requested_at: dt.datetime
    expected_at: dt.datetime | None
    closed_at: dt.datetime | None
    late: bool | None
    district: Area | None


def find_complaints(
    session: Session,
    city: City,
    *,
    status: str | None = None,
    district: Area | None = None,
    late: bool = False,
    page: int = 1,
    now: dt.datetime | None = None,
) -> tuple[list[ComplaintRow], int]:
    """Newest first; (one page, total matching). Only public fields are read."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status is open or closed, not {status!r}.")
    if page < 1:
        raise InvalidInput("page starts at 1.")
    now = now or utcnow()
    where: list[Any] = [ServiceRequest.city_id == city.id]
    if status:
        where.append(ServiceRequest.status == status)
    if district is not None:
        where.append(ServiceRequest.district_id == district.id)
    if late:
        where.append(_late_clause(now))
    total = int(session.scalar(select(func.count(ServiceRequest.id)).where(*where)) or 0)
    rows = session.scalars(
        select(ServiceRequest)
        .where(*where)
        .order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    names = complaints.service_names(session, city)
    areas: dict[int, Area | None] = {}
    out = []
    for r in rows:
        if r.district_id is not None and r.district_id not in areas:
            areas[r.district_id] = session.get(Area, r.district_id)
        out.append(
            ComplaintRow(
                r.service_request_id,
                names.get(r.service_type_id, r.service_code),
                r.status,
                r.requested_at,
                r.expected_at,
                r.closed_at,
                is_late(r, now),
                areas.get(r.district_id) if r.district_id is not None else None,
            )
        )
    return out, total


@dataclass
class HistoryStep:
    status: str
    at: dt.datetime
    notes: str | None
    actor: str | None  # internal only


@dataclass
class ComplaintDetail:
    service_request_id: str
    service_name: str
    service_code: str
    status: str
    status_notes: str | None
    description: str | None
    department: str | None
    requested_at: dt.datetime
    updated_at: dt.datetime
    expected_at: dt.datetime | None
    closed_at: dt.datetime | None
    late: bool | None
    district: Area | None
    area: Area | None
    history: list[HistoryStep] = field(default_factory=list)
    # Present only for those who see the district's internal data.
    internal: dict[str, Any] | None = None


def complaint_detail(
    session: Session, viewer: Viewer, city: City, service_request_id: str
) -> ComplaintDetail:
    r = complaints.get_request(session, city, service_request_id)
    names = complaints.service_names(session, city)
    sees = viewer.sees_internal_of(r.district_id)
    detail = ComplaintDetail(
        r.service_request_id, names.get(r.service_type_id, r.service_code), r.service_code,
        r.status, r.status_notes, r.description, r.department, r.requested_at, r.updated_at,
        r.expected_at, r.closed_at, is_late(r, utcnow()),
        session.get(Area, r.district_id) if r.district_id else None,
        session.get(Area, r.area_id) if r.area_id else None,
    )  # fmt: skip
    detail.history = [
        HistoryStep(h.status, h.changed_at, h.notes, h.actor if sees else None)
        for h in complaints.history(session, r)
    ]
    if sees:
        requester = " ".join(p for p in (r.first_name, r.last_name) if p) or None
        detail.internal = {
            "requester": requester,
            "email": r.email,
            "phone": r.phone,
            "address": r.address,
            "location": (r.lat, r.long) if r.lat is not None and r.long is not None else None,
            "source": r.source_id,
        }
    return detail


def district_named(session: Session, city: City, code: str | None) -> Area | None:
    area = access.area_in(session, city, code)
    if area is not None and area.level != access.DISTRICT_LEVEL:
        raise InvalidInput(f"{code} is not a district of {city.name}.")
    return area
