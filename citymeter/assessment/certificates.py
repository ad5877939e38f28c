"""Certificates: issued from a certified decision, scheduled from the framework (surveillance,
renewal or extension), withdrawn with a reason, verifiable by number and listed in a public
registry by round and class.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.assessment import ledger
from citymeter.assessment.access import require_body, visible_application
from citymeter.assessment.applications import round_of
from citymeter.assessment.assessing import current_decision
from citymeter.assessment.models import (
    Application,
    CertificateRecord,
    CertificationRound,
    SurveillanceAudit,
)
from citymeter.assessment.rounds import framework_of
from citymeter.assessment.scoring import certificate_schedule
from citymeter.errors import Conflict, InvalidInput, NotFound
from citymeter.places.models import City


def _today(today: dt.date | None) -> dt.date:
    return today or dt.datetime.now(dt.UTC).date()


def issue(
    session: Session,
    viewer: Viewer,
    application_id: int,
    scope: str | None = None,
    issued_on: dt.date | None = None,
) -> CertificateRecord:
    require_body(viewer, "issue certificates")
    application = visible_application(session, viewer, application_id)
    decision = current_decision(session, application.id)
    if decision is None or application.status != "decided":
        raise Conflict(f"Application {application.id} has no decision yet.")
    if not decision.certified:
        raise Conflict(f"Application {application.id} was decided not certified.")
    existing = session.scalar(
        select(CertificateRecord.number).where(
            CertificateRecord.application_id == application.id,
            CertificateRecord.status == "active",
        )
    )
    if existing:
        raise Conflict(f"Certificate {existing} was issued for this application already.")
    round_ = round_of(session, application)
    framework = framework_of(round_)
    day = _today(issued_on)
    schedule = certificate_schedule(framework, day)
    city = session.get(City, application.city_id)
    assert city is not None
    count = session.scalar(
        select(func.count(CertificateRecord.id)).where(
            CertificateRecord.issued_on >= dt.date(day.year, 1, 1),
            CertificateRecord.issued_on <= dt.date(day.year, 12, 31),
        )
    )
    number = f"CM-{day.year}-{int(count or 0) + 1:05d}"
    certificate = CertificateRecord(
        number=number,
        application_id=application.id,
        result=decision.result,
        scope=(scope or f"{city.name}: {framework.name}").strip(),
        issued_on=day,
        expires_on=schedule.expires,
        renewal_due_on=schedule.renewal_due,
        status="active",
    )
    session.add(certificate)
    session.flush()
    for due in schedule.surveillance:
        session.add(SurveillanceAudit(certificate_id=certificate.id, due_on=due))
    session.flush()
    payload = {
        "number": number,
        "application": application.id,
        "result": decision.result,
        "issued": day.isoformat(),
        "expires": schedule.expires.isoformat(),
    }
    audit.record(session, viewer, "certificate.issue", "certificate", certificate.id, payload)
    ledger.append(session, viewer, "certificate.issue", "certificate", certificate.id, payload)
    return certificate


def _certificate(session: Session, number: str) -> CertificateRecord:
    found = session.scalar(select(CertificateRecord).where(CertificateRecord.number == number))
    if found is None:
        raise NotFound(f"No certificate numbered {number!r}.")
    return found


def withdraw(
    session: Session, viewer: Viewer, number: str, reason: str, on: dt.date | None = None
) -> CertificateRecord:
    require_body(viewer, "withdraw certificates")
    certificate = _certificate(session, number)
    if certificate.status == "withdrawn":
        raise Conflict(f"Certificate {number} was withdrawn already.")
    if not reason.strip():
        raise InvalidInput("Give the reason for the withdrawal; it is shown publicly.")
    certificate.status = "withdrawn"
    certificate.withdrawn_on = _today(on)
    certificate.withdrawal_reason = reason.strip()
    session.flush()
    payload = {
        "number": number,
        "reason": reason.strip(),
        "on": certificate.withdrawn_on.isoformat(),
    }
    audit.record(session, viewer, "certificate.withdraw", "certificate", certificate.id, payload)
    ledger.append(session, viewer, "certificate.withdraw", "certificate", certificate.id, payload)
    return certificate


def record_surveillance(
    session: Session, viewer: Viewer, number: str, outcome: str, done_on: dt.date | None = None
) -> SurveillanceAudit:
    """Close the earliest open surveillance audit of a certificate with its outcome."""
    require_body(viewer, "record surveillance audits")
    certificate = _certificate(session, number)
    if certificate.status != "active":
        raise Conflict(f"Certificate {number} is {certificate.status}.")
    if not outcome.strip():
        raise InvalidInput("Give the outcome of the surveillance audit.")
    open_audit = session.scalar(
        select(SurveillanceAudit)
        .where(
            SurveillanceAudit.certificate_id == certificate.id, SurveillanceAudit.done_on.is_(None)
        )
        .order_by(SurveillanceAudit.due_on)
        .limit(1)
    )
    if open_audit is None:
        raise Conflict(f"Certificate {number} has no surveillance audit open.")
    open_audit.done_on = _today(done_on)
    open_audit.outcome = outcome.strip()
    session.flush()
    payload = {"number": number, "due": open_audit.due_on.isoformat(), "outcome": outcome.strip()}
    audit.record(session, viewer, "surveillance.record", "certificate", certificate.id, payload)
    ledger.append(session, viewer, "surveillance.record", "certificate", certificate.id, payload)
    return open_audit


def renew(
    session: Session, viewer: Viewer, number: str, reason: str, on: dt.date | None = None
) -> CertificateRecord:
    """Extend an active certificate by one validity period from its expiry, with a new
    surveillance schedule, where the framework renews by extension. A framework that renews by
    recertification or reapplication renews through a new round: the certificate issued from
    that decision follows this one, and the level may move up or down."""
    require_body(viewer, "renew certificates")
    certificate = _certificate(session, number)
    if certificate.status != "active":
        raise Conflict(f"Certificate {number} is {certificate.status}.")
    application = session.get(Application, certificate.application_id)
    assert application is not None  # foreign key
    round_ = session.get(CertificationRound, application.round_id)
    assert round_ is not None  # foreign key
    framework = framework_of(round_)
    rules = framework.certificate
    if rules is None or rules.renewal != "extension":
        kind = rules.renewal if rules else "none"
        raise Conflict(
            f"{framework.name} renews by {kind}: the city applies to a new round and the "
            "certificate issued from that decision follows this one."
        )
    day = _today(on)
    if certificate.expires_on <= day:
        raise Conflict(
            f"Certificate {number} expired on {certificate.expires_on}; it cannot be extended."
        )
    if not reason.strip():
        raise InvalidInput("Say on what the extension was granted (the review, the request).")
    schedule = certificate_schedule(framework, certificate.expires_on)
    before = certificate.expires_on
    certificate.expires_on = schedule.expires
    certificate.renewal_due_on = schedule.renewal_due
    for due in schedule.surveillance:
        session.add(SurveillanceAudit(certificate_id=certificate.id, due_on=due))
    session.flush()
    payload = {
        "number": number,
        "reason": reason.strip(),
        "expired": before.isoformat(),
        "expires": schedule.expires.isoformat(),
        "on": day.isoformat(),
    }
    audit.record(session, viewer, "certificate.renew", "certificate", certificate.id, payload)
    ledger.append(session, viewer, "certificate.renew", "certificate", certificate.id, payload)
    return certificate


def surveillance_audits(session: Session, number: str) -> list[SurveillanceAudit]:
    certificate = _certificate(session, number)
    return list(
        session.scalars(
            select(SurveillanceAudit)
            .where(SurveillanceAudit.certificate_id == certificate.id)
            .order_by(SurveillanceAudit.due_on)
        )
    )


def certificate_record(session: Session, number: str) -> CertificateRecord:
    return _certificate(session, number)


@dataclass(frozen=True)
class PublicCertificate:
    """What anyone may see of a certificate."""

    number: str
    city: str
    city_code: str
    round_code: str
    round_name: str
    framework: str
    class_id: str | None
    result: str
    scope: str
    issued_on: dt.date
    expires_on: dt.date
    status: str  # valid, expired, withdrawn
    withdrawal_reason: str | None
    next_surveillance: dt.date | None


def _public(session: Session, certificate: CertificateRecord, today: dt.date) -> PublicCertificate:
    application = session.get(Application, certificate.application_id)
    assert application is not None
    round_ = session.get(CertificationRound, application.round_id)
    city = session.get(City, application.city_id)
    assert round_ is not None and city is not None
    if certificate.status == "withdrawn":
        status = "withdrawn"
    elif certificate.expires_on <= today:
        status = "expired"
    else:
        status = "valid"
    next_due = session.scalar(
        select(func.min(SurveillanceAudit.due_on)).where(
            SurveillanceAudit.certificate_id == certificate.id, SurveillanceAudit.done_on.is_(None)
        )
    )
    return PublicCertificate(
        number=certificate.number,
        city=city.name,
        city_code=city.code,
        round_code=round_.code,
        round_name=round_.name,
        framework=framework_of(round_).name,
        class_id=application.class_id,
        result=certificate.result,
        scope=certificate.scope,
        issued_on=certificate.issued_on,
        expires_on=certificate.expires_on,
        status=status,
        withdrawal_reason=certificate.withdrawal_reason,
        next_surveillance=next_due,
    )


def verify(session: Session, number: str, today: dt.date | None = None) -> PublicCertificate:
    """The public verification of a certificate by its number."""
    return _public(session, _certificate(session, number.strip()), _today(today))


def registry(
    session: Session,
    round_code: str | None = None,
    class_id: str | None = None,
    today: dt.date | None = None,
) -> list[PublicCertificate]:
    """Certified cities, by round and class (withdrawn ones stay listed, marked withdrawn)."""
    query = (
        select(CertificateRecord)
        .join(Application, Application.id == CertificateRecord.application_id)
        .join(CertificationRound, CertificationRound.id == Application.round_id)
        .order_by(
            CertificationRound.opens_at.desc(), Application.class_id, CertificateRecord.number
        )
    )
    if round_code:
        query = query.where(CertificationRound.code == round_code)
    if class_id:
        query = query.where(Application.class_id == class_id)
    day = _today(today)
    return [_public(session, c, day) for c in session.scalars(query)]


@dataclass(frozen=True)
class Reminder:
    number: str
    city: str
    what: str  # surveillance, renewal, expiry
    due_on: dt.date
    overdue: bool


def due(
    session: Session, viewer: Viewer, within_days: int = 90, today: dt.date | None = None
) -> list[Reminder]:
    """Surveillance audits, renewal/extension requests and expiries due within so many days."""
    require_body(viewer, "see certificate reminders")
    if within_days < 0:
        raise InvalidInput("--within is a number of days, 0 or more.")
    day = _today(today)
    horizon = day + dt.timedelta(days=within_days)
    reminders: list[Reminder] = []
    rows = session.execute(
        select(CertificateRecord, City.name)
        .join(Application, Application.id == CertificateRecord.application_id)
        .join(City, City.id == Application.city_id)
        .where(CertificateRecord.status == "active")
    ).all()
    for certificate, city_name in rows:
        audits = session.scalars(
            select(SurveillanceAudit).where(
                SurveillanceAudit.certificate_id == certificate.id,
                SurveillanceAudit.done_on.is_(None),
                SurveillanceAudit.due_on <= horizon,
            )
        )
        for audit_row in audits:
            reminders.append(
                Reminder(
                    certificate.number,
                    city_name,
                    "surveillance",
                    audit_row.due_on,
                    audit_row.due_on < day,
                )
            )
        renewal = certificate.renewal_due_on
        if renewal is not None and renewal <= horizon and certificate.expires_on > day:
            reminders.append(
                Reminder(certificate.number, city_name, "renewal", renewal, renewal < day)
            )
        if certificate.expires_on <= horizon:
            reminders.append(
                Reminder(
                    certificate.number,
                    city_name,
                    "expiry",
                    certificate.expires_on,
                    certificate.expires_on <= day,
                )
            )
    return sorted(reminders, key=lambda r: (r.due_on, r.number, r.what))
