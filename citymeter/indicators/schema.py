"""The schema of indicator definitions and packs (YAML files); `docs/indicators.md` describes it.

Unknown fields are errors. Checks that need more than one field or the metric catalogue (the
formula, its unit, the theme) run in `loader.py`, which names the indicator code in every error.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CODE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
AreaLevel = Literal["city", "district", "neighbourhood"]
# neutral: a context figure (volumes, the age structure) shown but never ranked better or worse.
Direction = Literal["higher_is_better", "lower_is_better", "target_range", "neutral"]
Periodicity = Literal["month", "quarter", "year"]
Rollup = Literal["sum", "mean", "last", "recompute"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Strict):
    en: str = Field(min_length=1)
    ko: str | None = None


class StandardRef(_Strict):
    """The standard an indicator follows, and its clause or KPI code where known."""

    name: str = Field(min_length=1, description="e.g. ISO 37120-style, U4SSC-style")
    clause: str | None = Field(default=None, description="clause or KPI code, e.g. 5.1 or EC.ICT.1")


class SdgLink(_Strict):
    """A link to the UN Sustainable Development Goals; `mapping` says whose it is."""

    goal: int = Field(ge=1, le=17)
    target: str | None = Field(default=None, description='e.g. "11.6"')
    indicator: str | None = Field(default=None, description='e.g. "11.6.2"')
    mapping: Literal["official", "suggested"] = Field(
        description="official: the indicator is (or equals) the UN SDG indicator; "
        "suggested: CityMeter's reading that it informs the target"
    )

    @model_validator(mode="after")
    def _nested(self) -> SdgLink:
        if self.target is not None and not re.fullmatch(rf"{self.goal}\.[0-9a-z]+", self.target):
            raise ValueError(f"target {self.target!r} is not a target of goal {self.goal}")
        if self.indicator is not None:
            if self.target is None:
                raise ValueError("an SDG indicator needs its target")
            if not re.fullmatch(rf"{re.escape(self.target)}\.\d+", self.indicator):
                raise ValueError(f"indicator {self.indicator!r} is not under target {self.target}")
        return self


_DEFAULT_LEVELS: list[AreaLevel] = ["city", "district"]


class Breakdowns(_Strict):
    """The breakdowns an indicator can be computed by."""

    sex: bool = False
    age_band: bool = False
    area_levels: list[AreaLevel] = Field(default_factory=lambda: _DEFAULT_LEVELS.copy())


class IndicatorDefinition(_Strict):
    code: str = Field(pattern=CODE_PATTERN, max_length=120)
    version: int = Field(default=1, ge=1)
    names: Names
    description: str = ""
    unit: str = Field(min_length=1)
    theme: str
    category: str | None = None
    direction: Direction
    target_range: tuple[float, float] | None = Field(
        default=None, description="[low, high] of the desired band, for direction target_range"
    )
    benchmark_target: float | None = Field(
        default=None, description="the value that earns full points in benchmark scoring"
    )
    periodicity: Periodicity = "year"
    visibility: Literal["public", "internal"] = "public"
    standard: StandardRef | None = None
    sdg: list[SdgLink] = Field(default_factory=list)
    breakdowns: Breakdowns = Field(default_factory=Breakdowns)
    rollup: Rollup = Field(
        default="recompute",
        description="month → quarter → year: sum, mean, last, or recompute from the inputs",
    )
    core: bool | None = None
    tier: Literal["core", "advanced"] | None = None
    headline: bool = False
    reconstructed: bool = Field(
        default=False, description="modelled on a public description without the official text"
    )
    formula: str = Field(min_length=1)

    @model_validator(mode="after")
    def _range(self) -> IndicatorDefinition:
        if self.direction == "target_range":
            if self.target_range is None:
                raise ValueError("direction target_range needs target_range: [low, high]")
            if self.target_range[0] > self.target_range[1]:
                raise ValueError("target_range must be [low, high] with low <= high")
        elif self.target_range is not None:
            raise ValueError("target_range is only for direction target_range")
        return self


class Theme(_Strict):
    """A node of a pack's theme tree: a theme, or a dimension with sub-dimensions."""

    code: str = Field(pattern=CODE_PATTERN)
    names: Names
    children: list[Theme] = Field(default_factory=list)


class Category(_Strict):
    code: str = Field(pattern=CODE_PATTERN)
    names: Names


class MetricSpec(_Strict):
    """A metric a pack's formulas use that the shared catalogue lacks."""

    unit: str = Field(min_length=1)
    names: Names | None = None
    description: str = ""
    aliases: list[str] = Field(
        default_factory=list,
        description="metric codes in the store that measure the same quantity in the same unit "
        "(an import's resident_population for population); the engine reads them too",
    )


class DataCheck(_Strict):
    """A validation rule from a pack's source, run on the city's data (`indicators check`).

    sum_to: the values of `metric` across the values of the dimension `across` add up to `total`
    ± `tolerance` in each area and period (mode shares sum to 100 % ± 2 %).
    not_above: `metric` never exceeds `limit_metric` in the same cell (unemployed ≤ labour force).
    range: the stored values of indicator `indicator` lie within [`min`, `max`].
    """

    code: str = Field(pattern=CODE_PATTERN)
    kind: Literal["sum_to", "not_above", "range"]
    description: str = Field(min_length=1)
    source: str | None = Field(default=None, description="where the rule comes from")
    metric: str | None = None
    across: str | None = None
    total: float | None = None
    tolerance: float = 0.0
    limit_metric: str | None = None
    indicator: str | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _fields(self) -> DataCheck:
        needs = {
            "sum_to": ("metric", "across", "total"),
            "not_above": ("metric", "limit_metric"),
            "range": ("indicator",),
        }[self.kind]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind} check needs {', '.join(missing)}")
        if self.kind == "range" and self.min is None and self.max is None:
            raise ValueError("a range check needs min, max or both")
        return self


class Pack(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    names: Names
    description: str = ""
    source_note: str = Field(
        min_length=20,
        description="what the pack is modelled on and that it is not the official text",
    )
    reconstructed: list[str] = Field(
        default_factory=list, description="the parts reconstructed from public descriptions"
    )
    standard: str | None = None
    uses_core_flag: bool = Field(default=False, description="every indicator says core: true|false")
    uses_tiers: bool = Field(default=False, description="every indicator says tier: core|advanced")
    theme_levels: list[str] = Field(
        default_factory=lambda: ["theme"],
        description="names of the theme tree's levels, e.g. [dimension, sub_dimension]",
    )
    themes: list[Theme] = Field(min_length=1)
    categories: list[Category] = Field(default_factory=list)
    metrics: dict[str, MetricSpec] = Field(default_factory=dict)
    indicator_files: list[str] = Field(
        default_factory=list, description="further YAML files of indicators, relative to the pack"
    )
    indicators: list[IndicatorDefinition] = Field(default_factory=list)
    checks: list[DataCheck] = Field(
        default_factory=list, description="validation rules from the pack's sources"
    )

    @field_validator("metrics")
    @classmethod
    def _metric_codes(cls, value: dict[str, MetricSpec]) -> dict[str, MetricSpec]:
        for code in value:
            if not re.fullmatch(CODE_PATTERN, code):
                raise ValueError(f"metric code {code!r} must be lower_snake_case")
        return value


class CatalogueFile(_Strict):
    """The shared catalogue: metrics, entity attributes and record fields formulas may name."""

    version: int = Field(ge=1)
    source_note: str = ""
    metrics: dict[str, MetricSpec]
    entities: dict[str, dict[str, str]] = Field(default_factory=dict)
    records: dict[str, dict[str, str]] = Field(default_factory=dict)
