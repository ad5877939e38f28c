"""Where a quantitative sub-indicator's value comes from: CityMeter's own data, with provenance.

A resolver answers "what is indicator X for city C now?" with the value and where it came from.
The default asks the indicator engine's computed values first and falls back to a city-level
observation of a metric with the same code, so pre-fill works before the engine has run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.indicators.models import IndicatorValue
from citymeter.observations.keys import with_keys
from citymeter.observations.models import TOTAL, Breakdown, Metric, Observation, ObservationPeriod
from citymeter.places.models import Area


@dataclass(frozen=True)
class ResolvedValue:
    value: float
    unit: str
    period: str
    provenance: dict[str, Any] = field(default_factory=dict)


class IndicatorResolver(Protocol):
    def resolve(self, session: Session, city_id: int, indicator: str) -> ResolvedValue | None:
        """The city's current value of the indicator, or None when CityMeter has none."""
        ...


def _city_area_id(session: Session, city_id: int) -> int | None:
    return session.scalar(
        select(Area.id).where(Area.city_id == city_id, Area.level == "city").order_by(Area.id)
    )


class IndicatorValueResolver:
    """The newest city-level, whole-population value the indicator engine computed."""

    def resolve(self, session: Session, city_id: int, indicator: str) -> ResolvedValue | None:
        area_id = _city_area_id(session, city_id)
        if area_id is None:
            return None
        row = session.scalars(
            select(IndicatorValue)
            .where(
                IndicatorValue.city_id == city_id,
                IndicatorValue.area_id == area_id,
                IndicatorValue.code == indicator,
                IndicatorValue.sex == "total",
                IndicatorValue.age_band == "total",
            )
            .order_by(IndicatorValue.period_start.desc(), IndicatorValue.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return ResolvedValue(
            value=row.value,
            unit=row.unit,
            period=f"{row.grain} {row.period_start.isoformat()}",
            provenance={
                "kind": "indicator_value",
                "indicator_value_id": row.id,
                "pack": row.pack,
                "code": row.code,
                "definition_version": row.definition_version,
                "quality": row.quality,
                "computed_at": row.computed_at.isoformat(),
            },
        )


class ObservationResolver:
    """The newest city-level, whole-population observation of a metric with the same code."""

    def resolve(self, session: Session, city_id: int, indicator: str) -> ResolvedValue | None:
        area_id = _city_area_id(session, city_id)
        if area_id is None:
            return None
        found = session.execute(
            with_keys(select(Observation, ObservationPeriod))
            .join(Metric, Metric.id == Observation.metric_id)
            .where(
                Metric.code == indicator,
                Observation.area_id == area_id,
                Breakdown.sex == TOTAL,
                Breakdown.age_band == TOTAL,
                Breakdown.dims == "",
            )
            .order_by(ObservationPeriod.period_start.desc(), Observation.id.desc())
            .limit(1)
        ).first()
        if found is None:
            return None
        obs, period = found
        return ResolvedValue(
            value=obs.value,
            unit=obs.unit,
            period=f"{period.grain} {period.period_start.isoformat()}",
            provenance={
                "kind": "observation",
                "observation_id": obs.id,
                "metric": indicator,
                "batch_id": obs.batch_id,
                "source_id": obs.source_id,
            },
        )


class FirstFound:
    """Ask several resolvers in order."""

    def __init__(self, *resolvers: IndicatorResolver) -> None:
        self.resolvers = resolvers

    def resolve(self, session: Session, city_id: int, indicator: str) -> ResolvedValue | None:
        for resolver in self.resolvers:
            found = resolver.resolve(session, city_id, indicator)
            if found is not None:
                return found
        return None


def default_resolver() -> IndicatorResolver:
    return FirstFound(IndicatorValueResolver(), ObservationResolver())
