"""The demo city's measurement: compute the administration pack and add a dozen pledges whose
targets put them on track, at risk, off track or achieved, so the pledge board shows each state."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.indicators import engine, pledges
from citymeter.indicators.loader import shipped_pack
from citymeter.indicators.models import IndicatorValue, Pledge
from citymeter.places.models import Area, City

PACK = "administration"
DEPARTMENTS = {
    "economy_jobs": "일자리정책과 (Jobs Policy Division)",
    "women_family": "여성가족정책과 (Women and Family Policy Division)",
    "welfare": "복지정책과 (Welfare Policy Division)",
    "housing": "주택정책과 (Housing Policy Division)",
    "environment_energy": "기후환경과 (Climate and Environment Division)",
    "safety": "안전총괄과 (Safety Division)",
    "transport": "교통정책과 (Transport Policy Division)",
    "citizen_service": "시민소통과 (Citizen Communication Division)",
}
# (indicator, share of the way to the target reached by the latest value, relative to the
# straight-line expectation): > 1 ahead, ~1 on track, 0.6–0.8 at risk, < 0.5 off track.
PLAN: tuple[tuple[str, float], ...] = (
    ("employment_rate", 1.05),
    ("women_employment_rate", 0.95),
    ("economic_participation_rate", 1.0),
    ("jobs_created", 1.6),
    ("public_rental_housing_supplied", 0.7),
    ("mini_solar_installations", 0.75),
    ("eco_mileage_members", 0.3),
    ("eco_mileage_participation", 0.9),
    ("mini_solar_per_100_households", 0.4),
    ("jobs_created_per_1000_residents", 0.65),
    ("women_participation_rate", 1.1),
    ("unemployment_rate", 0.2),
)
TERM_YEARS = 8


def _city_series(
    session: Session, city: City, code: str, grain: str
) -> list[tuple[dt.date, float]]:
    return [
        (start, value)
        for start, value in session.execute(
            select(IndicatorValue.period_start, IndicatorValue.value)
            .join(Area, Area.id == IndicatorValue.area_id)
            .where(
                IndicatorValue.city_id == city.id,
                IndicatorValue.pack == PACK,
                IndicatorValue.code == code,
                IndicatorValue.grain == grain,
                IndicatorValue.sex == "total",
                IndicatorValue.age_band == "total",
                Area.level == "city",
            )
            .order_by(IndicatorValue.period_start)
        )
    ]


def round_target(value: float) -> tuple[float, str]:
    """A target as a mayor would announce it: three significant figures, written out in full
    ("136,000", "62.6", "0.0525"), never in exponent notation."""
    if value == 0:
        return 0.0, "0"
    rounded = float(f"{value:.3g}")
    decimals = max(0, 2 - math.floor(math.log10(abs(rounded))))
    return rounded, f"{rounded:,.{decimals}f}"


def seed_indicators(session: Session, actor: Viewer, city_code: str) -> dict[str, Any]:
    """Compute the administration pack for the city and add the demo pledges (idempotent)."""
    report = engine.compute(session, city_code=city_code, pack_id=PACK, full=True)
    city = session.scalar(select(City).where(City.code == city_code))
    assert city is not None
    loaded = shipped_pack(PACK)
    made = 0
    for number, (code, pace) in enumerate(PLAN, start=1):
        definition = loaded.indicator(code)
        grain = pledges.measure_grain(definition)
        series = _city_series(session, city, code, grain)
        if len(series) < 2:
            continue
        (base_date, base), (last_date, latest) = series[0], series[-1]
        if latest == base:
            continue
        target_date = base_date.replace(year=base_date.year + TERM_YEARS)
        elapsed = (last_date - base_date).days / (target_date - base_date).days
        # The latest value is `pace` × the expected share of the way: solve for the target.
        target = base + (latest - base) / max(elapsed * pace, 0.05)
        if pace < 0.5:  # off track: the target lies the other way from the trend
            target = base - (latest - base) * 2
        exists = session.scalar(
            select(Pledge.id).where(Pledge.city_id == city.id, Pledge.number == f"{number}")
        )
        if exists:
            continue
        unit = definition.unit
        target, shown = round_target(target)
        pledges.add_pledge(
            session, actor, city=city_code, number=str(number),
            title_ko=f"{definition.names.ko or definition.names.en} {shown}{unit} 달성",
            title_en=f"{definition.names.en}: {shown} {unit} by {target_date.year}",
            owner_department=DEPARTMENTS.get(definition.theme, "기획조정실 (Planning Office)"),
            indicator_codes=[code], baseline_value=round(base, 3), baseline_date=base_date,
            target_value=round(target, 3), target_date=target_date,
            milestones=[
                {"due": base_date.replace(year=base_date.year + TERM_YEARS // 2).isoformat(),
                 "title": "Mid-term review / 중간 점검",
                 "target_value": round(base + (target - base) / 2, 3)},
            ],
        )  # fmt: skip
        made += 1
    views = pledges.board(session, actor, city_code)
    return {
        "indicator_values": report.values_written,
        "indicators_computed": len(report.computed),
        "pledges": made,
        "pledge_statuses": pledges.board_summary(views),
    }
