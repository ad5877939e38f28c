"""Assessment: conflicts of interest, assignment, scoring by stage, site visits, the committee
view, the decision (and its recorded reopening) and the gap analysis.

Every score, decision and reopening is written to the hash-chained ledger. After a decision no
score changes until the certification body reopens the application, with a reason, on the record.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.models import User
from citymeter.accounts.permissions import ASSESSMENTS_SCORE, ROLE_PERMISSIONS, Viewer
from citymeter.assessment import ledger
from citymeter.assessment.access import (
    is_applicant,
    is_assigned,
    is_certification_body,
    require_body,
    visible_application,
)
from citymeter.assessment.applications import framework_for
from citymeter.assessment.models import (
    Application,
    AssessorAssignment,
    CertificateRecord,
    ConflictDeclaration,
    Decision,
    EvidenceDocument,
    IndicatorCitation,
    ItemScore,
    SiteVisit,
)
from citymeter.assessment.schema import Framework, LevelScale, Stage
from citymeter.assessment.scoring import (
    CommitteeScore,
    MaturityResult,
    PointsResult,
    RoadmapStep,
    Score,
    committee_score,
    gap_analysis,
    maturity_result,
    points_result,
    validate_scores,
)
from citymeter.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from citymeter.places.models import City

SCORING_KINDS = ("document_review", "on_site")


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user {username!r}.")
    return user


def _city(session: Session, code: str) -> City:
    city = session.scalar(select(City).where(City.code == code))
    if city is None:
        raise NotFound(f"No city with code {code!r}.")
    return city


def has_conflict(session: Session, assessor_id: int, city_id: int) -> bool:
    found = session.scalar(
        select(ConflictDeclaration.id).where(
            ConflictDeclaration.assessor_id == assessor_id, ConflictDeclaration.city_id == city_id
        )
    )
    return found is not None


def declare_conflict(
    session: Session, viewer: Viewer, city_code: str, reason: str, assessor: str | None = None
) -> ConflictDeclaration:
    """An assessor declares a conflict of interest with a city (or the body records one)."""
    if assessor is not None and assessor != viewer.username:
        require_body(viewer, "record another assessor's conflict")
        user = _user(session, assessor)
    else:
        if viewer.user_id is None or not viewer.can(ASSESSMENTS_SCORE):
            raise PermissionDenied("Only an assessor declares their own conflicts.")
        user = _user(session, viewer.username)
    if not reason.strip():
        raise InvalidInput("Say what the conflict of interest is.")
    city = _city(session, city_code)
    if has_conflict(session, user.id, city.id):
        raise Conflict(f"{user.username} has declared a conflict with {city.name} already.")
    declaration = ConflictDeclaration(assessor_id=user.id, city_id=city.id, reason=reason.strip())
    session.add(declaration)
    session.flush()
    payload = {"assessor": user.username, "city": city.code, "reason": reason.strip()}
    audit.record(
        session, viewer, "conflict.declare", "conflict_declaration", declaration.id, payload
    )
    ledger.append(
        session, viewer, "conflict.declare", "conflict_declaration", declaration.id, payload
    )
    return declaration


def assign(
    session: Session, viewer: Viewer, application_id: int, assessor: str
) -> AssessorAssignment:
    require_body(viewer, "assign assessors")
    application = visible_application(session, viewer, application_id)
    if application.status == "draft":
        raise Conflict(f"Application {application.id} has not been submitted yet.")
    user = _user(session, assessor)
    if ASSESSMENTS_SCORE not in ROLE_PERMISSIONS.get(user.role, frozenset()) or not user.is_active:
        raise InvalidInput(f"{user.username} is not an active assessor (role {user.role!r}).")
    if has_conflict(session, user.id, application.city_id):
        city = session.get(City, application.city_id)
        raise Conflict(
            f"{user.username} has declared a conflict of interest with "
            f"{city.name if city else 'this city'} and cannot assess it."
        )
    if is_assigned_user(session, application.id, user.id):
        raise Conflict(f"{user.username} is assigned to application {application.id} already.")
    assignment = AssessorAssignment(application_id=application.id, assessor_id=user.id)
    session.add(assignment)
    session.flush()
    payload = {"application": application.id, "assessor": user.username}
    audit.record(session, viewer, "assessor.assign", "assessor_assignment", assignment.id, payload)
    ledger.append(session, viewer, "assessor.assign", "assessor_assignment", assignment.id, payload)
    return assignment


def is_assigned_user(session: Session, application_id: int, user_id: int) -> bool:
    return (
        session.scalar(
            select(AssessorAssignment.id).where(
                AssessorAssignment.application_id == application_id,
                AssessorAssignment.assessor_id == user_id,
            )
        )
        is not None
    )


def assignments(session: Session, viewer: Viewer) -> list[Application]:
    """The applications assigned to this assessor (what an assessor sees)."""
    if viewer.user_id is None:
        return []
    query = (
        select(Application)
        .join(AssessorAssignment, AssessorAssignment.application_id == Application.id)
        .where(AssessorAssignment.assessor_id == viewer.user_id)
        .order_by(Application.id)
    )
    return list(session.scalars(query))


def assessors_of(session: Session, application_id: int) -> list[str]:
    """The usernames assigned to an application (for the certification body's view)."""
    return list(
        session.scalars(
            select(User.username)
            .join(AssessorAssignment, AssessorAssignment.assessor_id == User.id)
            .where(AssessorAssignment.application_id == application_id)
            .order_by(User.username)
        )
    )


def own_scores(
    session: Session, viewer: Viewer, application_id: int, stage_id: str
) -> list[ItemScore]:
    """The scores this assessor has given an application in a stage (to fill their form)."""
    if viewer.user_id is None:
        return []
    return list(
        session.scalars(
            select(ItemScore).where(
                ItemScore.application_id == application_id,
                ItemScore.assessor_id == viewer.user_id,
                ItemScore.stage_id == stage_id,
            )
        )
    )


def _stage(framework: Framework, stage_id: str) -> Stage:
    stage = next((s for s in framework.stages if s.id == stage_id), None)
    if stage is None or stage.kind not in SCORING_KINDS:
        scoring = [s.id for s in framework.stages if s.kind in SCORING_KINDS]
        raise InvalidInput(
            f"{stage_id!r} is not a scoring stage of {framework.id}; "
            f"scoring stages: {', '.join(scoring)}."
        )
    return stage


@dataclass(frozen=True)
class AssessorScore:
    value: int | float | str
    comment: str | None = None
    evidence: tuple[str, ...] = ()  # "document:<id>" or "indicator:<code>"


def _check_refs(session: Session, application: Application, refs: list[str]) -> None:
    for ref in refs:
        kind, _, key = ref.partition(":")
        if kind == "document" and key.isdigit():
            doc = session.get(EvidenceDocument, int(key))
            if doc is not None and doc.application_id == application.id:
                continue
        elif kind == "indicator" and key:
            cited = session.scalar(
                select(IndicatorCitation.id).where(
                    IndicatorCitation.application_id == application.id,
                    IndicatorCitation.indicator == key,
                )
            )
            if cited is not None:
                continue
        raise InvalidInput(
            f"Evidence reference {ref!r} names nothing in application {application.id} "
            "(use document:<id> or indicator:<code> of its evidence)."
        )


def score(
    session: Session,
    viewer: Viewer,
    application_id: int,
    stage_id: str,
    scores: Mapping[str, AssessorScore],
) -> list[ItemScore]:
    """An assigned assessor scores elements in a stage; all checked first, nothing partial."""
    application = visible_application(session, viewer, application_id)
    if viewer.user_id is None or not is_assigned(session, viewer, application.id):
        raise PermissionDenied(f"You are not assigned to application {application.id}.")
    if has_conflict(session, viewer.user_id, application.city_id):
        raise PermissionDenied(
            "You have declared a conflict of interest with this city and cannot score it."
        )
    if application.status == "decided":
        raise Conflict(
            f"Application {application.id} has been decided; scores change only after the "
            "certification body reopens it."
        )
    if application.status != "submitted":
        raise Conflict(f"Application {application.id} has not been submitted yet.")
    framework = framework_for(session, application)
    stage = _stage(framework, stage_id)
    values = validate_scores(
        framework,
        {k: Score(s.value, s.comment, viewer.label) for k, s in scores.items()},
    )
    for s in scores.values():
        _check_refs(session, application, list(s.evidence))
    existing = {
        row.element_id: row
        for row in session.scalars(
            select(ItemScore).where(
                ItemScore.application_id == application.id,
                ItemScore.assessor_id == viewer.user_id,
                ItemScore.stage_id == stage.id,
            )
        )
    }
    saved: list[ItemScore] = []
    changes: dict[str, dict[str, float | None]] = {}
    for element_id, value in values.items():
        row = existing.get(element_id)
        before = row.value if row else None
        if row is None:
            row = ItemScore(
                application_id=application.id,
                assessor_id=viewer.user_id,
                stage_id=stage.id,
                element_id=element_id,
                value=value,
            )
            session.add(row)
        row.value = value
        row.comment = (scores[element_id].comment or "").strip() or None
        row.evidence_refs = list(scores[element_id].evidence)
        saved.append(row)
        changes[element_id] = {"before": before, "after": value}
    session.flush()
    payload = {"application": application.id, "stage": stage.id, "scores": changes}
    ledger.append(session, viewer, "score", "certification_application", application.id, payload)
    audit.record(
        session,
        viewer,
        "score",
        "certification_application",
        application.id,
        {"stage": stage.id, "elements": len(changes)},
    )
    return saved


def record_site_visit(
    session: Session,
    viewer: Viewer,
    application_id: int,
    visited_on: dt.date,
    people_interviewed: list[str],
    findings: str,
) -> SiteVisit:
    application = visible_application(session, viewer, application_id)
    if not (is_assigned(session, viewer, application.id) or is_certification_body(viewer)):
        raise PermissionDenied(
            "Only an assigned assessor or the certification body records visits."
        )
    if application.status != "submitted":
        raise Conflict(f"Application {application.id} is not under assessment.")
    if not findings.strip():
        raise InvalidInput("A site visit record needs its findings.")
    visit = SiteVisit(
        application_id=application.id,
        visited_on=visited_on,
        people_interviewed=[p.strip() for p in people_interviewed if p.strip()],
        findings=findings.strip(),
        recorded_by=viewer.label,
    )
    session.add(visit)
    session.flush()
    audit.record(session, viewer, "site_visit.record", "site_visit", visit.id)
    return visit


def site_visits(session: Session, viewer: Viewer, application_id: int) -> list[SiteVisit]:
    application = visible_application(session, viewer, application_id)
    return list(
        session.scalars(
            select(SiteVisit)
            .where(SiteVisit.application_id == application.id)
            .order_by(SiteVisit.visited_on, SiteVisit.id)
        )
    )


# ---- the committee ----------------------------------------------------------------------------


def deciding_stage(framework: Framework, scored_stages: set[str]) -> Stage | None:
    """The stage whose scores decide: the first scoring stage with role `decides`, else the last
    scoring stage that has scores (an on-site stage that re-scores replaces the document review)."""
    scoring = [s for s in framework.stages if s.kind in SCORING_KINDS]
    deciding = next((s for s in scoring if s.role == "decides"), None)
    if deciding is not None:
        return deciding
    with_scores = [s for s in scoring if s.id in scored_stages]
    return with_scores[-1] if with_scores else (scoring[0] if scoring else None)


@dataclass
class CommitteeView:
    application_id: int
    stage: str | None
    elements: dict[str, CommitteeScore] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    assessors: int = 0
    maturity: MaturityResult | None = None
    points: PointsResult | None = None

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def certified(self) -> bool:
        if self.maturity is not None:
            return self.maturity.passed
        return self.points is not None and self.points.certified

    @property
    def result_label(self) -> str:
        if self.maturity is not None:
            return self.maturity.overall_level.code
        if self.points is not None:
            return self.points.grade.grade if self.points.grade else f"{self.points.total:g}"
        return ""

    @property
    def total(self) -> float:
        if self.maturity is not None:
            return self.maturity.average
        return self.points.total if self.points is not None else 0.0

    def decided_values(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for element_id, cs in self.elements.items():
            out[element_id] = float(cs.level.value) if cs.level is not None else cs.value
        return out


def committee_from_scores(
    framework: Framework,
    application_id: int,
    rows: list[tuple[str, str, float]],
    population: int | None = None,
) -> CommitteeView:
    """The committee view from (stage, element, value) rows: pure, so a round aggregates fast."""
    stages = {stage for stage, _, _ in rows}
    stage = deciding_stage(framework, stages)
    by_element: dict[str, list[Score]] = defaultdict(list)
    for row_stage, element_id, value in rows:
        if stage is not None and row_stage == stage.id:
            by_element[element_id].append(Score(value, "recorded"))
    view = CommitteeView(application_id=application_id, stage=stage.id if stage else None)
    view.assessors = max((len(v) for v in by_element.values()), default=0)
    for element in framework.scored_elements():
        given = by_element.get(element.id)
        if not given:
            view.missing.append(element.id)
            continue
        cs = committee_score(framework, element.id, given)
        view.elements[element.id] = cs
        if cs.disagreement:
            view.flagged.append(element.id)
    if view.complete:
        decided = view.decided_values()
        if isinstance(framework.scale, LevelScale):
            view.maturity = maturity_result(framework, decided)
        elif framework.kind == "points":
            view.points = points_result(framework, decided, population)
    return view


def score_rows(session: Session, application_id: int) -> list[tuple[str, str, float]]:
    """Every score of an application as (stage, element, value) rows."""
    return [
        (r.stage_id, r.element_id, r.value)
        for r in session.scalars(
            select(ItemScore).where(ItemScore.application_id == application_id)
        )
    ]


def committee_view(session: Session, viewer: Viewer, application_id: int) -> CommitteeView:
    require_body(viewer, "see the committee view")
    application = visible_application(session, viewer, application_id)
    framework = framework_for(session, application)
    return committee_from_scores(
        framework, application.id, score_rows(session, application.id), application.population
    )


def current_decision(session: Session, application_id: int) -> Decision | None:
    return session.scalar(
        select(Decision)
        .where(Decision.application_id == application_id, Decision.superseded_at.is_(None))
        .order_by(Decision.id.desc())
        .limit(1)
    )


def decide(session: Session, viewer: Viewer, application_id: int, reasons: str) -> Decision:
    """The certification decision from the committee view; refused while scores are missing."""
    require_body(viewer, "decide")
    application = visible_application(session, viewer, application_id)
    if application.status != "submitted":
        raise Conflict(
            f"Application {application.id} is {application.status}, not under assessment."
        )
    if not reasons.strip():
        raise InvalidInput("Give the reasons for the decision.")
    view = committee_view(session, viewer, application.id)
    if not view.complete:
        raise InvalidInput(
            f"{len(view.missing)} element(s) have no score in stage {view.stage}: "
            + ", ".join(view.missing[:10]),
            details={"errors": view.missing},
        )
    failing = [f.reason for f in view.maturity.failing] if view.maturity else []
    detail = {
        "stage": view.stage,
        "values": view.decided_values(),
        "flagged": view.flagged,
        "failing": failing,
        "percent": view.points.percent if view.points else None,
    }
    decision = Decision(
        application_id=application.id,
        certified=view.certified,
        result=view.result_label,
        total=view.total,
        reasons=reasons.strip(),
        detail=detail,
        decided_by=viewer.label,
    )
    session.add(decision)
    application.status = "decided"
    session.flush()
    payload = {
        "application": application.id,
        "certified": decision.certified,
        "result": decision.result,
        "total": decision.total,
        "reasons": decision.reasons,
        "values": detail["values"],
    }
    audit.record(session, viewer, "decision", "certification_application", application.id)
    ledger.append(session, viewer, "decision", "certification_application", application.id, payload)
    return decision


def reopen(session: Session, viewer: Viewer, application_id: int, reason: str) -> Application:
    """Reopen a decided application for rescoring: recorded, with a reason."""
    require_body(viewer, "reopen a decision")
    application = visible_application(session, viewer, application_id)
    decision = current_decision(session, application.id)
    if application.status != "decided" or decision is None:
        raise Conflict(f"Application {application.id} has no decision to reopen.")
    if not reason.strip():
        raise InvalidInput("Say why the decision is reopened.")
    active = session.scalar(
        select(CertificateRecord.number).where(
            CertificateRecord.application_id == application.id,
            CertificateRecord.status == "active",
        )
    )
    if active:
        raise Conflict(f"Certificate {active} is active; withdraw it before reopening.")
    decision.superseded_at = dt.datetime.now(dt.UTC)
    decision.reopen_reason = reason.strip()
    application.status = "submitted"
    session.flush()
    payload = {"application": application.id, "decision": decision.id, "reason": reason.strip()}
    audit.record(
        session, viewer, "decision.reopen", "certification_application", application.id, payload
    )
    ledger.append(
        session, viewer, "decision.reopen", "certification_application", application.id, payload
    )
    return application


def roadmap(session: Session, viewer: Viewer, application_id: int) -> list[RoadmapStep]:
    """The gap analysis: from the decision, or (for the body) the committee's current view."""
    application = visible_application(session, viewer, application_id)
    framework = framework_for(session, application)
    decision = current_decision(session, application.id)
    if decision is not None:
        values = {k: float(v) for k, v in decision.detail.get("values", {}).items()}
    elif is_certification_body(viewer):
        values = committee_view(session, viewer, application.id).decided_values()
    elif is_applicant(viewer, application):
        raise Conflict("The improvement roadmap is available once the application is decided.")
    else:
        raise PermissionDenied("The roadmap is for the applicant and the certification body.")
    return gap_analysis(framework, values)


def roadmap_markdown(steps: list[RoadmapStep], title: str) -> str:
    lines = [f"# Improvement roadmap: {title}", ""]
    lines.append("| # | item | group | now | next | what it takes | blocks certification |")
    lines.append("|---|---|---|---|---|---|---|")
    for n, step in enumerate(steps, start=1):
        gap = step.gap.replace("|", "/")
        lines.append(
            f"| {n} | {step.item_name} | {step.group_name} | {step.current} | "
            f"{step.next or '–'} | {gap} | {'yes' if step.blocking else ''} |"
        )
    return "\n".join(lines) + "\n"
