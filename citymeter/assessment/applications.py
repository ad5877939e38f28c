"""A city's application to a round: self-assessment, pre-filled values, completeness, submission.

Quantitative sub-indicators are pre-filled from CityMeter's own values with their provenance; the
coordinator may override one only with a reason, and the override is written to the ledger. A
submission is refused after the deadline or while anything is missing; at submission the cited
indicator values are frozen, so a later recomputation cannot change what was assessed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import APPLICATIONS_WRITE, Viewer
from citymeter.assessment import ledger
from citymeter.assessment.access import (
    applicant_application,
    is_certification_body,
)
from citymeter.assessment.models import (
    Application,
    CertificationRound,
    IndicatorCitation,
    SelfAssessmentEntry,
)
from citymeter.assessment.resolvers import IndicatorResolver, default_resolver
from citymeter.assessment.rounds import framework_of, get_round
from citymeter.assessment.schema import Framework, SubIndicator
from citymeter.assessment.scoring import Score, population_class, validate_scores
from citymeter.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from citymeter.places.models import Area, City


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def _city(session: Session, code: str) -> City:
    city = session.scalar(select(City).where(City.code == code))
    if city is None:
        raise NotFound(f"No city with code {code!r}.")
    return city


def round_of(session: Session, application: Application) -> CertificationRound:
    round_ = session.get(CertificationRound, application.round_id)
    assert round_ is not None  # foreign key
    return round_


def framework_for(session: Session, application: Application) -> Framework:
    return framework_of(round_of(session, application))


def apply(
    session: Session,
    viewer: Viewer,
    round_code: str,
    city_code: str,
    population: int | None = None,
    benchmark_consent: bool = False,
    now: dt.datetime | None = None,
) -> Application:
    """Start a city's application (a draft) in an open round."""
    round_ = get_round(session, round_code)
    city = _city(session, city_code)
    own_city = viewer.can(APPLICATIONS_WRITE) and viewer.city_id == city.id
    if not (own_city or is_certification_body(viewer)):
        raise PermissionDenied(f"Only {city.name}'s coordinator may apply for it.")
    when = _now(now)
    if round_.status != "open" or when > round_.closes_at:
        raise Conflict(f"Round {round_.code!r} is closed to applications.")
    if when < round_.opens_at:
        raise Conflict(f"Round {round_.code!r} opens on {round_.opens_at:%Y-%m-%d}.")
    framework = framework_of(round_)
    if population is None:
        population = session.scalar(
            select(Area.population).where(Area.city_id == city.id, Area.level == "city")
        )
    class_id = None
    if framework.eligibility.classes:
        if population is None:
            raise InvalidInput(
                f"{framework.name} classes applicants by population: give the population."
            )
        cls = population_class(framework, population)
        assert cls is not None
        if round_.classes and cls.id not in round_.classes:
            raise InvalidInput(
                f"A population of {population:,} is in class {cls.name!r}, "
                f"which round {round_.code!r} does not take."
            )
        class_id = cls.id
    exists = session.scalar(
        select(Application.id).where(
            Application.round_id == round_.id, Application.city_id == city.id
        )
    )
    if exists:
        raise Conflict(f"{city.name} has applied to round {round_.code!r} already ({exists}).")
    application = Application(
        round_id=round_.id,
        city_id=city.id,
        population=population,
        class_id=class_id,
        status="draft",
        benchmark_consent=benchmark_consent,
    )
    session.add(application)
    session.flush()
    audit.record(
        session,
        viewer,
        "application.create",
        "certification_application",
        application.id,
        {"round": round_.code, "city": city.code, "class": class_id},
    )
    return application


def _draft(session: Session, viewer: Viewer, application_id: int) -> Application:
    application = applicant_application(session, viewer, application_id)
    if application.status != "draft":
        raise Conflict(
            f"Application {application.id} was submitted; its self-assessment cannot change."
        )
    return application


