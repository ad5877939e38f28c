"""API shapes of indicator definitions, values, rankings, coverage, checks and pledges."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from citymeter.indicators.loader import LoadedPack
from citymeter.indicators.schema import IndicatorDefinition


class IndicatorSummary(BaseModel):
    pack: str
    code: str
    name: str
    name_ko: str | None
    unit: str
    theme: str
    direction: str
    periodicity: str
    sdg: list[str]
    tier: str | None = None
    core: bool | None = None
    headline: bool = False

    @classmethod
    def of(cls, pack: str, d: IndicatorDefinition) -> IndicatorSummary:
        return cls(
            pack=pack, code=d.code, name=d.names.en, name_ko=d.names.ko, unit=d.unit,
            theme=d.theme, direction=d.direction, periodicity=d.periodicity,
            sdg=[s.indicator or s.target or str(s.goal) for s in d.sdg], tier=d.tier,
            core=d.core, headline=d.headline,
        )  # fmt: skip


class IndicatorDetail(BaseModel):
    pack: str
    pack_version: int
    theme_path: list[str]
    derived_unit: str
    inputs: list[str]
    definition: dict[str, Any]

    @classmethod
    def of(cls, loaded: LoadedPack, d: IndicatorDefinition) -> IndicatorDetail:
        formula = loaded.formulas[d.code]
        return cls(
            pack=loaded.pack.id, pack_version=loaded.pack.version,
            theme_path=loaded.theme_path(d.theme), derived_unit=str(formula.unit),
            inputs=list(formula.input_keys), definition=d.model_dump(mode="json"),
        )  # fmt: skip


class IndicatorValuePublic(BaseModel):
    pack: str
    code: str
    city: str
    area_code: str
    area_name: str
    area_level: str
    grain: str
    period_start: dt.date
    sex: str
    age_band: str
    value: float | None
    suppressed: str | None
    unit: str
    quality: str
    definition_version: int
    input_count: int
    computed_at: dt.datetime
    provenance: dict[str, Any] | None = None


class RankedAreaPublic(BaseModel):
    rank: int | None
    area_code: str
    area_name: str
    value: float | None
    suppressed: str | None = None


class RankingPublic(BaseModel):
    code: str
    pack: str
    city: str
    grain: str
    period_start: dt.date
    unit: str
    direction: str
    order: str
    ranked: list[RankedAreaPublic]
    missing: list[RankedAreaPublic]


class CoverageGroupPublic(BaseModel):
    key: str
    name: str
    defined: int
    reported: int
    share: float
    missing: list[str]


class CoveragePublic(BaseModel):
    pack: str
    city: str | None
    defined: int
    reported: int
    by_theme: list[CoverageGroupPublic]
    by_tier: list[CoverageGroupPublic]


class FindingPublic(BaseModel):
    area_code: str
    grain: str
    period_start: dt.date
    detail: str


class CheckPublic(BaseModel):
    code: str
    kind: str
    description: str
    source: str | None
    cells_checked: int
    passed: bool
    findings: list[FindingPublic]


class ProgressPublic(BaseModel):
    value: float | None
    as_of: dt.date | None
    progress: float | None
    expected: float
    status: str


class PledgePublic(BaseModel):
    number: str
    title_ko: str | None
    title_en: str | None
    owner_department: str
    pack: str
    indicator_codes: list[str]
    unit: str
    baseline_value: float
    baseline_date: dt.date
    target_value: float
    target_date: dt.date
    visibility: str
    progress: ProgressPublic
    milestones: list[dict[str, Any]]
    history: list[dict[str, Any]]


class PledgeBoard(BaseModel):
    city: str
    summary: dict[str, int]
    pledges: list[PledgePublic]
