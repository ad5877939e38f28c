"""JSON API: certification rounds, applications, evidence, scoring, decisions, certificates."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from citymeter.accounts.permissions import (
    APPLICATIONS_READ,
    APPLICATIONS_WRITE,
    ASSESSMENTS_SCORE,
    AUDIT_READ,
    ROUNDS_MANAGE,
    Viewer,
)
from citymeter.assessment import (
    applications,
    assessing,
    benchmarking,
    certificates,
    evidence,
    ledger,
    reports,
    rounds,
)
from citymeter.assessment.access import visible_application
from citymeter.assessment.models import Application
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep, require

router = APIRouter(prefix="/api/v1", tags=["certification"])

Manager = Annotated[Viewer, Depends(require(ROUNDS_MANAGE))]
Applicant = Annotated[Viewer, Depends(require(APPLICATIONS_WRITE))]
Reader = Annotated[Viewer, Depends(require(APPLICATIONS_READ))]
Assessor = Annotated[Viewer, Depends(require(ASSESSMENTS_SCORE))]


class RoundCreate(BaseModel):
    code: str
    name: str
    framework: str = Field(description="A shipped framework id.")
    opens_at: dt.datetime
    closes_at: dt.datetime
    classes: list[str] = Field(default_factory=list)


class ApplicationCreate(BaseModel):
    city: str
    population: int | None = None
    benchmark_consent: bool = False


class ClaimIn(BaseModel):
    value: int | float | str
    justification: str | None = None


class OverrideIn(BaseModel):
    element: str
    value: float
    reason: str
    unit: str | None = None


class AssessorIn(BaseModel):
    assessor: str


class ConflictIn(BaseModel):
    city: str
    reason: str


class ScoreIn(BaseModel):
    value: int | float | str
    comment: str | None = None
    evidence: list[str] = Field(default_factory=list)


class SiteVisitIn(BaseModel):
    visited_on: dt.date
    people_interviewed: list[str] = Field(default_factory=list)
    findings: str


class ReasonIn(BaseModel):
    reason: str


class CertificateIn(BaseModel):
    scope: str | None = None
    issued_on: dt.date | None = None


def _application(session: Any, application: Application) -> dict[str, Any]:
    round_ = applications.round_of(session, application)
    return {
        "id": application.id,
        "round": round_.code,
        "city_id": application.city_id,
        "class": application.class_id,
        "population": application.population,
        "status": application.status,
        "submitted_at": application.submitted_at,
        "benchmark_consent": application.benchmark_consent,
        "self_assessment": {
            e.element_id: {
                "claimed": e.claimed,
                "justification": e.justification,
                "measured_value": e.measured_value,
                "unit": e.measured_unit,
                "origin": e.value_origin,
                "provenance": e.provenance,
                "override_reason": e.override_reason,
            }
            for e in applications.entries(session, application.id).values()
        },
        "missing": applications.completeness(session, application)
        if application.status == "draft"
        else [],
    }


@router.get("/rounds")
def list_rounds(session: SessionDep, _viewer: PublicViewer) -> list[dict[str, Any]]:
    return [
        {
            "code": r.code,
            "name": r.name,
            "framework": r.framework_id,
            "framework_version": r.framework_version,
            "opens_at": r.opens_at,
            "closes_at": r.closes_at,
            "status": r.status,
        }
        for r in rounds.list_rounds(session)
    ]


@router.post("/rounds", status_code=201)
def open_round(body: RoundCreate, session: SessionDep, viewer: Manager) -> dict[str, Any]:
    from citymeter.assessment.loader import shipped_framework, shipped_frameworks

    shipped_framework(body.framework)  # a NotFound naming the shipped ids, never a path
    spec = rounds.RoundSpec(
        body.code,
        body.name,
        shipped_frameworks()[body.framework],
        body.opens_at,
        body.closes_at,
        tuple(body.classes),
    )
    opened = rounds.open_round(session, viewer, spec)
    return {"code": opened.code, "framework": opened.framework_id, "status": opened.status}


@router.post("/rounds/{code}/applications", status_code=201)
def apply(
    code: str, body: ApplicationCreate, session: SessionDep, viewer: Applicant
) -> dict[str, Any]:
    created = applications.apply(
        session, viewer, code, body.city, body.population, body.benchmark_consent
    )
    return _application(session, created)


@router.get("/applications")
def list_applications(
    session: SessionDep, viewer: Reader, round: str | None = None
) -> list[dict[str, Any]]:
    """Only what the caller may see: their city's, their assignments, or all for the body."""
    return [
        _application(session, a) for a in applications.list_applications(session, viewer, round)
    ]


@router.get("/applications/{application_id}")
def get_application(application_id: int, session: SessionDep, viewer: Reader) -> dict[str, Any]:
    return _application(session, visible_application(session, viewer, application_id))


@router.put("/applications/{application_id}/claims")
def put_claims(
    application_id: int, body: dict[str, ClaimIn], session: SessionDep, viewer: Applicant
) -> dict[str, Any]:
    claims = {k: applications.Claim(v.value, v.justification) for k, v in body.items()}
    applications.claim(session, viewer, application_id, claims)
    return _application(session, visible_application(session, viewer, application_id))


