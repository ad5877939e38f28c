"""The scoring rules a framework implies, as pure functions: no database, no clock, no I/O.

Assessors' scores become a committee score per element; decided item levels or points become a
result (overall level and pass/fail, or total, grade and certified); KPI values become benchmark
points; a result becomes a gap analysis (an improvement roadmap) and results become a ranking.
Bad input — a score outside the scale, a missing justification, an unknown or missing element —
raises InvalidInput naming the element.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from citymeter.assessment.schema import (
    POINTS_TOLERANCE,
    BenchmarkScale,
    CommitteeRule,
    Framework,
    GradeBand,
    Group,
    Item,
    Level,
    LevelScale,
    PopulationClass,
    SubIndicator,
)
from citymeter.errors import InvalidInput

# ---- scores and the committee ---------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """One person's score for one element: a level (int or code such as "IV") or points."""

    value: int | float | str
    justification: str | None = None
    assessor: str | None = None


@dataclass(frozen=True)
class CommitteeScore:
    element_id: str
    value: float
    level: Level | None  # maturity frameworks: the value as a level, by the overall-level rule
    method: CommitteeRule
    scores: tuple[float, ...]
    spread: float
    disagreement: bool


def _element(framework: Framework, element_id: str) -> Item | SubIndicator:
    for element in framework.scored_elements():
        if element.id == element_id:
            return element
    raise InvalidInput(
        f"{element_id!r} is not a scored element of {framework.id} "
        "(score the sub-indicators where an item has them)."
    )


def _scored(item: Item) -> list[Item | SubIndicator]:
    return list(item.sub_indicators) if item.sub_indicators else [item]


def _element_max(framework: Framework, element: Item | SubIndicator) -> float:
    if isinstance(framework.scale, LevelScale):
        return float(framework.scale.levels[-1].value)
    if isinstance(framework.scale, BenchmarkScale):
        return float(framework.scale.max_points)
    return float(element.max_points or 0.0)


def _numeric(framework: Framework, element: Item | SubIndicator, value: int | float | str) -> float:
    """A score's value on the framework's scale, or InvalidInput naming the element."""
    scale = framework.scale
    if isinstance(value, bool):
        raise InvalidInput(f"{element.id} ({element.name}): {value!r} is not a score.")
    if isinstance(scale, LevelScale):
        by_code = {lv.code: lv.value for lv in scale.levels}
        values = {lv.value for lv in scale.levels}
        if isinstance(value, str) and value.strip() in by_code:
            return float(by_code[value.strip()])
        if isinstance(value, int | float) and float(value).is_integer() and int(value) in values:
            return float(value)
        codes = ", ".join(lv.code for lv in scale.levels)
        raise InvalidInput(
            f"{element.id} ({element.name}): {value!r} is not a level of the scale ({codes})."
        )
    if isinstance(value, str):
        raise InvalidInput(f"{element.id} ({element.name}): {value!r} is not a number of points.")
    number = float(value)
    if isinstance(scale, BenchmarkScale):
        allowed = sorted({band.points for band in scale.bands})
        if number not in allowed:
            raise InvalidInput(
                f"{element.id} ({element.name}): {value!r} is not a benchmark score "
                f"(allowed: {', '.join(map(str, allowed))})."
            )
        return number
    top = _element_max(framework, element)
    if not math.isfinite(number) or number < 0 or number > top + POINTS_TOLERANCE:
        raise InvalidInput(
            f"{element.id} ({element.name}): {value!r} points is outside the scale 0-{top:g}."
        )
    return number


def score_value(framework: Framework, element_id: str, score: Score) -> float:
    """Check one person's score (scale, justification) and return its numeric value."""
    element = _element(framework, element_id)
    value = _numeric(framework, element, score.value)
    if framework.justification_required and not (score.justification or "").strip():
        who = f" by {score.assessor}" if score.assessor else ""
        raise InvalidInput(
            f"{element.id} ({element.name}): the score{who} needs a justification; "
            f"{framework.name} requires one for every score."
        )
    return value


