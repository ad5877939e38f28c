"""Run a pack's validation rules (`checks:` in the pack file) on a city's data and list every
finding: the rule, the area, the period and the figures that break it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.errors import NotFound
from citymeter.indicators.inputs import metric_aliases
from citymeter.indicators.loader import load_pack
from citymeter.indicators.models import IndicatorValue
from citymeter.indicators.schema import DataCheck
from citymeter.observations.keys import KEY_COLUMNS, with_keys
from citymeter.observations.models import Metric, Observation
from citymeter.places.models import Area, City

MAX_FINDINGS_PER_CHECK = 200


@dataclass(frozen=True)
class Finding:
    check: str
    area_code: str
    grain: str
    period_start: dt.date
    detail: str


@dataclass
class CheckResult:
    code: str
    kind: str
    description: str
    source: str | None
    cells_checked: int
    findings: list[Finding]

    @property
    def passed(self) -> bool:
        return not self.findings


def _observations(
    session: Session, city_id: int, metric: str
) -> list[tuple[str, str, dt.date, str, str, str, float]]:
    codes = [metric, *metric_aliases().get(metric, [])]
    rows = session.execute(
        with_keys(select(Area.code, *KEY_COLUMNS, Observation.value))
        .join(Metric, Metric.id == Observation.metric_id)
        .join(Area, Area.id == Observation.area_id)
        .where(Metric.code.in_(codes), Area.city_id == city_id)
    ).all()
    return [tuple(r) for r in rows]


def _run(session: Session, city_id: int, pack: str, check: DataCheck) -> CheckResult:
    findings: list[Finding] = []
    checked = 0
    if check.kind == "sum_to":
        assert check.metric and check.across and check.total is not None
        sums: dict[tuple[str, str, dt.date, str, str, str], list[float]] = defaultdict(list)
        prefix = f"{check.across}="
        for area, grain, start, sex, age, dims, value in _observations(
            session, city_id, check.metric
        ):
            parts = [p for p in dims.split(";") if p]
            rest = ";".join(p for p in parts if not p.startswith(prefix))
            if len(rest) == len(dims):
                continue  # not split by the dimension
            sums[(area, grain, start, sex, age, rest)].append(value)
        for (area, grain, start, sex, age, _), values in sorted(sums.items()):
            checked += 1
            total = sum(values)
            if abs(total - check.total) > check.tolerance:
                where = "" if (sex, age) == ("total", "total") else f" (sex {sex}, age {age})"
                findings.append(
                    Finding(
                        check.code,
                        area,
                        grain,
                        start,
                        f"{check.metric} across {check.across} sums to {total:g}, not "
                        f"{check.total:g} ± {check.tolerance:g} ({len(values)} values){where}",
                    )
                )
    elif check.kind == "not_above":
        assert check.metric and check.limit_metric
        limits = {
            (a, g, p, s, b, d): v
            for a, g, p, s, b, d, v in _observations(session, city_id, check.limit_metric)
        }
        for a, g, p, s, b, d, v in _observations(session, city_id, check.metric):
            limit = limits.get((a, g, p, s, b, d))
            if limit is None:
                continue
            checked += 1
            if v > limit:
                findings.append(
                    Finding(
                        check.code,
                        a,
                        g,
                        p,
                        f"{check.metric} {v:g} exceeds {check.limit_metric} {limit:g}"
                        + ("" if (s, b) == ("total", "total") else f" (sex {s}, age {b})"),
                    )
                )
    else:
        rows = session.execute(
            select(
                Area.code,
                IndicatorValue.grain,
                IndicatorValue.period_start,
                IndicatorValue.sex,
                IndicatorValue.age_band,
                IndicatorValue.value,
            )
            .join(Area, Area.id == IndicatorValue.area_id)
            .where(
                IndicatorValue.city_id == city_id,
                IndicatorValue.pack == pack,
                IndicatorValue.code == check.indicator,
            )
        ).all()
        for area, grain, start, sex, age, value in rows:
            checked += 1
            low = check.min is not None and value < check.min
            high = check.max is not None and value > check.max
            if low or high:
                bounds = f"[{'' if check.min is None else f'{check.min:g}'}, "
                bounds += f"{'' if check.max is None else f'{check.max:g}'}]"
                findings.append(
                    Finding(
                        check.code,
                        area,
                        grain,
                        start,
                        f"{check.indicator} = {value:g} is outside {bounds}"
                        + ("" if (sex, age) == ("total", "total") else f" (sex {sex}, age {age})"),
                    )
                )
    return CheckResult(
        check.code, check.kind, check.description, check.source, checked,
        findings[:MAX_FINDINGS_PER_CHECK],
    )  # fmt: skip


def run_checks(session: Session, *, city: str, pack: str = "administration") -> list[CheckResult]:
    """Every rule of the pack on the city's observations and computed values."""
    loaded = load_pack(pack)
    city_id = session.scalar(select(City.id).where(City.code == city))
    if city_id is None:
        raise NotFound(f"No city with code {city!r}.")
    return [_run(session, city_id, loaded.pack.id, check) for check in loaded.pack.checks]