def _entry(session: Session, application_id: int, element_id: str) -> SelfAssessmentEntry:
    entry = session.scalar(
        select(SelfAssessmentEntry).where(
            SelfAssessmentEntry.application_id == application_id,
            SelfAssessmentEntry.element_id == element_id,
        )
    )
    if entry is None:
        entry = SelfAssessmentEntry(application_id=application_id, element_id=element_id)
        session.add(entry)
    return entry


def entries(session: Session, application_id: int) -> dict[str, SelfAssessmentEntry]:
    rows = session.scalars(
        select(SelfAssessmentEntry).where(SelfAssessmentEntry.application_id == application_id)
    )
    return {row.element_id: row for row in rows}


@dataclass(frozen=True)
class Claim:
    value: int | float | str
    justification: str | None = None


def claim(
    session: Session, viewer: Viewer, application_id: int, claims: Mapping[str, Claim]
) -> dict[str, float]:
    """Record claimed levels or points; every claim is checked first, nothing saved on error."""
    application = _draft(session, viewer, application_id)
    framework = framework_for(session, application)
    values = validate_scores(
        framework,
        {k: Score(c.value, c.justification, "the applicant") for k, c in claims.items()},
    )
    for element_id, value in values.items():
        entry = _entry(session, application.id, element_id)
        entry.claimed = value
        entry.justification = (claims[element_id].justification or "").strip() or None
    session.flush()
    audit.record(
        session,
        viewer,
        "application.claim",
        "certification_application",
        application.id,
        {"elements": sorted(values)},
    )
    return values


def _quantitative(framework: Framework) -> list[SubIndicator]:
    return [
        s
        for item in framework.all_items()
        for s in item.sub_indicators
        if s.type == "quantitative" and s.indicator
    ]


def prefill(
    session: Session,
    viewer: Viewer,
    application_id: int,
    resolver: IndicatorResolver | None = None,
) -> dict[str, float | None]:
    """Fill quantitative sub-indicators from CityMeter's values (overrides are kept)."""
    application = _draft(session, viewer, application_id)
    framework = framework_for(session, application)
    source = resolver or default_resolver()
    filled: dict[str, float | None] = {}
    for sub in _quantitative(framework):
        assert sub.indicator is not None
        found = source.resolve(session, application.city_id, sub.indicator)
        entry = _entry(session, application.id, sub.id)
        if found is None:
            filled[sub.id] = None
            continue
        snapshot = {
            **found.provenance,
            "indicator": sub.indicator,
            "value": found.value,
            "unit": found.unit,
            "period": found.period,
        }
        if entry.value_origin == "override":
            entry.provenance = {**entry.provenance, "indicator_value": snapshot}
        else:
            entry.measured_value = found.value
            entry.measured_unit = found.unit
            entry.value_origin = "indicator"
            entry.provenance = snapshot
        filled[sub.id] = found.value
        cite(session, application, sub.id, sub.indicator)
    session.flush()
    return filled


def override(
    session: Session,
    viewer: Viewer,
    application_id: int,
    element_id: str,
    value: float,
    reason: str,
    unit: str | None = None,
) -> SelfAssessmentEntry:
    """Replace a pre-filled value; a reason is required and the override goes to the ledger."""
    application = _draft(session, viewer, application_id)
    framework = framework_for(session, application)
    subs = {s.id: s for s in _quantitative(framework)}
    if element_id not in subs:
        raise InvalidInput(
            f"{element_id!r} is not a quantitative sub-indicator of {framework.id}; "
            "only those carry a measured value."
        )
    if not reason.strip():
        raise InvalidInput(f"{element_id}: say why the value is overridden (a reason is required).")
    entry = _entry(session, application.id, element_id)
    before = entry.measured_value
    previous = dict(entry.provenance) if entry.value_origin == "indicator" else {}
    entry.measured_value = float(value)
    entry.measured_unit = unit or entry.measured_unit or subs[element_id].unit
    entry.value_origin = "override"
    entry.override_reason = reason.strip()
    entry.provenance = (
        {"kind": "override", "indicator_value": previous} if previous else {"kind": "override"}
    )
    session.flush()
    payload = {
        "application": application.id,
        "element": element_id,
        "before": before,
        "after": float(value),
        "reason": reason.strip(),
    }
    audit.record(session, viewer, "value.override", "self_assessment_entry", entry.id, payload)
    ledger.append(session, viewer, "value.override", "self_assessment_entry", entry.id, payload)
    return entry


