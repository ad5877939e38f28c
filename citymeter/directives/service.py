"""Issue, acknowledge, answer and close directives; every step goes to the audit log.

Who may do what: the mayor and district heads issue and close (`directives:issue`), a district
head only for their own district; officials and data stewards acknowledge and answer
(`directives:answer`); staff who read internal data see directives, a district head only their
district's. A directive is overdue when it is not answered by the end of its due day (city time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import (
    DIRECTIVES_ANSWER,
    DIRECTIVES_ISSUE,
    READ_INTERNAL,
    Viewer,
)
from citymeter.complaints.models import ServiceRequest, ServiceType
from citymeter.db.base import utcnow
from citymeter.directives.models import STATUSES, Directive
from citymeter.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from citymeter.incidents.models import Incident
from citymeter.indicators.catalog import find_indicator
from citymeter.indicators.models import IndicatorValue
from citymeter.places import service as places
from citymeter.places.models import Area, City

MAX_TEXT = 4000
MAX_CLUSTER = 500
_OPEN = ("issued", "acknowledged")


@dataclass(frozen=True)
class NewDirective:
    department: str
    title: str
    instruction: str
    due_on: dt.date
    district_code: str | None = None
    # At most one subject: an incident number, complaint ids, a service code (a cluster of
    # complaints of that type, in the district), or an indicator code.
    incident: str | None = None
    complaints: tuple[str, ...] = field(default_factory=tuple)
    service_code: str | None = None
    indicator: str | None = None


def _today(city: City) -> dt.date:
    return dt.datetime.now(ZoneInfo(city.timezone)).date()


def _subject(
    session: Session, city: City, new: NewDirective
) -> tuple[str, dict[str, Any], int | None]:
    """(kind, reference, the subject's district id or None)."""
    given = [
        bool(new.incident),
        bool(new.complaints),
        bool(new.service_code),
        bool(new.indicator),
    ]
    if sum(given) > 1:
        raise InvalidInput(
            "A directive is about one thing: an incident, complaints, a complaint type or an "
            "indicator."
        )
    if new.incident:
        incident = session.scalar(select(Incident).where(Incident.number == new.incident))
        if incident is None:
            raise InvalidInput(f"There is no incident {new.incident!r}.")
        return "incident", {"incident": incident.number}, incident.district_id
    if new.complaints:
        ids = list(dict.fromkeys(new.complaints))
        if len(ids) > MAX_CLUSTER:
            raise InvalidInput(f"A cluster lists at most {MAX_CLUSTER} complaints.")
        found = session.execute(
            select(ServiceRequest.service_request_id, ServiceRequest.district_id).where(
                ServiceRequest.city_id == city.id, ServiceRequest.service_request_id.in_(ids)
            )
        ).all()
        missing = sorted(set(ids) - {row[0] for row in found})
        if missing:
            raise InvalidInput(f"{city.name} has no complaint {', '.join(missing[:10])}.")
        districts = {row[1] for row in found}
        district_id = districts.pop() if len(districts) == 1 else None
        if len(ids) == 1:
            return "complaint", {"complaint": ids[0]}, district_id
        return "complaint_cluster", {"complaints": ids}, district_id
    if new.service_code:
        exists = session.scalar(
            select(ServiceType.id).where(
                ServiceType.city_id == city.id, ServiceType.service_code == new.service_code
            )
        )
        if exists is None:
            raise InvalidInput(f"{city.name} has no complaint type {new.service_code!r}.")
        return "complaint_cluster", {"service_code": new.service_code}, None
    if new.indicator:
        try:
            find_indicator(new.indicator)
        except NotFound:
            stored = session.scalar(
                select(IndicatorValue.id)
                .where(IndicatorValue.city_id == city.id, IndicatorValue.code == new.indicator)
                .limit(1)
            )
            if stored is None:
                raise InvalidInput(f"There is no indicator {new.indicator!r}.") from None
        return "indicator", {"indicator": new.indicator}, None
    return "none", {}, None


def issue(session: Session, viewer: Viewer, city: City, new: NewDirective) -> Directive:
    if not viewer.can(DIRECTIVES_ISSUE):
        raise PermissionDenied(f"The role {viewer.role!r} may not issue directives.")
    problems = []
    if not new.department.strip():
        problems.append("Name the department the directive is for.")
    if not new.title.strip() or len(new.title) > 200:
        problems.append("A directive needs a title of at most 200 characters.")
    if not new.instruction.strip() or len(new.instruction) > MAX_TEXT:
        problems.append(f"A directive needs an instruction of at most {MAX_TEXT} characters.")
    if new.due_on < _today(city):
        problems.append(f"The due date {new.due_on} has passed.")
    if problems:
        raise InvalidInput(" ".join(problems), details={"errors": problems})
    kind, reference, subject_district = _subject(session, city, new)
    district_id: int | None = None
    if new.district_code:
        area = places.get_area(session, city, new.district_code)
        if area.level != "district":
            raise InvalidInput(f"{new.district_code!r} is a {area.level}, not a district.")
        district_id = area.id
        if kind == "complaint_cluster" and "service_code" in reference:
            reference["district"] = area.code
    if subject_district is not None:
        if district_id is not None and district_id != subject_district:
            raise InvalidInput("The subject lies in another district than the one given.")
        district_id = subject_district
    if viewer.role == "district_head":
        if district_id is None:
            district_id = viewer.district_id
        if district_id != viewer.district_id:
            raise PermissionDenied("A district head issues directives for their own district only.")
    directive = Directive(
        city_id=city.id,
        district_id=district_id,
        department=new.department.strip(),
        title=new.title.strip(),
        instruction=new.instruction.strip(),
        due_on=new.due_on,
        subject_kind=kind,
        subject=reference,
        status="issued",
        issued_by=viewer.label,
        issued_by_id=viewer.user_id,
        issuer_role=viewer.role,
        issued_at=utcnow(),
    )
    session.add(directive)
    session.flush()
    audit.record(
        session,
        viewer,
        "directive.issue",
        "directive",
        directive.id,
        {"department": directive.department, "due_on": str(new.due_on), "subject": reference},
    )
    return directive


def _sees(viewer: Viewer, directive: Directive) -> bool:
    if not viewer.can(READ_INTERNAL):
        return False
    if viewer.role == "district_head":
        return directive.district_id is not None and directive.district_id == viewer.district_id
    return True


def get(session: Session, viewer: Viewer, directive_id: int) -> Directive:
    """A directive the viewer may see; others answer NotFound, as if they did not exist."""
    found = session.get(Directive, directive_id)
    if found is None or not _sees(viewer, found):
        raise NotFound(f"There is no directive {directive_id} you may see.")
    return found


def list_directives(
    session: Session,
    viewer: Viewer,
    city: City,
    *,
    status: str | None = None,
    department: str | None = None,
    overdue: bool = False,
    limit: int = 100,
) -> list[Directive]:
    if not viewer.can(READ_INTERNAL):
        raise PermissionDenied(f"The role {viewer.role!r} may not read directives.")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"The status is one of {', '.join(STATUSES)}, not {status!r}.")
    query = select(Directive).where(Directive.city_id == city.id)
    if viewer.role == "district_head":
        query = query.where(Directive.district_id == viewer.district_id)
    if status:
        query = query.where(Directive.status == status)
    if department:
        query = query.where(Directive.department == department)
    if overdue:
        query = query.where(Directive.status.in_(_OPEN), Directive.due_on < _today(city))
    query = query.order_by(Directive.due_on, Directive.id).limit(max(1, min(limit, 1000)))
    return list(session.scalars(query))