def validate_scores(framework: Framework, scores: Mapping[str, Score]) -> dict[str, float]:
    """A whole sheet (e.g. a self-assessment): every problem is reported at once."""
    values: dict[str, float] = {}
    problems: list[str] = []
    for element_id, score in scores.items():
        try:
            values[element_id] = score_value(framework, element_id, score)
        except InvalidInput as exc:
            problems.append(exc.message)
    if problems:
        raise InvalidInput(
            f"{len(problems)} score(s) cannot be accepted: " + "; ".join(problems[:3]),
            details={"errors": problems},
        )
    return values


def aggregate(values: Sequence[float], method: CommitteeRule, trim_share: float = 0.0) -> float:
    """Mean, median or trimmed mean (floor(n × trim_share) values cut from each end)."""
    if not values:
        raise InvalidInput("There are no scores to aggregate.")
    if method == "mean":
        return statistics.fmean(values)
    if method == "median":
        return float(statistics.median(values))
    cut = math.floor(len(values) * trim_share)
    kept = sorted(values)[cut : len(values) - cut] if cut else sorted(values)
    return statistics.fmean(kept)


def _to_level(scale: LevelScale, value: float, rule: str) -> Level:
    # "min" applies to a set of levels; for one value it rounds down like "floor".
    rounded = math.floor(value + 0.5) if rule == "round" else math.floor(value + 1e-9)
    lowest, highest = scale.levels[0].value, scale.levels[-1].value
    rounded = min(max(rounded, lowest), highest)
    return next(lv for lv in scale.levels if lv.value == rounded)


def committee_score(
    framework: Framework, element_id: str, scores: Sequence[Score]
) -> CommitteeScore:
    """The committee's score for one element, by the framework's rule, with a disagreement flag."""
    element = _element(framework, element_id)
    if not scores:
        raise InvalidInput(f"{element.id} ({element.name}): no assessor has scored it yet.")
    values = tuple(score_value(framework, element_id, s) for s in scores)
    rule = framework.committee
    value = aggregate(values, rule.aggregation, rule.trim_share)
    spread = max(values) - min(values)
    threshold = rule.disagreement_threshold
    if rule.disagreement_unit == "percent_of_max":
        threshold = threshold * _element_max(framework, element) / 100
    level = None
    if isinstance(framework.scale, LevelScale):
        if framework.aggregation.overall_level == "min":
            level = _to_level(framework.scale, min(values), "floor")
        else:
            level = _to_level(framework.scale, value, framework.aggregation.overall_level)
    return CommitteeScore(
        element_id=element.id,
        value=value,
        level=level,
        method=rule.aggregation,
        scores=values,
        spread=spread,
        disagreement=spread > threshold + 1e-9,
    )


# ---- maturity ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailingItem:
    item_id: str
    item_name: str
    level: Level
    required: Level
    reason: str


@dataclass(frozen=True)
class MaturityResult:
    overall_level: Level
    average: float
    passed: bool
    failing: tuple[FailingItem, ...]
    item_levels: dict[str, Level]
    group_averages: dict[str, float]


def _decided(framework: Framework, values: Mapping[str, int | float | str]) -> dict[str, float]:
    """Decided values for every scored element: unknown or missing ones are named."""
    expected = [e.id for e in framework.scored_elements()]
    unknown = [k for k in values if k not in set(expected)]
    missing = [k for k in expected if k not in values]
    if unknown:
        raise InvalidInput(
            f"Not elements of {framework.id}: {', '.join(unknown[:10])}.",
            details={"errors": unknown},
        )
    if missing:
        raise InvalidInput(
            f"{len(missing)} element(s) of {framework.id} have no score: {', '.join(missing[:10])}"
            + ("…" if len(missing) > 10 else "."),
            details={"errors": missing},
        )
    elements = {e.id: e for e in framework.scored_elements()}
    return {k: _numeric(framework, elements[k], values[k]) for k in expected}


