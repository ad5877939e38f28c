"""Whole rounds through the services: apply, self-assess, submit, assign, score, decide, certify.

The worked examples of the issue, run end to end rather than only through the pure functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.assessment import applications, assessing, certificates, ledger, rounds
from citymeter.assessment.applications import Claim
from citymeter.assessment.assessing import AssessorScore
from citymeter.assessment.models import Application, Decision, ItemScore
from citymeter.errors import Conflict, InvalidInput, PermissionDenied
from tests.assessment.conftest import NOW, Body, TableResolver, make_city, open_test_round

KITEMARK = "iso37106-kitemark-style"
KOREAN = "kr-smart-city-certification-style"


def _levels(item_ids: list[str], counts: list[tuple[int, int]]) -> dict[str, int]:
    assert sum(n for _, n in counts) == len(item_ids)
    values = [level for level, n in counts for _ in range(n)]
    return dict(zip(item_ids, values, strict=True))


def _run_to_decision(
    db: Session,
    body: Body,
    city_code: str,
    population: int,
    decided: dict[str, float],
    resolver: TableResolver | None = None,
) -> Decision:
    """Apply, claim what the committee will decide, submit, assign all, score, decide."""
    coordinator = body.coordinator(db, city_code)
    application = applications.apply(db, coordinator, "R2026", city_code, population, now=NOW)
    if resolver is not None:
        applications.prefill(db, coordinator, application.id, resolver)
    applications.claim(
        db,
        coordinator,
        application.id,
        {k: Claim(v, "See the evidence pack.") for k, v in decided.items()},
    )
    applications.submit(db, coordinator, application.id, resolver, now=NOW)
    framework = applications.framework_for(db, application)
    stage = next(s.id for s in framework.stages if s.kind == "document_review")
    for assessor in body.assessors:
        assessing.assign(db, body.admin, application.id, assessor.username)
        assessing.score(
            db,
            assessor,
            application.id,
            stage,
            {k: AssessorScore(v, "Checked against the documents.") for k, v in decided.items()},
        )
    return assessing.decide(db, body.admin, application.id, "Committee meeting of 2 March.")


def test_kitemark_5_v_14_iv_3_iii_is_level_iv_and_certified(
    db: Session, body: Callable[[int], Body]
) -> None:
    team = body(3)
    make_city(db, "sejong", 390_000)
    open_test_round(db, team.admin, KITEMARK)
    framework = rounds.framework_of(rounds.get_round(db, "R2026"))
    items = [i.id for i in framework.all_items()]
    decision = _run_to_decision(
        db, team, "sejong", 390_000, _levels(items, [(5, 5), (4, 14), (3, 3)])
    )
    assert (decision.certified, decision.result) == (True, "IV")
    assert decision.total == pytest.approx((5 * 5 + 14 * 4 + 3 * 3) / 22)
    certificate = certificates.issue(
        db, team.admin, decision.application_id, issued_on=dt.date(2026, 3, 10)
    )
    assert certificate.expires_on == dt.date(2029, 3, 10)
    public = certificates.verify(db, certificate.number, today=dt.date(2026, 4, 1))
    assert (public.status, public.result, public.next_surveillance) == (
        "valid",
        "IV",
        dt.date(2027, 3, 10),
    )
    assert ledger.verify(db).intact


def test_kitemark_one_item_at_ii_fails_whatever_the_average(
    db: Session, body: Callable[[int], Body]
) -> None:
    team = body(3)
    make_city(db, "sejong", 390_000)
    open_test_round(db, team.admin, KITEMARK)
    framework = rounds.framework_of(rounds.get_round(db, "R2026"))
    items = [i.id for i in framework.all_items()]
    decision = _run_to_decision(
        db, team, "sejong", 390_000, _levels(items, [(5, 10), (4, 11), (2, 1)])
    )
    assert decision.certified is False
    assert decision.result == "IV"  # the average is high; the gate still fails it
    assert len(decision.detail["failing"]) == 1
    with pytest.raises(Conflict, match="not certified"):
        certificates.issue(db, team.admin, decision.application_id)


def _korean_points(total: float, framework_subs: list[tuple[str, float]]) -> dict[str, float]:
    """Full points everywhere, then take points off sub-indicators until `total` remains."""
    points = dict(framework_subs)
    to_remove = sum(points.values()) - total
    for sub_id, top in framework_subs:
        cut = min(top, to_remove)
        points[sub_id] = top - cut
        to_remove -= cut
        if to_remove <= 0:
            break
    return points


@pytest.mark.parametrize(("total", "certified"), [(1399, False), (1400, True)])
def test_korean_points_line_at_1400_of_2000(
    db: Session, body: Callable[[int], Body], total: float, certified: bool
) -> None:
    team = body(9)
    make_city(db, "gimhae", 530_000)
    open_test_round(db, team.admin, KOREAN)
    framework = rounds.framework_of(rounds.get_round(db, "R2026"))
    subs = [(e.id, float(e.max_points or 0)) for e in framework.scored_elements()]
    quantitative = {
        s.indicator: 50.0 for i in framework.all_items() for s in i.sub_indicators if s.indicator
    }
    decided = _korean_points(total, subs)
    decision = _run_to_decision(
        db,
        team,
        "gimhae",
        530_000,
        decided,
        TableResolver(quantitative),  # type: ignore[arg-type]
    )
    assert decision.total == pytest.approx(total)
    assert decision.certified is certified
    application = db.get(Application, decision.application_id)
    assert application is not None and application.class_id == "large"
    assert db.scalar(select(func.count(ItemScore.id))) == 9 * 53


def test_scores_are_locked_after_the_decision_until_a_recorded_reopening(
    db: Session, body: Callable[[int], Body]
) -> None:
    team = body(3)
    make_city(db, "sejong", 390_000)
    open_test_round(db, team.admin, KITEMARK)
    framework = rounds.framework_of(rounds.get_round(db, "R2026"))
    items = [i.id for i in framework.all_items()]
    decision = _run_to_decision(db, team, "sejong", 390_000, _levels(items, [(3, 22)]))
    change = {items[0]: AssessorScore(5, "On reflection, excellent.")}
    with pytest.raises(Conflict, match="reopens"):
        assessing.score(db, team.assessors[0], decision.application_id, "stage-1", change)
    assessing.reopen(db, team.admin, decision.application_id, "Appeal upheld on item 1.")
    assessing.score(db, team.assessors[0], decision.application_id, "stage-1", change)
    actions = [
        e.action
        for e in ledger.entries_for(db, "certification_application", decision.application_id)
    ]
    assert actions[-3:] == ["decision", "decision.reopen", "score"]
    assert ledger.verify(db).intact


def test_assessor_with_a_declared_conflict_is_neither_assigned_nor_scores(
    db: Session, body: Callable[[int], Body]
) -> None:
    team = body(2)
    make_city(db, "sejong", 390_000)
    open_test_round(db, team.admin, KITEMARK)
    coordinator = team.coordinator(db, "sejong")
    application = applications.apply(db, coordinator, "R2026", "sejong", now=NOW)
    framework = applications.framework_for(db, application)
    applications.claim(
        db,
        coordinator,
        application.id,
        {i.id: Claim("III", "Plan.") for i in framework.all_items()},
    )
    applications.submit(db, coordinator, application.id, now=NOW)
    first, second = team.assessors
    assessing.declare_conflict(db, first, "sejong", "I advised the city in 2025.")
    with pytest.raises(Conflict, match="conflict of interest"):
        assessing.assign(db, team.admin, application.id, first.username)
    # A conflict declared after assignment stops the scoring too.
    assessing.assign(db, team.admin, application.id, second.username)
    assessing.declare_conflict(db, second, "sejong", "My sister works for the city.")
    with pytest.raises(PermissionDenied, match="conflict"):
        assessing.score(
            db, second, application.id, "stage-1", {"city-vision": AssessorScore("III", "ok")}
        )
    assert db.scalar(select(func.count(ItemScore.id))) == 0


def test_bad_scores_are_refused_and_nothing_partial_is_saved(
    db: Session, body: Callable[[int], Body]
) -> None:
    team = body(1)
    make_city(db, "sejong", 390_000)
    open_test_round(db, team.admin, KITEMARK)
    coordinator = team.coordinator(db, "sejong")
    application = applications.apply(db, coordinator, "R2026", "sejong", now=NOW)
    framework = applications.framework_for(db, application)
    items = [i.id for i in framework.all_items()]
    applications.claim(db, coordinator, application.id, {i: Claim(3, "Plan.") for i in items})
    applications.submit(db, coordinator, application.id, now=NOW)
    assessing.assign(db, team.admin, application.id, team.assessors[0].username)
    before = ledger.verify(db).entries
    with pytest.raises(InvalidInput, match="not a level of the scale"):
        assessing.score(
            db,
            team.assessors[0],
            application.id,
            "stage-1",
            {items[0]: AssessorScore(3, "fine"), items[1]: AssessorScore(6, "too high")},
        )
    with pytest.raises(InvalidInput, match="needs a justification"):
        assessing.score(
            db, team.assessors[0], application.id, "stage-1", {items[0]: AssessorScore(3)}
        )
    with pytest.raises(InvalidInput, match="not a scoring stage"):
        assessing.score(
            db, team.assessors[0], application.id, "decision", {items[0]: AssessorScore(3, "x")}
        )
    assert db.scalar(select(func.count(ItemScore.id))) == 0
    assert ledger.verify(db).entries == before
    with pytest.raises(InvalidInput, match="have no score"):
        assessing.decide(db, team.admin, application.id, "Too early.")
