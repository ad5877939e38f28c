"""The framework file: a maturity model or certification scheme described as data.

The schema is strict — an unknown field is an error naming it — and the cross-checks (unique ids,
weights and points that add up, ascending grade bands, gates naming real levels) run when a file is
loaded. `docs/frameworks.md` describes every field.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Points and weights come from YAML as decimals; sums are compared within this tolerance.
POINTS_TOLERANCE = 1e-6

Kind = Literal["maturity", "points", "benchmark"]
Aggregation = Literal["mean", "weighted_sum", "sum"]
OverallRule = Literal["floor", "round", "min"]
CommitteeRule = Literal["mean", "median", "trimmed_mean"]


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Element(_Strict):
    """A structural element; `reconstructed: true` (with a note) marks our reconstruction."""

    id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    reconstructed: bool = False
    note: str | None = Field(default=None, description="Why or how it was reconstructed.")

    @model_validator(mode="after")
    def _reconstruction_has_a_note(self) -> _Element:
        if self.reconstructed and not (self.note and self.note.strip()):
            raise ValueError(f"{self.id!r} is marked reconstructed: say how in `note`")
        return self


class Source(_Strict):
    """What the framework is based on: published fact versus CityMeter's reconstruction."""

    basis: Literal["public_descriptions", "official_text"] = Field(
        description="public_descriptions: modelled on public descriptions, not the official texts."
    )
    note: str = Field(
        min_length=20, description="What is published fact and what is reconstructed."
    )
    published: list[str] = Field(
        default_factory=list, description="Facts taken from public sources."
    )
    reconstructed: list[str] = Field(
        default_factory=list, description="Parts CityMeter filled in (also marked on elements)."
    )
    references: list[str] = Field(default_factory=list)


class Principle(_Element):
    pass


class SubIndicator(_Element):
    type: Literal["quantitative", "qualitative"]
    indicator: str | None = Field(
        default=None, description="Indicator code the value can be pre-filled from."
    )
    max_points: float | None = Field(default=None, ge=0)
    tier: Literal["core", "advanced"] | None = None
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better"
    unit: str | None = None


class Item(_Element):
    principles: list[str] = Field(default_factory=list)
    weight: float | None = Field(default=None, ge=0)
    max_points: float | None = Field(default=None, ge=0)
    level_descriptors: dict[str, str] = Field(
        default_factory=dict,
        description="Level code → what that level looks like for this item (overrides the scale).",
    )
    sub_indicators: list[SubIndicator] = Field(default_factory=list)


class Group(_Element):
    """A group, area, dimension or sub-dimension: holds items and/or nested groups."""

    max_points: float | None = Field(default=None, ge=0)
    groups: list[Group] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Group:
        if not self.groups and not self.items:
            raise ValueError(f"group {self.id!r} has neither items nor groups")
        return self

    def all_items(self) -> Iterator[Item]:
        yield from self.items
        for group in self.groups:
            yield from group.all_items()


class Level(_Strict):
    value: int = Field(ge=0)
    code: str = Field(min_length=1, max_length=10)
    label: str = Field(min_length=1)
    descriptor: str = Field(min_length=1, description="What this level looks like, in our words.")


class LevelScale(_Strict):
    type: Literal["levels"]
    levels: list[Level] = Field(min_length=2)

    @model_validator(mode="after")
    def _consecutive(self) -> LevelScale:
        values = [level.value for level in self.levels]
        if values != list(range(values[0], values[0] + len(values))):
            raise ValueError(f"level values must be consecutive and ascending, got {values}")
        codes = [level.code for level in self.levels]
        if len(set(codes)) != len(codes):
            raise ValueError(f"level codes must be unique, got {codes}")
        return self


class PointsScale(_Strict):
    type: Literal["points"]
    total: float = Field(gt=0, description="Points available in all.")


class BenchmarkBand(_Strict):
    min_percent: float = Field(ge=0, description="Lower bound, as a share of the target in %.")
    points: int = Field(ge=0)