def maturity_result(
    framework: Framework, levels: Mapping[str, int | float | str]
) -> MaturityResult:
    """Overall level and pass/fail from the decided level of every item."""
    scale = framework.level_scale()
    decided = _decided(framework, levels)
    by_value = {lv.value: lv for lv in scale.levels}
    item_levels = {k: by_value[int(v)] for k, v in decided.items()}
    items = list(framework.all_items())

    if framework.aggregation.method == "weighted_sum":
        total_weight = math.fsum(i.weight or 0.0 for i in items)
        average = math.fsum((i.weight or 0.0) * decided[i.id] for i in items) / total_weight
    else:
        average = statistics.fmean(decided.values())
    rule = framework.aggregation.overall_level
    if rule == "min":
        overall = min(item_levels.values(), key=lambda lv: lv.value)
    else:
        overall = _to_level(scale, average, rule)

    failing: list[FailingItem] = []
    for gate in framework.aggregation.gates:
        required = framework.level_by_code(gate.min_level)
        assert required is not None  # checked when the framework was loaded
        gated = set(gate.items) if gate.items is not None else None
        for item in items:
            level = item_levels[item.id]
            if (gated is None or item.id in gated) and level.value < required.value:
                failing.append(
                    FailingItem(
                        item_id=item.id,
                        item_name=item.name,
                        level=level,
                        required=required,
                        reason=f"{item.name} is at level {level.code} ({level.label}); "
                        f"every {'named ' if gated else ''}item must reach {required.code} "
                        f"({required.label}) whatever the average.",
                    )
                )
    passed = not failing
    if framework.pass_rule and framework.pass_rule.min_overall_level:
        needed = framework.level_by_code(framework.pass_rule.min_overall_level)
        assert needed is not None
        passed = passed and overall.value >= needed.value

    group_averages = {
        group.id: statistics.fmean(decided[i.id] for i in group.all_items())
        for group, _ in framework.all_groups()
    }
    return MaturityResult(
        overall_level=overall,
        average=average,
        passed=passed,
        failing=tuple(failing),
        item_levels=item_levels,
        group_averages=group_averages,
    )


# ---- points -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subtotal:
    id: str
    name: str
    points: float
    max_points: float

    @property
    def percent(self) -> float:
        return 100 * self.points / self.max_points if self.max_points else 0.0


@dataclass(frozen=True)
class PointsResult:
    total: float
    max_total: float
    percent: float
    grade: GradeBand | None
    passed: bool
    certified: bool
    areas: tuple[Subtotal, ...]
    items: tuple[Subtotal, ...]
    population_class: PopulationClass | None


def population_class(framework: Framework, population: int) -> PopulationClass | None:
    """The class a city of this population is evaluated in (None when the framework has none)."""
    classes = framework.eligibility.classes
    if not classes:
        return None
    if population < 0:
        raise InvalidInput(f"A population cannot be negative (got {population}).")
    for cls in classes:
        if cls.contains(population):
            return cls
    names = ", ".join(c.name for c in classes)
    raise InvalidInput(f"A population of {population:,} fits none of the classes ({names}).")


def grade_for(framework: Framework, points: float) -> GradeBand | None:
    """The highest grade band whose lower bound the points reach."""
    found = None
    for band in framework.grade_bands:
        if points + POINTS_TOLERANCE >= framework.grade_band_floor(band):
            found = band
    return found


def _item_max(item: Item) -> float:
    if item.sub_indicators:
        return math.fsum(s.max_points or 0.0 for s in item.sub_indicators)
    return item.max_points or 0.0