def acknowledge(session: Session, viewer: Viewer, directive: Directive) -> Directive:
    if not viewer.can(DIRECTIVES_ANSWER):
        raise PermissionDenied(f"The role {viewer.role!r} may not answer directives.")
    if directive.status != "issued":
        raise Conflict(
            f"Directive {directive.id} is {directive.status}; only an issued one is acknowledged."
        )
    directive.status = "acknowledged"
    directive.acknowledged_by = viewer.label
    directive.acknowledged_at = utcnow()
    session.flush()
    audit.record(session, viewer, "directive.acknowledge", "directive", directive.id)
    return directive


def answer(session: Session, viewer: Viewer, directive: Directive, text: str) -> Directive:
    """The department's answer; acknowledges the directive on the way if needed."""
    if not viewer.can(DIRECTIVES_ANSWER):
        raise PermissionDenied(f"The role {viewer.role!r} may not answer directives.")
    if directive.status not in _OPEN:
        raise Conflict(f"Directive {directive.id} is {directive.status}; it has been answered.")
    if not text.strip() or len(text) > MAX_TEXT:
        raise InvalidInput(f"An answer needs a text of at most {MAX_TEXT} characters.")
    now = utcnow()
    if directive.acknowledged_at is None:
        directive.acknowledged_by, directive.acknowledged_at = viewer.label, now
    directive.status = "answered"
    directive.answer = text.strip()
    directive.answered_by = viewer.label
    directive.answered_at = now
    session.flush()
    audit.record(session, viewer, "directive.answer", "directive", directive.id)
    return directive


def close(session: Session, viewer: Viewer, directive: Directive, note: str = "") -> Directive:
    """The issuing side accepts the answer and closes the directive."""
    if not viewer.can(DIRECTIVES_ISSUE):
        raise PermissionDenied(f"The role {viewer.role!r} may not close directives.")
    if viewer.role == "district_head" and directive.district_id != viewer.district_id:
        raise PermissionDenied("A district head closes directives of their own district only.")
    if directive.status != "answered":
        raise Conflict(
            f"Directive {directive.id} is {directive.status}; it is closed once answered."
        )
    directive.status = "closed"
    directive.close_note = note.strip() or None
    directive.closed_by = viewer.label
    directive.closed_at = utcnow()
    session.flush()
    audit.record(session, viewer, "directive.close", "directive", directive.id)
    return directive


def is_overdue(directive: Directive, today: dt.date) -> bool:
    return directive.status in _OPEN and today > directive.due_on


def describe(session: Session, directive: Directive, city: City) -> dict[str, Any]:
    zone = ZoneInfo(city.timezone)
    today = _today(city)
    district = session.get(Area, directive.district_id) if directive.district_id else None
    answered_late = (
        directive.answered_at is not None
        and directive.answered_at.astimezone(zone).date() > directive.due_on
    )

    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": directive.id,
        "title": directive.title,
        "instruction": directive.instruction,
        "department": directive.department,
        "district": {"code": district.code, "name": district.name} if district else None,
        "due_on": directive.due_on.isoformat(),
        "status": directive.status,
        "overdue": is_overdue(directive, today),
        "answered_late": answered_late,
        "subject": {"kind": directive.subject_kind, **directive.subject},
        "issued": {
            "by": directive.issued_by,
            "role": directive.issuer_role,
            "at": iso(directive.issued_at),
        },
        "acknowledged": {"by": directive.acknowledged_by, "at": iso(directive.acknowledged_at)},
        "answer": {
            "text": directive.answer,
            "by": directive.answered_by,
            "at": iso(directive.answered_at),
        },
        "closed": {
            "by": directive.closed_by,
            "at": iso(directive.closed_at),
            "note": directive.close_note,
        },
    }