class BenchmarkScale(_Strict):
    """Each KPI scores points by how much of its target is reached (U4SSC-style)."""

    type: Literal["benchmark"]
    bands: list[BenchmarkBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _ascending(self) -> BenchmarkScale:
        bounds = [band.min_percent for band in self.bands]
        if bounds[0] != 0:
            raise ValueError("the first benchmark band must start at min_percent 0")
        if any(b <= a for a, b in itertools.pairwise(bounds)):
            raise ValueError(f"benchmark bands must be ascending by min_percent, got {bounds}")
        return self

    @property
    def max_points(self) -> int:
        return max(band.points for band in self.bands)


class Gate(_Strict):
    """A minimum every named item (or every item) must reach, whatever the average."""

    min_level: str = Field(description="A level code of the scale, e.g. III.")
    items: list[str] | None = Field(default=None, description="Item ids; omitted = every item.")
    reason: str | None = None


class AggregationRule(_Strict):
    method: Aggregation
    weights_total: float | None = Field(
        default=None, gt=0, description="Item weights must add up to this (weighted_sum)."
    )
    weight_tolerance: float = Field(default=1e-6, ge=0)
    gates: list[Gate] = Field(default_factory=list)
    overall_level: OverallRule = Field(
        default="floor", description="Average rounded down (floor), to nearest (round), or min."
    )


class PassRule(_Strict):
    min_percent: float | None = Field(default=None, ge=0, le=100)
    min_points: float | None = Field(default=None, ge=0)
    min_overall_level: str | None = None
    description: str = ""


class GradeBand(_Strict):
    grade: str = Field(min_length=1)
    label: str = ""
    min_points: float | None = Field(default=None, ge=0)
    min_percent: float | None = Field(default=None, ge=0, le=100)
    certified: bool
    default: bool = Field(
        default=False, description="true: the cut-off is CityMeter's default, not published."
    )

    @model_validator(mode="after")
    def _one_bound(self) -> GradeBand:
        if (self.min_points is None) == (self.min_percent is None):
            raise ValueError(f"grade {self.grade!r}: give exactly one of min_points or min_percent")
        return self


class PopulationClass(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    population_min: int | None = Field(default=None, ge=0, description="Inclusive.")
    population_max: int | None = Field(default=None, ge=0, description="Exclusive.")

    def contains(self, population: int) -> bool:
        low_ok = self.population_min is None or population >= self.population_min
        high_ok = self.population_max is None or population < self.population_max
        return low_ok and high_ok


class Eligibility(_Strict):
    description: str = ""
    applicants: list[str] = Field(default_factory=list)
    classes: list[PopulationClass] = Field(default_factory=list)
    classes_evaluated_separately: bool = True


class Committee(_Strict):
    aggregation: CommitteeRule = "mean"
    trim_share: float = Field(
        default=0.0, ge=0, lt=0.5, description="Share cut from EACH end (trimmed_mean)."
    )
    disagreement_threshold: float = Field(
        ge=0, description="Flag an element when max − min of the assessors' scores exceeds this."
    )
    disagreement_unit: Literal["score", "percent_of_max"] = "score"
    size: int | None = Field(default=None, ge=1, description="Usual number of assessors.")
    per_class: bool = False


class Stage(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: Literal["document_review", "on_site", "decision", "surveillance", "other"]
    role: Literal["scores", "decides", "confirms", "none"] = "scores"
    duration_days: int | None = Field(default=None, ge=1)
    description: str = ""


class Certificate(_Strict):
    validity_years: int = Field(ge=1)
    surveillance_every_months: int | None = Field(default=None, ge=1)
    renewal: Literal["recertification", "extension", "reapplication"]
    renewal_notice_months: int | None = Field(
        default=None,
        ge=0,
        description="The renewal/extension request is due this long before expiry.",
    )
    description: str = ""


class Framework(_Strict):
    schema_version: Literal[1] = 1
    id: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9\-]*$")
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    kind: Kind
    description: str = ""
    source: Source
    principles: list[Principle] = Field(default_factory=list)
    groups: list[Group] = Field(min_length=1)
    scale: LevelScale | PointsScale | BenchmarkScale = Field(discriminator="type")
    aggregation: AggregationRule
    pass_rule: PassRule | None = None
    grade_bands: list[GradeBand] = Field(default_factory=list)
    eligibility: Eligibility = Field(default_factory=Eligibility)
    committee: Committee
    stages: list[Stage] = Field(min_length=1)
    certificate: Certificate | None = None
    justification_required: bool = False

    # ---- navigation -------------------------------------------------------------------------

    def all_groups(self) -> Iterator[tuple[Group, tuple[Group, ...]]]:
        """Every group with its ancestors (outermost first)."""

        def walk(
            group: Group, parents: tuple[Group, ...]
        ) -> Iterator[tuple[Group, tuple[Group, ...]]]:
            yield group, parents
            for child in group.groups:
                yield from walk(child, (*parents, group))

        for top in self.groups:
            yield from walk(top, ())

    def all_items(self) -> Iterator[Item]:
        for group in self.groups:
            yield from group.all_items()

    def item(self, item_id: str) -> Item | None:
        return next((item for item in self.all_items() if item.id == item_id), None)

    def top_group_of(self, item_id: str) -> Group | None:
        return next((g for g in self.groups if any(i.id == item_id for i in g.all_items())), None)

    def scored_elements(self) -> list[SubIndicator | Item]:
        """What is scored: the sub-indicators where an item has them, else the item itself."""
        found: list[SubIndicator | Item] = []
        for item in self.all_items():
            found.extend(item.sub_indicators if item.sub_indicators else [item])
        return found

    def level_scale(self) -> LevelScale:
        if not isinstance(self.scale, LevelScale):
            raise TypeError(f"{self.id} has a {self.scale.type} scale, not levels")
        return self.scale

    def level_by_code(self, code: str) -> Level | None:
        if not isinstance(self.scale, LevelScale):
            return None
        return next((lv for lv in self.scale.levels if lv.code == code), None)

    def grade_band_floor(self, band: GradeBand) -> float:
        """A grade band's lower bound in points."""
        if band.min_points is not None:
            return band.min_points
        assert band.min_percent is not None
        return band.min_percent * self.max_points() / 100

    def max_points(self) -> float:
        if isinstance(self.scale, PointsScale):
            return self.scale.total
        if isinstance(self.scale, BenchmarkScale):
            return float(self.scale.max_points * len(self.scored_elements()))
        return float(self.scale.levels[-1].value * len(list(self.all_items())))

    def pass_line(self) -> float | None:
        """The points a result needs to pass, if the pass rule sets one."""
        if self.pass_rule is None:
            return None
        lines = []
        if self.pass_rule.min_points is not None:
            lines.append(self.pass_rule.min_points)
        if self.pass_rule.min_percent is not None:
            lines.append(self.pass_rule.min_percent * self.max_points() / 100)
        return max(lines) if lines else None

    # ---- cross-checks -----------------------------------------------------------------------

    @model_validator(mode="after")
    def _cross_checks(self) -> Framework:
        problems: list[str] = []
        self._check_ids(problems)
        self._check_kind(problems)
        self._check_weights(problems)
        self._check_points(problems)
        self._check_levels(problems)
        self._check_grades(problems)
        self._check_classes(problems)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _check_ids(self, problems: list[str]) -> None:
        seen: dict[str, str] = {}

        def note(kind: str, element_id: str) -> None:
            if element_id in seen:
                problems.append(
                    f"duplicate {kind} id {element_id!r} (already used by {_a(seen[element_id])})"
                )
            else:
                seen[element_id] = kind

        for principle in self.principles:
            note("principle", principle.id)
        for group, _ in self.all_groups():
            note("group", group.id)
        for item in self.all_items():
            note("item", item.id)
            for sub in item.sub_indicators:
                note("sub-indicator", sub.id)
        principle_ids = {p.id for p in self.principles}
        for item in self.all_items():
            for ref in item.principles:
                if ref not in principle_ids:
                    problems.append(f"item {item.id!r} refers to unknown principle {ref!r}")
        stage_ids = [s.id for s in self.stages]
        for stage_id in {s for s in stage_ids if stage_ids.count(s) > 1}:
            problems.append(f"duplicate stage id {stage_id!r}")

    def _check_kind(self, problems: list[str]) -> None:
        expected = {"maturity": "levels", "points": "points", "benchmark": "benchmark"}[self.kind]
        if self.scale.type != expected:
            problems.append(
                f"a {self.kind} framework needs scale.type {expected!r}, not {self.scale.type!r}"
            )
        if self.kind == "points" and self.aggregation.method == "mean":
            problems.append("a points framework aggregates by sum or weighted_sum, not mean")
        if self.kind == "maturity" and self.aggregation.method == "sum":
            problems.append(
                "a maturity framework aggregates levels by mean or weighted_sum, not sum"
            )
        if self.kind == "benchmark" and self.aggregation.method != "sum":
            problems.append("a benchmark framework adds KPI points: aggregation.method must be sum")

    def _check_weights(self, problems: list[str]) -> None:
        items = list(self.all_items())
        weighted = [i for i in items if i.weight is not None]
        if self.aggregation.method != "weighted_sum":
            if weighted:
                problems.append(
                    f"items have weights (e.g. {weighted[0].id!r}) but aggregation.method is "
                    f"{self.aggregation.method!r}; use weighted_sum or remove the weights"
                )
            return
        missing = [i.id for i in items if i.weight is None]
        if missing:
            problems.append(
                f"weighted_sum needs a weight on every item; missing on {', '.join(missing[:5])}"
            )
            return
        if self.aggregation.weights_total is None:
            problems.append(
                "weighted_sum needs aggregation.weights_total (what the weights add up to)"
            )
            return
        total = math.fsum(i.weight or 0.0 for i in items)
        if abs(total - self.aggregation.weights_total) > self.aggregation.weight_tolerance:
            problems.append(
                f"item weights add up to {total:g}, not the declared weights_total "
                f"{self.aggregation.weights_total:g} "
                f"(tolerance {self.aggregation.weight_tolerance:g})"
            )

    def _check_points(self, problems: list[str]) -> None:
        if self.kind != "points":
            return

        def off(a: float, b: float) -> bool:
            return abs(a - b) > POINTS_TOLERANCE

        def item_points(item: Item) -> float | None:
            if item.sub_indicators:
                if any(s.max_points is None for s in item.sub_indicators):
                    problems.append(f"item {item.id!r}: every sub-indicator needs max_points")
                    return item.max_points
                subtotal = math.fsum(s.max_points or 0.0 for s in item.sub_indicators)
                if item.max_points is not None and off(subtotal, item.max_points):
                    problems.append(
                        f"item {item.id!r}: sub-indicator points add up to {subtotal:g}, "
                        f"not its max_points {item.max_points:g}"
                    )
                return subtotal
            if item.max_points is None:
                problems.append(f"item {item.id!r} needs max_points (or sub-indicators with them)")
            return item.max_points

        def group_points(group: Group) -> float:
            parts = [item_points(i) or 0.0 for i in group.items]
            parts += [group_points(g) for g in group.groups]
            subtotal = math.fsum(parts)
            if group.max_points is not None and off(subtotal, group.max_points):
                problems.append(
                    f"group {group.id!r}: its items add up to {subtotal:g} points, "
                    f"not its max_points {group.max_points:g}"
                )
            return subtotal

        total = math.fsum(group_points(g) for g in self.groups)
        if isinstance(self.scale, PointsScale) and off(total, self.scale.total):
            problems.append(
                f"the groups add up to {total:g} points, "
                f"not the declared scale.total {self.scale.total:g}"
            )

    def _check_levels(self, problems: list[str]) -> None:
        codes = [lv.code for lv in self.scale.levels] if isinstance(self.scale, LevelScale) else []
        item_ids = {i.id for i in self.all_items()}
        for n, gate in enumerate(self.aggregation.gates, start=1):
            if gate.min_level not in codes:
                known = ", ".join(codes) or "none: the scale has no levels"
                problems.append(
                    f"gate {n} refers to unknown level {gate.min_level!r} (levels: {known})"
                )
            for ref in gate.items or []:
                if ref not in item_ids:
                    problems.append(f"gate {n} refers to unknown item {ref!r}")
        wanted = self.pass_rule.min_overall_level if self.pass_rule else None
        if wanted is not None and wanted not in codes:
            problems.append(f"pass_rule.min_overall_level refers to unknown level {wanted!r}")
        for item in self.all_items():
            for code in item.level_descriptors:
                if code not in codes:
                    problems.append(
                        f"item {item.id!r}: level_descriptors names unknown level {code!r}"
                    )

    def _check_grades(self, problems: list[str]) -> None:
        if not self.grade_bands:
            return
        if self.kind == "maturity":
            problems.append("grade_bands apply to points and benchmark frameworks, not maturity")
            return
        if self.kind == "benchmark" and any(b.min_percent is None for b in self.grade_bands):
            problems.append(
                "a benchmark framework's grade bands use min_percent (of points possible)"
            )
            return
        floors = [self.grade_band_floor(b) for b in self.grade_bands]
        for (a, band_a), (b, band_b) in zip(
            zip(floors, self.grade_bands, strict=True),
            zip(floors[1:], self.grade_bands[1:], strict=True),
            strict=False,
        ):
            if b <= a:
                problems.append(
                    "grade bands must be listed with ascending lower bounds: "
                    f"grade {band_b.grade!r} "
                    f"({b:g} points) does not start above grade {band_a.grade!r} ({a:g} points)"
                )
        grades = [b.grade for b in self.grade_bands]
        if len(set(grades)) != len(grades):
            problems.append(f"grade names must be unique, got {grades}")
        line = self.pass_line()
        if line is not None:
            for floor, band in zip(floors, self.grade_bands, strict=True):
                if band.certified and floor + POINTS_TOLERANCE < line:
                    problems.append(
                        f"grade {band.grade!r} is certified but starts at {floor:g} points, "
                        f"below the pass line of {line:g}"
                    )

    def _check_classes(self, problems: list[str]) -> None:
        classes = self.eligibility.classes
        ids = [c.id for c in classes]
        if len(set(ids)) != len(ids):
            problems.append(f"population class ids must be unique, got {ids}")
        for c in classes:
            if (
                c.population_min is not None
                and c.population_max is not None
                and c.population_max <= c.population_min
            ):
                problems.append(f"class {c.id!r}: population_max must be above population_min")
        ordered = sorted(classes, key=lambda c: c.population_min or 0)
        for a, b in itertools.pairwise(ordered):
            if a.population_max is None or a.population_max > (b.population_min or 0):
                problems.append(f"population classes {a.id!r} and {b.id!r} overlap")


Group.model_rebuild()