def points_result(
    framework: Framework, points: Mapping[str, float], population: int | None = None
) -> PointsResult:
    """Total, percentage, grade, pass and certification, with per-area and per-item subtotals."""
    if framework.kind != "points":
        raise InvalidInput(f"{framework.id} is a {framework.kind} framework, not a points one.")
    decided = _decided(framework, points)
    weighted = framework.aggregation.method == "weighted_sum"
    scale_total = framework.max_points()
    weights_total = framework.aggregation.weights_total or 1.0

    def item_subtotal(item: Item) -> Subtotal:
        raw = (
            math.fsum(decided[s.id] for s in item.sub_indicators)
            if item.sub_indicators
            else decided[item.id]
        )
        top = _item_max(item)
        if weighted:
            # The item's share of its own maximum counts for its weight of the whole scale.
            worth = scale_total * (item.weight or 0.0) / weights_total
            return Subtotal(item.id, item.name, worth * (raw / top if top else 0.0), worth)
        return Subtotal(item.id, item.name, raw, top)

    items = {item.id: item_subtotal(item) for item in framework.all_items()}

    def group_subtotal(group: Group) -> Subtotal:
        parts = [items[i.id] for i in group.all_items()]
        return Subtotal(
            group.id,
            group.name,
            math.fsum(p.points for p in parts),
            math.fsum(p.max_points for p in parts),
        )

    total = math.fsum(s.points for s in items.values())
    line = framework.pass_line()
    passed = line is None or total + POINTS_TOLERANCE >= line
    grade = grade_for(framework, total)
    certified = passed and (
        grade.certified if framework.grade_bands and grade else not framework.grade_bands
    )
    return PointsResult(
        total=total,
        max_total=scale_total,
        percent=100 * total / scale_total,
        grade=grade,
        passed=passed,
        certified=certified,
        areas=tuple(group_subtotal(g) for g in framework.groups),
        items=tuple(items.values()),
        population_class=None if population is None else population_class(framework, population),
    )


# ---- benchmark (U4SSC-style KPI points) ------------------------------------------------------


@dataclass(frozen=True)
class KpiMeasure:
    """A KPI's reported value and the benchmark target it is measured against."""

    value: float
    target: float


@dataclass(frozen=True)
class BenchmarkScore:
    id: str
    name: str
    earned: int
    possible: int
    reported: int
    band: str | None  # the grade band the percentage falls in, e.g. "66-95"

    @property
    def percent(self) -> float | None:
        return 100 * self.earned / self.possible if self.possible else None


@dataclass(frozen=True)
class BenchmarkResult:
    kpi_points: dict[str, int]
    not_reported: tuple[str, ...]
    categories: tuple[BenchmarkScore, ...]
    groups: tuple[BenchmarkScore, ...]  # sub-dimensions and dimensions, outermost first
    overall: BenchmarkScore


def share_of_target(value: float, target: float, direction: str = "higher_is_better") -> float:
    """How much of its target a KPI reaches, in %. Lower-is-better KPIs invert the ratio."""
    if not (math.isfinite(value) and math.isfinite(target)) or target <= 0 or value < 0:
        raise InvalidInput(
            f"A KPI value {value!r} against target {target!r} cannot be benchmarked "
            "(the target must be above 0 and the value 0 or more)."
        )
    if direction == "lower_is_better":
        return math.inf if value == 0 else 100 * target / value
    return 100 * value / target


def benchmark_points(framework: Framework, percent: float) -> int:
    """The points a KPI earns for reaching this share of its target."""
    scale = framework.scale
    if not isinstance(scale, BenchmarkScale):
        raise InvalidInput(f"{framework.id} has no benchmark scale.")
    earned = scale.bands[0].points
    for band in scale.bands:
        if percent + 1e-9 >= band.min_percent:
            earned = band.points
    return earned


def benchmark_result(
    framework: Framework, measures: Mapping[str, KpiMeasure | None]
) -> BenchmarkResult:
    """KPI points from values and targets; None (or absence) means not reported."""
    elements = {e.id: e for e in framework.scored_elements()}
    points: dict[str, int] = {}
    for kpi_id, measure in measures.items():
        element = elements.get(kpi_id)
        if element is None:
            raise InvalidInput(f"{kpi_id!r} is not a KPI of {framework.id}.")
        if measure is None:
            continue
        direction = element.direction if isinstance(element, SubIndicator) else "higher_is_better"
        try:
            share = share_of_target(measure.value, measure.target, direction)
        except InvalidInput as exc:
            raise InvalidInput(f"{kpi_id} ({element.name}): {exc.message}") from None
        points[kpi_id] = benchmark_points(framework, share)
    return benchmark_scores(framework, points)


