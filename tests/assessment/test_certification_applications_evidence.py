"""Applications, pre-fill with provenance, overrides, submission rules, evidence and access."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from citymeter.assessment import applications, assessing, evidence, ledger, rounds
from citymeter.assessment.applications import Claim
from citymeter.assessment.evidence import Upload
from citymeter.assessment.models import (
    EvidenceVersion,
    IndicatorCitation,
    LedgerEntry,
    SelfAssessmentEntry,
)
from citymeter.assessment.resolvers import ObservationResolver
from citymeter.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, PermissionDenied
from citymeter.observations import keys
from citymeter.observations.models import Metric, Observation
from citymeter.places import service as places
from tests.assessment.conftest import NOW, Body, make_city, open_test_round

KOREAN = "kr-smart-city-certification-style"
KITEMARK = "iso37106-kitemark-style"
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _observe(db: Session, city_code: str, metric: str, value: float, year: int) -> Observation:
    city = places.get_city(db, city_code)
    root = places.root_area_of(db, city)
    assert root is not None
    found = db.scalar(select(Metric).where(Metric.code == metric))
    if found is None:
        found = Metric(code=metric, name=metric, unit="%")
        db.add(found)
        db.flush()
    [period_id] = keys.period_ids(db.connection(), [keys.PeriodKey("year", dt.date(year, 1, 1))])
    [whole] = keys.breakdown_ids(db.connection(), [keys.BreakdownKey("total", "total", "")])
    obs = Observation(
        metric_id=found.id,
        area_id=root.id,
        period_id=period_id,
        breakdown_id=whole,
        value=value,
        unit="%",
    )
    db.add(obs)
    db.flush()
    return obs


def test_prefill_from_observations_keeps_provenance_and_freezes_at_submission(
    db: Session, body: Callable[[int], Body]
) -> None:
    team = body(1)
    make_city(db, "gimhae", 530_000)
    open_test_round(db, team.admin, KOREAN)
    _observe(db, "gimhae", "kr.smart_city_budget_share", 2.1, 2024)
    newest = _observe(db, "gimhae", "kr.smart_city_budget_share", 2.6, 2025)
    coordinator = team.coordinator(db, "gimhae")
    application = applications.apply(db, coordinator, "R2026", "gimhae", now=NOW)
    filled = applications.prefill(db, coordinator, application.id, ObservationResolver())
    assert filled["A1-5"] == 2.6
    assert filled["A2-1"] is None  # no data for it: the coordinator enters it with a reason
    entry = applications.entries(db, application.id)["A1-5"]
    assert entry.value_origin == "indicator"
    assert entry.provenance["observation_id"] == newest.id
    assert entry.provenance["period"] == "year 2025-01-01"

    with pytest.raises(InvalidInput, match="reason is required"):
        applications.override(db, coordinator, application.id, "A1-5", 3.0, "  ")
    applications.override(db, coordinator, application.id, "A1-5", 3.0, "Audited budget.")
    assert entry.measured_value == 3.0
    assert entry.provenance["indicator_value"]["value"] == 2.6  # what it replaced stays visible
    last = ledger.entries_for(db, "self_assessment_entry", entry.id)[-1]
    assert ledger.payload_of(last)["reason"] == "Audited budget."

    missing = applications.completeness(db, application)
    assert any("A2-1" in line and "measured value" in line for line in missing)
    with pytest.raises(InvalidInput, match="not complete"):
        applications.submit(db, coordinator, application.id, ObservationResolver(), now=NOW)

    framework = applications.framework_for(db, application)
    for sub in [s for i in framework.all_items() for s in i.sub_indicators if s.indicator]:
        if sub.id != "A1-5":
            applications.override(db, coordinator, application.id, sub.id, 1.0, "From the ledger.")
    applications.claim(
        db,
        coordinator,
        application.id,
        {e.id: Claim(e.max_points or 0, "See plan.") for e in framework.scored_elements()},
    )
    applications.submit(db, coordinator, application.id, ObservationResolver(), now=NOW)
    citation = db.scalar(select(IndicatorCitation).where(IndicatorCitation.element_id == "A1-5"))
    assert citation is not None and citation.frozen_at is not None and citation.value == 2.6
    # A later value does not change what was cited, and the self-assessment is closed.
    _observe(db, "gimhae", "kr.smart_city_budget_share", 9.9, 2026)
    db.refresh(citation)
    assert citation.value == 2.6
    with pytest.raises(Conflict, match="submitted"):
        applications.claim(db, coordinator, application.id, {"A1-5": Claim(10, "x")})


def test_submission_after_the_deadline_is_refused(db: Session, body: Callable[[int], Body]) -> None:
    team = body(1)
    make_city(db, "sejong", 390_000)
    open_test_round(db, team.admin, KITEMARK)
    coordinator = team.coordinator(db, "sejong")
    application = applications.apply(db, coordinator, "R2026", "sejong", now=NOW)
    framework = applications.framework_for(db, application)
    applications.claim(
        db, coordinator, application.id, {i.id: Claim("III", "x") for i in framework.all_items()}
    )
    late = NOW + dt.timedelta(days=31)
    with pytest.raises(Conflict, match="after it is refused"):
        applications.submit(db, coordinator, application.id, now=late)
    assert applications.entries(db, application.id)["city-vision"].claimed == 3
    db.refresh(application)
    assert application.status == "draft"


def test_claims_are_checked_all_at_once(db: Session, body: Callable[[int], Body]) -> None:
    team = body(1)
    make_city(db, "sejong", 390_000)
    open_test_round(db, team.admin, KITEMARK)
    coordinator = team.coordinator(db, "sejong")
    application = applications.apply(db, coordinator, "R2026", "sejong", now=NOW)
    with pytest.raises(InvalidInput) as caught:
        applications.claim(
            db,
            coordinator,
            application.id,
            {
                "city-vision": Claim("III", "ok"),
                "roadmap": Claim("VI", "x"),
                "leadership": Claim(3),
            },
        )
    assert len(caught.value.details["errors"]) == 2
    assert db.scalar(select(func.count(SelfAssessmentEntry.id))) == 0


def test_evidence_is_checked_by_content_versioned_and_private(
    db: Session, body: Callable[[int], Body], tmp_path: Path
) -> None:
    team = body(2)
    make_city(db, "sejong", 390_000)
    make_city(db, "other", 100_000)
    open_test_round(db, team.admin, KITEMARK)
    coordinator = team.coordinator(db, "sejong")
    outsider = team.coordinator(db, "other")
    application = applications.apply(db, coordinator, "R2026", "sejong", now=NOW)
    data = tmp_path / "data"
    first = evidence.upload(
        db,
        coordinator,
        application.id,
        "Smart city plan",
        Upload("plan.pdf", PDF),
        data,
        1000,
        ["city-vision"],
    )
    assert (first.version, first.content_type) == (1, "application/pdf")
    second = evidence.upload(
        db,
        coordinator,
        application.id,
        "",
        Upload("plan-v2.docx", _docx()),
        data,
        1000,
        document_id=first.document_id,
    )
    assert second.version == 2 and "wordprocessingml" in second.content_type
    assert evidence.storage_path(data, second.sha256).is_file()

    with pytest.raises(InvalidInput, match="checked by content"):
        evidence.upload(
            db,
            coordinator,
            application.id,
            "Fake",
            Upload("fake.pdf", b"MZ\x90\x00exe"),
            data,
            1000,
        )
    with pytest.raises(PayloadTooLarge, match="at most"):
        evidence.upload(
            db, coordinator, application.id, "Big", Upload("big.pdf", PDF + b"0" * 2000), data, 1000
        )
    assert db.scalar(select(func.count(EvidenceVersion.id))) == 2

    version, content = evidence.open_version(db, coordinator, first.id, data)
    assert content == PDF and version.sha256 == first.sha256
    for stranger in (outsider, team.assessors[0]):
        with pytest.raises(NotFound):
            evidence.open_version(db, stranger, first.id, data)
    with pytest.raises(PermissionDenied):
        applications.apply(db, outsider, "R2026", "sejong", now=NOW)
    # Once assigned, the assessor may read it; assessors see only their assignments.
    framework = applications.framework_for(db, application)
    applications.claim(
        db, coordinator, application.id, {i.id: Claim("III", "x") for i in framework.all_items()}
    )
    applications.submit(db, coordinator, application.id, now=NOW)
    assessing.assign(db, team.admin, application.id, team.assessors[0].username)
    assert evidence.open_version(db, team.assessors[0], first.id, data)[1] == PDF
    assert [a.id for a in assessing.assignments(db, team.assessors[0])] == [application.id]
    assert assessing.assignments(db, team.assessors[1]) == []
    assert applications.list_applications(db, team.assessors[1]) == []
    assert applications.list_applications(db, outsider) == []


def test_a_round_whose_framework_weights_do_not_add_up_is_refused(
    db: Session, body: Callable[[int], Body]
) -> None:
    team = body(1)
    broken = rounds.framework_text(KITEMARK).replace("method: mean", "method: weighted_sum", 1)
    with pytest.raises(InvalidInput, match="weight"):
        rounds.open_round(
            db,
            team.admin,
            rounds.RoundSpec("BAD", "Bad", broken, NOW, NOW + dt.timedelta(days=1)),
        )
    assert rounds.list_rounds(db) == []
    with pytest.raises(PermissionDenied):
        rounds.open_round(
            db,
            team.assessors[0],
            rounds.RoundSpec("X", "X", rounds.framework_text(KITEMARK), NOW, NOW),
        )


def test_tampering_with_a_ledger_row_is_detected_and_named(
    db: Session, body: Callable[[int], Body]
) -> None:
    team = body(1)
    make_city(db, "sejong", 390_000)
    open_test_round(db, team.admin, KITEMARK)
    coordinator = team.coordinator(db, "sejong")
    application = applications.apply(db, coordinator, "R2026", "sejong", now=NOW)
    framework = applications.framework_for(db, application)
    applications.claim(
        db, coordinator, application.id, {i.id: Claim("III", "x") for i in framework.all_items()}
    )
    applications.submit(db, coordinator, application.id, now=NOW)
    assessing.assign(db, team.admin, application.id, team.assessors[0].username)
    assessing.score(
        db,
        team.assessors[0],
        application.id,
        "stage-1",
        {i.id: assessing.AssessorScore("III", "ok") for i in framework.all_items()},
    )
    assert ledger.verify(db).intact
    target = ledger.entries_for(db, "certification_application", application.id)[-1]
    db.execute(
        text("UPDATE assessment_ledger SET payload = :p WHERE id = :id"),
        {"p": target.payload.replace('"after":3.0', '"after":5.0'), "id": target.id},
    )
    db.expire_all()
    check = ledger.verify(db)
    assert not check.intact
    assert check.problems[0].startswith(f"entry {target.id} ")
    assert "changed" in check.problems[0]
    db.execute(text("DELETE FROM assessment_ledger WHERE seq = 1"))
    db.expire_all()
    assert any("missing" in p for p in ledger.verify(db).problems)
    assert db.scalar(select(func.count(LedgerEntry.id))) >= 3
