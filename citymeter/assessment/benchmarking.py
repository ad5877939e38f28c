"""Benchmarking within a round or class: ranking, the distribution per item, group averages (the
radar chart's data) and each city's position against the class median.

The certification body sees every assessed city, from the committee's scores; the public sees only
decided cities that consented to be compared.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.assessment.access import is_certification_body
from citymeter.assessment.assessing import CommitteeView, committee_from_scores
from citymeter.assessment.models import Application, Decision, ItemScore
from citymeter.assessment.rounds import framework_of, get_round
from citymeter.assessment.schema import Framework, Item, LevelScale, SubIndicator
from citymeter.assessment.scoring import CityStanding, rank_cities
from citymeter.places.models import City


@dataclass(frozen=True)
class Spread:
    element_id: str
    count: int
    minimum: float
    median: float
    maximum: float
    mean: float


@dataclass(frozen=True)
class CityRow:
    rank: int
    city: str
    class_id: str | None
    result: str
    total: float
    certified: bool
    groups: dict[str, float]  # group id → average level or share of points (%): the radar
    versus_median: dict[str, float]  # element id → value minus the class median


@dataclass
class Benchmark:
    round_code: str
    framework: str
    class_id: str | None
    audience: str  # "certification body" or "public"
    cities: list[CityRow] = field(default_factory=list)
    items: list[Spread] = field(default_factory=list)


def _values(framework: Framework, view: CommitteeView) -> dict[str, float]:
    return view.decided_values()


def group_values(framework: Framework, values: dict[str, float]) -> dict[str, float]:
    """Per top-level group: the average item level, or the share of the points (%)."""
    out: dict[str, float] = {}
    for group in framework.groups:
        items = list(group.all_items())
        if isinstance(framework.scale, LevelScale):
            out[group.id] = statistics.fmean(values[i.id] for i in items)
            continue
        earned = 0.0
        possible = 0.0
        for item in items:
            elements: list[Item | SubIndicator] = (
                list(item.sub_indicators) if item.sub_indicators else [item]
            )
            for element in elements:
                earned += values[element.id]
                possible += element.max_points or 0.0
        out[group.id] = 100 * earned / possible if possible else 0.0
    return out


def aggregate_round(
    session: Session, round_id: int, framework: Framework, class_id: str | None = None
) -> dict[int, CommitteeView]:
    """Committee views of every submitted or decided application, from one query of scores."""
    query = select(Application).where(
        Application.round_id == round_id, Application.status.in_(("submitted", "decided"))
    )
    if class_id is not None:
        query = query.where(Application.class_id == class_id)
    apps = {a.id: a for a in session.scalars(query)}
    rows: dict[int, list[tuple[str, str, float]]] = defaultdict(list)
    if apps:
        result = session.execute(
            select(
                ItemScore.application_id, ItemScore.stage_id, ItemScore.element_id, ItemScore.value
            )
            .join(Application, Application.id == ItemScore.application_id)
            .where(Application.round_id == round_id)
        )
        for app_id, stage, element, value in result:
            if app_id in apps:
                rows[app_id].append((stage, element, value))
    return {
        app_id: committee_from_scores(framework, app_id, rows[app_id], apps[app_id].population)
        for app_id in apps
    }


def benchmark(
    session: Session, viewer: Viewer, round_code: str, class_id: str | None = None
) -> Benchmark:
    round_ = get_round(session, round_code)
    framework = framework_of(round_)
    body = is_certification_body(viewer)
    views = aggregate_round(session, round_.id, framework, class_id)
    apps = {
        a.id: a for a in session.scalars(select(Application).where(Application.id.in_(list(views))))
    }
    decided = {
        d.application_id
        for d in session.scalars(
            select(Decision).where(
                Decision.application_id.in_(list(views)), Decision.superseded_at.is_(None)
            )
        )
    }
    shown = [
        app_id
        for app_id, view in views.items()
        if view.complete and (body or (app_id in decided and apps[app_id].benchmark_consent))
    ]
    names = {
        c.id: c.name
        for c in session.scalars(select(City).where(City.id.in_([apps[a].city_id for a in shown])))
    }
    values = {a: _values(framework, views[a]) for a in shown}
    # Medians per class (classes are evaluated separately).
    by_class: dict[str | None, list[int]] = defaultdict(list)
    for a in shown:
        by_class[apps[a].class_id].append(a)
    medians: dict[str | None, dict[str, float]] = {}
    for cls, members in by_class.items():
        medians[cls] = {
            e.id: float(statistics.median(values[a][e.id] for a in members))
            for e in framework.scored_elements()
        }
    standings = []
    for a in shown:
        view = views[a]
        overall = float(view.maturity.overall_level.value) if view.maturity else None
        standings.append(CityStanding(str(a), overall, view.total))
    result = Benchmark(
        round_code=round_.code,
        framework=framework.id,
        class_id=class_id,
        audience="certification body" if body else "public",
    )
    for ranked in rank_cities(standings):
        a = int(ranked.standing.city)
        view = views[a]
        median = medians[apps[a].class_id]
        result.cities.append(
            CityRow(
                rank=ranked.rank,
                city=names.get(apps[a].city_id, str(apps[a].city_id)),
                class_id=apps[a].class_id,
                result=view.result_label,
                total=view.total,
                certified=view.certified,
                groups=group_values(framework, values[a]),
                versus_median={k: values[a][k] - median[k] for k in values[a]},
            )
        )
    for element in framework.scored_elements():
        column = [values[a][element.id] for a in shown]
        if column:
            result.items.append(
                Spread(
                    element.id,
                    len(column),
                    min(column),
                    float(statistics.median(column)),
                    max(column),
                    statistics.fmean(column),
                )
            )
    return result


def as_dict(bench: Benchmark) -> dict[str, Any]:
    return asdict(bench)