def cite(
    session: Session, application: Application, element_id: str, indicator: str
) -> IndicatorCitation:
    """Cite an indicator value as evidence for an element (by reference until submission)."""
    found = session.scalar(
        select(IndicatorCitation).where(
            IndicatorCitation.application_id == application.id,
            IndicatorCitation.element_id == element_id,
            IndicatorCitation.indicator == indicator,
        )
    )
    if found is None:
        found = IndicatorCitation(
            application_id=application.id, element_id=element_id, indicator=indicator
        )
        session.add(found)
        session.flush()
    return found


def completeness(session: Session, application: Application) -> list[str]:
    """What is still missing before the application can be submitted (empty: complete)."""
    framework = framework_for(session, application)
    have = entries(session, application.id)
    missing: list[str] = []
    for element in framework.scored_elements():
        entry = have.get(element.id)
        if entry is None or entry.claimed is None:
            missing.append(f"{element.id} ({element.name}): no claimed score")
        elif framework.justification_required and not entry.justification:
            missing.append(f"{element.id} ({element.name}): no justification")
    for sub in _quantitative(framework):
        entry = have.get(sub.id)
        if entry is None or entry.measured_value is None:
            missing.append(
                f"{sub.id} ({sub.name}): no measured value (pre-fill it from indicator "
                f"{sub.indicator} or enter it with a reason)"
            )
    return missing


def _claims_digest(session: Session, application_id: int) -> str:
    rows = sorted(entries(session, application_id).values(), key=lambda e: e.element_id)
    text = "\n".join(
        f"{e.element_id}|{e.claimed!r}|{e.measured_value!r}|{e.value_origin}|{e.justification}"
        for e in rows
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def submit(
    session: Session,
    viewer: Viewer,
    application_id: int,
    resolver: IndicatorResolver | None = None,
    now: dt.datetime | None = None,
) -> Application:
    """Submit: refused after the deadline or while incomplete; freezes cited indicator values."""
    application = _draft(session, viewer, application_id)
    round_ = round_of(session, application)
    when = _now(now)
    if when > round_.closes_at:
        raise Conflict(
            f"The deadline of round {round_.code!r} was {round_.closes_at:%Y-%m-%d %H:%M} UTC; "
            "a submission after it is refused."
        )
    missing = completeness(session, application)
    if missing:
        raise InvalidInput(
            f"The application is not complete: {len(missing)} thing(s) missing, e.g. "
            + "; ".join(missing[:3]),
            details={"errors": missing},
        )
    source = resolver or default_resolver()
    citations = session.scalars(
        select(IndicatorCitation).where(IndicatorCitation.application_id == application.id)
    )
    for citation in citations:
        found = source.resolve(session, application.city_id, citation.indicator)
        if found is not None:
            citation.value = found.value
            citation.unit = found.unit
            citation.period = found.period
            citation.provenance = dict(found.provenance)
        citation.frozen_at = when
    application.status = "submitted"
    application.submitted_at = when
    session.flush()
    payload = {
        "application": application.id,
        "claims_sha256": _claims_digest(session, application.id),
    }
    audit.record(session, viewer, "application.submit", "certification_application", application.id)
    ledger.append(
        session, viewer, "application.submit", "certification_application", application.id, payload
    )
    return application


def list_applications(
    session: Session, viewer: Viewer, round_code: str | None = None
) -> list[Application]:
    """The applications this viewer may see."""
    from citymeter.assessment.access import can_see

    query = select(Application).order_by(Application.id)
    if round_code is not None:
        query = query.where(Application.round_id == get_round(session, round_code).id)
    return [a for a in session.scalars(query) if can_see(session, viewer, a)]