def benchmark_scores(framework: Framework, kpi_points: Mapping[str, int]) -> BenchmarkResult:
    """Category, sub-dimension, dimension and overall scores from the points of reported KPIs."""
    scale = framework.scale
    if not isinstance(scale, BenchmarkScale):
        raise InvalidInput(f"{framework.id} is a {framework.kind} framework, not a benchmark one.")
    elements = {e.id: e for e in framework.scored_elements()}
    checked: dict[str, int] = {}
    for kpi_id, earned in kpi_points.items():
        if kpi_id not in elements:
            raise InvalidInput(f"{kpi_id!r} is not a KPI of {framework.id}.")
        checked[kpi_id] = int(_numeric(framework, elements[kpi_id], earned))
    top = scale.max_points

    def score(element_id: str, name: str, kpis: list[str]) -> BenchmarkScore:
        reported = [k for k in kpis if k in checked]
        earned = sum(checked[k] for k in reported)
        possible = top * len(reported)
        band = None
        if possible and framework.grade_bands:
            grade = None
            for b in framework.grade_bands:
                if 100 * earned / possible + 1e-9 >= (b.min_percent or 0.0):
                    grade = b
            band = grade.grade if grade else None
        return BenchmarkScore(element_id, name, earned, possible, len(reported), band)

    def kpis_of(items: list[Item]) -> list[str]:
        return [e.id for item in items for e in _scored(item)]

    categories = tuple(score(item.id, item.name, kpis_of([item])) for item in framework.all_items())
    groups = tuple(
        score(group.id, group.name, kpis_of(list(group.all_items())))
        for group, _ in framework.all_groups()
    )
    overall = score(framework.id, framework.name, kpis_of(list(framework.all_items())))
    return BenchmarkResult(
        kpi_points=checked,
        not_reported=tuple(k for k in elements if k not in checked),
        categories=categories,
        groups=groups,
        overall=overall,
    )


# ---- gap analysis ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoadmapStep:
    """What separates one item from its next level (or its full points)."""

    item_id: str
    item_name: str
    group_name: str
    current: str
    next: str | None
    gap: str
    blocking: bool  # below a gate or the pass line: certification depends on it
    points_short: float | None = None


def gap_analysis(
    framework: Framework, current: Mapping[str, int | float | str]
) -> list[RoadmapStep]:
    """An improvement roadmap: for each item where it is and what the next step asks for.

    Maturity: ordered by items holding back certification first, then the lowest level.
    Points: ordered by the points still open, largest first.
    """
    if isinstance(framework.scale, LevelScale):
        return _maturity_gaps(framework, framework.scale, current)
    if framework.kind == "points":
        return _points_gaps(framework, {k: float(v) for k, v in current.items()})
    raise InvalidInput(
        f"Gap analysis covers maturity and points frameworks; for {framework.id} use the "
        "benchmark result's categories."
    )


def _maturity_gaps(
    framework: Framework, scale: LevelScale, current: Mapping[str, int | float | str]
) -> list[RoadmapStep]:
    result = maturity_result(framework, current)
    failing = {f.item_id for f in result.failing}
    steps: list[tuple[tuple[int, int, int], RoadmapStep]] = []
    for order, item in enumerate(framework.all_items()):
        level = result.item_levels[item.id]
        group = framework.top_group_of(item.id)
        following = next((lv for lv in scale.levels if lv.value == level.value + 1), None)
        if following is None:
            gap = "At the top level: keep the practice and its evidence current."
        else:
            gap = item.level_descriptors.get(following.code, following.descriptor)
        step = RoadmapStep(
            item_id=item.id,
            item_name=item.name,
            group_name=group.name if group else "",
            current=f"{level.code} ({level.label})",
            next=f"{following.code} ({following.label})" if following else None,
            gap=gap,
            blocking=item.id in failing,
        )
        steps.append(((0 if step.blocking else 1, level.value, order), step))
    return [step for _, step in sorted(steps, key=lambda pair: pair[0])]