@router.post("/applications/{application_id}/prefill")
def prefill(application_id: int, session: SessionDep, viewer: Applicant) -> dict[str, Any]:
    return {"filled": applications.prefill(session, viewer, application_id)}


@router.post("/applications/{application_id}/overrides")
def override(
    application_id: int, body: OverrideIn, session: SessionDep, viewer: Applicant
) -> dict[str, Any]:
    entry = applications.override(
        session, viewer, application_id, body.element, body.value, body.reason, body.unit
    )
    return {"element": entry.element_id, "value": entry.measured_value, "origin": "override"}


@router.post("/applications/{application_id}/submit")
def submit(application_id: int, session: SessionDep, viewer: Applicant) -> dict[str, Any]:
    return _application(session, applications.submit(session, viewer, application_id))


@router.post("/applications/{application_id}/evidence", status_code=201)
def upload_evidence(
    application_id: int,
    file: UploadFile,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Applicant,
    title: Annotated[str, Form()] = "",
    elements: Annotated[str, Form(description="Element ids, comma-separated.")] = "",
    document: Annotated[int | None, Form(description="Add a version to this document.")] = None,
) -> dict[str, Any]:
    # Read one byte past the limit so an oversized file is refused without reading it all.
    content = file.file.read(settings.evidence_max_bytes + 1)
    version = evidence.upload(
        session,
        viewer,
        application_id,
        title,
        evidence.Upload(file.filename or "upload", content),
        settings.data_dir,
        settings.evidence_max_bytes,
        [e.strip() for e in elements.split(",") if e.strip()],
        document,
    )
    return {
        "id": version.id,
        "document": version.document_id,
        "version": version.version,
        "content_type": version.content_type,
        "sha256": version.sha256,
        "size_bytes": version.size_bytes,
    }


@router.get("/applications/{application_id}/evidence")
def list_evidence(application_id: int, session: SessionDep, viewer: Reader) -> list[dict[str, Any]]:
    return [
        {
            "document": doc.id,
            "title": doc.title,
            "elements": doc.element_ids,
            "versions": [
                {"id": v.id, "version": v.version, "file_name": v.file_name, "sha256": v.sha256}
                for v in versions
            ],
        }
        for doc, versions in evidence.documents(session, viewer, application_id)
    ]


