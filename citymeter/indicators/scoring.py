"""U4SSC-style benchmark scoring: 1–4 points per KPI by its share of the target, and category,
sub-dimension and dimension scores as points earned over points possible.

The bands follow ITU's public description: below 33 % of the target 1 point, 33–66 % 2, 66–95 % 3,
95 % and above 4. For a lower-is-better KPI the share is target / value; for a target range it is
100 % inside the range and the nearer bound over the value (or the value over it) outside.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from citymeter.errors import InvalidInput
from citymeter.indicators.loader import LoadedPack
from citymeter.indicators.schema import Direction

MAX_POINTS = 4
# Lower bounds (in % of target) of 2, 3 and 4 points.
BANDS = ((95.0, 4), (66.0, 3), (33.0, 2))


def share_of_target(
    value: float,
    target: float,
    direction: Direction,
    target_range: tuple[float, float] | None = None,
) -> float:
    """How far the value goes towards the target, in percent (may exceed 100)."""
    if direction == "target_range":
        if target_range is None:
            raise InvalidInput("A target-range KPI needs its range to be scored.")
        low, high = target_range
        if low <= value <= high:
            return 100.0
        if value < low:
            return 100.0 * value / low if low else 0.0
        return 100.0 * high / value if value else 0.0
    if target <= 0:
        raise InvalidInput(f"A benchmark target must be positive, not {target}.")
    if direction == "higher_is_better":
        return max(0.0, 100.0 * value / target)
    if value <= 0:
        return math.inf
    return 100.0 * target / value


def points(share_percent: float) -> int:
    """1–4 points for a share of the target in percent."""
    share = round(share_percent, 9)  # 0.33 × 100 must count as 33 %, not 32.999…
    for lower, awarded in BANDS:
        if share >= lower:
            return awarded
    return 1


@dataclass(frozen=True)
class KpiScore:
    code: str
    value: float
    share_percent: float
    points: int


@dataclass
class GroupScore:
    code: str
    earned: int = 0
    possible: int = 0
    scored: int = 0
    not_scored: list[str] = field(default_factory=list)

    @property
    def score(self) -> float | None:
        """Points earned over points possible (0–1), None when nothing could be scored."""
        return self.earned / self.possible if self.possible else None


@dataclass(frozen=True)
class PackScore:
    kpis: dict[str, KpiScore]
    categories: dict[str, GroupScore]
    themes: dict[str, GroupScore]
    total: GroupScore


def score_pack(loaded: LoadedPack, values: Mapping[str, float]) -> PackScore:
    """Score every KPI with a value and a benchmark target; roll up to categories and themes.

    Points possible count only scored KPIs; a KPI without a value or a target is listed under
    `not_scored` of its groups, so a missing value neither earns nor loses points.
    """
    kpis: dict[str, KpiScore] = {}
    categories: dict[str, GroupScore] = {}
    themes: dict[str, GroupScore] = {}
    total = GroupScore("total")
    for definition in loaded.indicators:
        groups = [total]
        if definition.category:
            groups.append(
                categories.setdefault(definition.category, GroupScore(definition.category))
            )
        for theme in loaded.theme_path(definition.theme):
            groups.append(themes.setdefault(theme, GroupScore(theme)))
        value = values.get(definition.code)
        scorable = definition.benchmark_target is not None or definition.direction == "target_range"
        if value is None or not scorable:
            for group in groups:
                group.not_scored.append(definition.code)
            continue
        share = share_of_target(
            value, definition.benchmark_target or 0.0, definition.direction, definition.target_range
        )
        kpi = KpiScore(definition.code, value, share, points(share))
        kpis[definition.code] = kpi
        for group in groups:
            group.earned += kpi.points
            group.possible += MAX_POINTS
            group.scored += 1
    return PackScore(kpis, categories, themes, total)
