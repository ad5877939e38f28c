"""Certification records: rounds, applications, self-assessment, evidence, scores, decisions,
certificates and the hash-chained ledger of every score, override and decision.

A round keeps the text of its framework, so a later edit of a framework file cannot change what a
round was assessed against.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citymeter.db.base import Base, utcnow

APPLICATION_STATES = ("draft", "submitted", "decided")


class CertificationRound(Base):
    __tablename__ = "certification_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    framework_id: Mapped[str] = mapped_column(String(80))
    framework_version: Mapped[str] = mapped_column(String(40))
    framework_text: Mapped[str] = mapped_column(Text)
    # Population class ids accepted in this round; empty = every class of the framework.
    classes: Mapped[list[Any]] = mapped_column(default=list)
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]  # the submission deadline
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, closed
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Application(Base):
    """One city's application to one round, with its self-assessment and evidence."""

    __tablename__ = "certification_application"
    __table_args__ = (UniqueConstraint("round_id", "city_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("certification_round.id", ondelete="CASCADE"), index=True
    )
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), index=True)
    population: Mapped[int | None]
    class_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    benchmark_consent: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[dt.datetime | None]


class SelfAssessmentEntry(Base):
    """The applicant's claim for one scored element, and a quantitative element's measured value
    (pre-filled from an indicator value with its provenance, or overridden with a reason)."""

    __tablename__ = "self_assessment_entry"
    __table_args__ = (UniqueConstraint("application_id", "element_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_application.id", ondelete="CASCADE"), index=True
    )
    element_id: Mapped[str] = mapped_column(String(80))
    claimed: Mapped[float | None]
    justification: Mapped[str | None] = mapped_column(Text)
    measured_value: Mapped[float | None]
    measured_unit: Mapped[str | None] = mapped_column(String(40))
    value_origin: Mapped[str | None] = mapped_column(String(16))  # indicator, override
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    override_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EvidenceDocument(Base):
    __tablename__ = "evidence_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_application.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    element_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EvidenceVersion(Base):
    """One uploaded version of a document; the file is stored under its SHA-256."""

    __tablename__ = "evidence_version"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("evidence_document.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    file_name: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IndicatorCitation(Base):
    """An indicator value cited as evidence; `frozen` once the application is submitted."""

    __tablename__ = "indicator_citation"
    __table_args__ = (UniqueConstraint("application_id", "element_id", "indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_application.id", ondelete="CASCADE"), index=True
    )
    element_id: Mapped[str] = mapped_column(String(80))
    indicator: Mapped[str] = mapped_column(String(120))
    value: Mapped[float | None]
    unit: Mapped[str | None] = mapped_column(String(40))
    period: Mapped[str | None] = mapped_column(String(40))
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    frozen_at: Mapped[dt.datetime | None]


class ConflictDeclaration(Base):
    """An assessor's declared conflict of interest with a city: they cannot assess it."""

    __tablename__ = "conflict_declaration"
    __table_args__ = (UniqueConstraint("assessor_id", "city_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AssessorAssignment(Base):
    __tablename__ = "assessor_assignment"
    __table_args__ = (UniqueConstraint("application_id", "assessor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_application.id", ondelete="CASCADE"), index=True
    )
    assessor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    assigned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    no_conflict_declared: Mapped[bool] = mapped_column(default=True)


class ItemScore(Base):
    """One assessor's score of one element in one stage."""

    __tablename__ = "item_score"
    __table_args__ = (UniqueConstraint("application_id", "assessor_id", "stage_id", "element_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_application.id", ondelete="CASCADE"), index=True
    )
    assessor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    stage_id: Mapped[str] = mapped_column(String(80))
    element_id: Mapped[str] = mapped_column(String(80))
    value: Mapped[float]
    comment: Mapped[str | None] = mapped_column(Text)
    evidence_refs: Mapped[list[Any]] = mapped_column(default=list)
    scored_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SiteVisit(Base):
    __tablename__ = "site_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_application.id", ondelete="CASCADE"), index=True
    )
    visited_on: Mapped[dt.date] = mapped_column(Date)
    people_interviewed: Mapped[list[Any]] = mapped_column(default=list)
    findings: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Decision(Base):
    """The committee's decision; a reopening supersedes it (it is never edited)."""

    __tablename__ = "certification_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_application.id", ondelete="CASCADE"), index=True
    )
    certified: Mapped[bool]
    result: Mapped[str] = mapped_column(String(40))  # overall level code or grade
    total: Mapped[float]
    reasons: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[dt.datetime | None]
    reopen_reason: Mapped[str | None] = mapped_column(Text)


class CertificateRecord(Base):
    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("certification_application.id", ondelete="CASCADE"), index=True
    )
    result: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(Text)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    renewal_due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, withdrawn
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class SurveillanceAudit(Base):
    __tablename__ = "surveillance_audit"
    __table_args__ = (UniqueConstraint("certificate_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificate.id", ondelete="CASCADE"), index=True
    )
    due_on: Mapped[dt.date] = mapped_column(Date)
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Text)


class LedgerEntry(Base):
    """One link of the hash chain: hash = SHA-256(previous hash + this entry's canonical text)."""

    __tablename__ = "assessment_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[str] = mapped_column(String(40))  # ISO-8601 UTC, hashed exactly as stored
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str] = mapped_column(String(80))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed exactly as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