@router.get("/evidence/{version_id}")
def download_evidence(
    version_id: int, session: SessionDep, settings: SettingsDep, viewer: Reader
) -> Response:
    version, content = evidence.open_version(session, viewer, version_id, settings.data_dir)
    return Response(
        content,
        media_type=version.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{version.id}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/applications/{application_id}/assessors", status_code=201)
def assign(
    application_id: int, body: AssessorIn, session: SessionDep, viewer: Manager
) -> dict[str, Any]:
    made = assessing.assign(session, viewer, application_id, body.assessor)
    return {"application": made.application_id, "assessor": body.assessor}


@router.post("/conflicts", status_code=201)
def declare_conflict(body: ConflictIn, session: SessionDep, viewer: Assessor) -> dict[str, Any]:
    made = assessing.declare_conflict(session, viewer, body.city, body.reason)
    return {"id": made.id, "city": body.city}


@router.put("/applications/{application_id}/scores/{stage}")
def put_scores(
    application_id: int,
    stage: str,
    body: dict[str, ScoreIn],
    session: SessionDep,
    viewer: Assessor,
) -> dict[str, Any]:
    scores = {
        k: assessing.AssessorScore(v.value, v.comment, tuple(v.evidence)) for k, v in body.items()
    }
    saved = assessing.score(session, viewer, application_id, stage, scores)
    return {"stage": stage, "scored": len(saved)}


@router.post("/applications/{application_id}/site-visits", status_code=201)
def site_visit(
    application_id: int, body: SiteVisitIn, session: SessionDep, viewer: Assessor
) -> dict[str, Any]:
    visit = assessing.record_site_visit(
        session, viewer, application_id, body.visited_on, body.people_interviewed, body.findings
    )
    return {"id": visit.id, "visited_on": visit.visited_on}


@router.get("/applications/{application_id}/committee")
def committee(application_id: int, session: SessionDep, viewer: Manager) -> dict[str, Any]:
    view = assessing.committee_view(session, viewer, application_id)
    return {
        "stage": view.stage,
        "complete": view.complete,
        "missing": view.missing,
        "flagged": view.flagged,
        "result": view.result_label if view.complete else None,
        "certified": view.certified if view.complete else None,
        "elements": {
            k: {
                "scores": list(cs.scores),
                "value": cs.value,
                "level": cs.level.code if cs.level else None,
                "spread": cs.spread,
                "disagreement": cs.disagreement,
            }
            for k, cs in view.elements.items()
        },
    }


@router.post("/applications/{application_id}/decision", status_code=201)
def decide(
    application_id: int, body: ReasonIn, session: SessionDep, viewer: Manager
) -> dict[str, Any]:
    decision = assessing.decide(session, viewer, application_id, body.reason)
    return {"certified": decision.certified, "result": decision.result, "total": decision.total}


@router.post("/applications/{application_id}/reopen")
def reopen(
    application_id: int, body: ReasonIn, session: SessionDep, viewer: Manager
) -> dict[str, Any]:
    return {"status": assessing.reopen(session, viewer, application_id, body.reason).status}


@router.get("/applications/{application_id}/roadmap")
def roadmap(application_id: int, session: SessionDep, viewer: Reader) -> list[dict[str, Any]]:
    return [
        {
            "item": s.item_id,
            "name": s.item_name,
            "group": s.group_name,
            "current": s.current,
            "next": s.next,
            "gap": s.gap,
            "blocking": s.blocking,
            "points_short": s.points_short,
        }
        for s in assessing.roadmap(session, viewer, application_id)
    ]


def _document(html: str, render_pdf: Any, fmt: str, name: str) -> Response:
    if reports.check_format(fmt) == "html":
        return Response(html, media_type="text/html; charset=utf-8")
    return Response(
        render_pdf(),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


@router.get("/applications/{application_id}/report")
def report(
    application_id: int,
    session: SessionDep,
    viewer: Reader,
    format: Annotated[str, Query(pattern="^(html|pdf)$")] = "pdf",
    lang: Annotated[str, Query(pattern="^(ko|en)$")] = "ko",
) -> Response:
    """The assessment report: the applicant once decided, assigned assessors, the body."""
    from citymeter.assessment import pdf

    made = reports.assessment_report(session, viewer, application_id)
    return _document(
        reports.report_html(made, lang),
        lambda: pdf.report_pdf(made, lang),
        format,
        f"assessment-report-{application_id}",
    )


@router.post("/applications/{application_id}/certificate", status_code=201)
def issue_certificate(
    application_id: int, body: CertificateIn, session: SessionDep, viewer: Manager
) -> dict[str, Any]:
    made = certificates.issue(session, viewer, application_id, body.scope, body.issued_on)
    return {"number": made.number, "issued_on": made.issued_on, "expires_on": made.expires_on}


def _public(p: certificates.PublicCertificate) -> dict[str, Any]:
    return {
        "number": p.number,
        "city": p.city,
        "round": p.round_code,
        "framework": p.framework,
        "class": p.class_id,
        "result": p.result,
        "scope": p.scope,
        "issued_on": p.issued_on,
        "expires_on": p.expires_on,
        "status": p.status,
        "withdrawal_reason": p.withdrawal_reason,
        "next_surveillance": p.next_surveillance,
    }


@router.get("/certificates")
def registry(
    session: SessionDep,
    _viewer: PublicViewer,
    round: str | None = None,
    class_: Annotated[str | None, Query(alias="class")] = None,
) -> list[dict[str, Any]]:
    return [_public(p) for p in certificates.registry(session, round, class_)]


@router.get("/certificates/{number}")
def verify_certificate(number: str, session: SessionDep, _viewer: PublicViewer) -> dict[str, Any]:
    return _public(certificates.verify(session, number))


@router.get("/certificates/{number}/document")
def certificate_document(
    number: str,
    session: SessionDep,
    _viewer: PublicViewer,
    format: Annotated[str, Query(pattern="^(html|pdf)$")] = "pdf",
    lang: Annotated[str, Query(pattern="^(ko|en)$")] = "ko",
) -> Response:
    """A valid certificate to print; public, like the verification page."""
    from citymeter.assessment import pdf

    found = reports.certificate_for_print(session, number)
    return _document(
        reports.certificate_html(found, lang),
        lambda: pdf.certificate_pdf(found, lang),
        format,
        f"certificate-{found.number}",
    )


@router.post("/certificates/{number}/withdraw")
def withdraw(number: str, body: ReasonIn, session: SessionDep, viewer: Manager) -> dict[str, Any]:
    return {"status": certificates.withdraw(session, viewer, number, body.reason).status}


@router.get("/certificate-reminders")
def reminders(session: SessionDep, viewer: Manager, within: int = 90) -> list[dict[str, Any]]:
    return [
        {
            "number": r.number,
            "city": r.city,
            "what": r.what,
            "due_on": r.due_on,
            "overdue": r.overdue,
        }
        for r in certificates.due(session, viewer, within)
    ]


@router.get("/rounds/{code}/benchmark")
def benchmark(
    code: str,
    session: SessionDep,
    viewer: PublicViewer,
    class_: Annotated[str | None, Query(alias="class")] = None,
) -> dict[str, Any]:
    """Ranking and distribution per item; the public sees consenting cities only."""
    return benchmarking.as_dict(benchmarking.benchmark(session, viewer, code, class_))


@router.get("/assessment-log/verify")
def verify_log(
    session: SessionDep, _viewer: Annotated[Viewer, Depends(require(AUDIT_READ))]
) -> dict[str, Any]:
    check = ledger.verify(session)
    return {"intact": check.intact, "entries": check.entries, "problems": list(check.problems)}