def _points_gaps(framework: Framework, current: Mapping[str, float]) -> list[RoadmapStep]:
    result = points_result(framework, current)
    line = framework.pass_line()
    below_line = line is not None and not result.passed
    subtotals = {s.id: s for s in result.items}
    steps: list[tuple[tuple[float, int], RoadmapStep]] = []
    for order, item in enumerate(framework.all_items()):
        sub = subtotals[item.id]
        short = sub.max_points - sub.points
        group = framework.top_group_of(item.id)
        open_subs = [
            ((s.max_points or 0.0) - current[s.id], s)
            for s in item.sub_indicators
            if (s.max_points or 0.0) - current[s.id] > POINTS_TOLERANCE
        ]
        open_subs.sort(key=lambda pair: -pair[0])  # stable: framework order among equals
        if short <= POINTS_TOLERANCE:
            gap = "Full points: keep the evidence current."
        elif open_subs:
            gap = "Points open in: " + "; ".join(
                f"{s.id} {s.name} ({missing:g} of {s.max_points:g})" for missing, s in open_subs
            )
        else:
            gap = f"{short:g} points open."
        step = RoadmapStep(
            item_id=item.id,
            item_name=item.name,
            group_name=group.name if group else "",
            current=f"{sub.points:g} / {sub.max_points:g}",
            next=f"{sub.max_points:g} / {sub.max_points:g}" if short > POINTS_TOLERANCE else None,
            gap=gap,
            blocking=below_line and short > POINTS_TOLERANCE,
            points_short=short,
        )
        steps.append(((-short, order), step))
    return [step for _, step in sorted(steps, key=lambda pair: pair[0])]


def next_grade(framework: Framework, total: float) -> tuple[GradeBand | None, float]:
    """The next grade band above these points and how many points it needs (None at the top)."""
    for band in framework.grade_bands:
        floor = framework.grade_band_floor(band)
        if floor > total + POINTS_TOLERANCE:
            return band, floor - total
    return None, 0.0


# ---- ranking -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CityStanding:
    city: str
    overall: float | None  # overall level value (maturity); None where there is none
    total: float  # total points, or the average level


@dataclass(frozen=True)
class Ranked:
    rank: int
    standing: CityStanding


def rank_cities(standings: Sequence[CityStanding]) -> list[Ranked]:
    """Best first: by overall, then total; ties share a rank (1, 2, 2, 4) and keep input order."""

    def key(s: CityStanding) -> tuple[float, float]:
        return (-(s.overall if s.overall is not None else -math.inf), -s.total)

    ordered = sorted(standings, key=key)  # sorted() is stable: ties keep their input order
    ranked: list[Ranked] = []
    for position, standing in enumerate(ordered, start=1):
        if ranked and key(ranked[-1].standing) == key(standing):
            ranked.append(Ranked(ranked[-1].rank, standing))
        else:
            ranked.append(Ranked(position, standing))
    return ranked


# ---- certificate lifecycle ----------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateSchedule:
    issued: date
    expires: date
    surveillance: tuple[date, ...]
    renewal_due: date | None


def add_months(day: date, months: int) -> date:
    """The same day so many months later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def certificate_schedule(framework: Framework, issued: date) -> CertificateSchedule:
    """Expiry, surveillance dates and the renewal/extension deadline of a certificate."""
    if framework.certificate is None:
        raise InvalidInput(f"{framework.id} issues no certificate.")
    rules = framework.certificate
    expires = add_months(issued, 12 * rules.validity_years)
    surveillance: list[date] = []
    if rules.surveillance_every_months:
        step = rules.surveillance_every_months
        when = add_months(issued, step)
        while when < expires:
            surveillance.append(when)
            when = add_months(issued, step * (len(surveillance) + 1))
    renewal_due = (
        add_months(expires, -rules.renewal_notice_months)
        if rules.renewal_notice_months is not None
        else None
    )
    return CertificateSchedule(issued, expires, tuple(surveillance), renewal_due)
