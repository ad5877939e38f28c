"""The city overview the first page shows: the city, its districts with population and boundaries,
and headline figures (latest value, the period it refers to, the change against a year earlier).

Figures are read from observations at the city's own area; a figure whose metrics the store
lacks, or the viewer may not see, is left out rather than shown as zero.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import READ_INTERNAL, Viewer
from citymeter.observations.keys import with_keys
from citymeter.observations.models import Breakdown, Metric, Observation, ObservationPeriod
from citymeter.places import service as places
from citymeter.places.models import Area

TOTAL = "total"


@dataclass(frozen=True)
class Figure:
    """One headline number. Rates are in %, and their change is in percentage points."""

    key: str
    value: float
    unit: str
    period_start: dt.date
    period_end: dt.date  # the last month included (equal to period_start for a single month)
    previous: float | None = None

    @property
    def change(self) -> float | None:
        return None if self.previous is None else self.value - self.previous

    @property
    def change_percent(self) -> float | None:
        if self.previous in (None, 0):
            return None
        assert self.previous is not None
        return 100 * (self.value - self.previous) / self.previous


@dataclass(frozen=True)
class DistrictSummary:
    code: str
    name: str
    names: dict[str, str]
    population: int | None
    area_km2: float | None
    boundary: dict[str, Any] | None
    centroid: tuple[float, float] | None  # lon, lat
    employment_rate: float | None = None

    @property
    def density(self) -> float | None:
        if self.population is None or not self.area_km2:
            return None
        return self.population / self.area_km2


@dataclass(frozen=True)
class CityOverview:
    code: str
    name: str
    names: dict[str, str]
    default_language: str
    outline: dict[str, Any] | None
    population: int | None
    area_km2: float | None
    districts: list[DistrictSummary]
    neighbourhood_boundaries: list[dict[str, Any]]
    neighbourhood_count: int
    figures: list[Figure] = field(default_factory=list)
    other_cities: list[tuple[str, str]] = field(default_factory=list)  # (code, name)


def city_overview(
    session: Session, viewer: Viewer, city_code: str | None = None
) -> CityOverview | None:
    """The overview of the city with this code (default: the first city); None if the store
    has no city yet."""
    cities = places.list_cities(session)
    if not cities:
        return None
    if city_code is not None:
        city = places.get_city(session, city_code)
    else:
        city = min(cities, key=lambda c: c.id)
    root = places.root_area_of(session, city)
    areas = list(
        session.scalars(
            select(Area).where(Area.city_id == city.id, Area.valid_to.is_(None)).order_by(Area.code)
        )
    )
    district_parent = root.id if root is not None else None
    districts = [
        a
        for a in areas
        if a.level == "district" and (a.parent_id == district_parent or root is None)
    ]
    district_ids = {a.id for a in districts}
    neighbourhoods = [a for a in areas if a.parent_id in district_ids]
    figures = _figures(session, viewer, root) if root is not None else []
    rates = _district_employment(session, viewer, [a.id for a in districts], figures)
    return CityOverview(
        code=city.code,
        name=city.name,
        names=dict(city.names or {}),
        default_language=city.default_language,
        outline=_geojson(root.boundary) if root is not None else None,
        population=root.population if root is not None else None,
        area_km2=root.area_km2 if root is not None else None,
        districts=[
            DistrictSummary(
                code=a.code,
                name=a.name,
                names=dict(a.names or {}),
                population=a.population,
                area_km2=a.area_km2,
                boundary=_geojson(a.boundary),
                centroid=(a.centroid_lon, a.centroid_lat)
                if a.centroid_lon is not None and a.centroid_lat is not None
                else None,
                employment_rate=rates.get(a.id),
            )
            for a in districts
        ],
        neighbourhood_boundaries=[
            g for g in (_geojson(a.boundary) for a in neighbourhoods) if g is not None
        ],
        neighbourhood_count=len(neighbourhoods),
        figures=figures,
        other_cities=[(c.code, c.name) for c in cities if c.id != city.id],
    )


def _geojson(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    value: dict[str, Any] = json.loads(text)
    return value


def _metric(session: Session, viewer: Viewer, code: str) -> Metric | None:
    """The metric if it exists and the viewer may see it."""
    metric = session.scalar(select(Metric).where(Metric.code == code))
    if metric is None:
        return None
    if metric.visibility != "public" and not viewer.can(READ_INTERNAL):
        return None
    return metric


def _monthly(
    session: Session, metric: Metric, area_id: int, sex: str = TOTAL
) -> dict[dt.date, float]:
    """The metric's monthly values at one area (all ages, no further breakdown)."""
    rows = session.execute(
        with_keys(select(ObservationPeriod.period_start, Observation.value)).where(
            Observation.metric_id == metric.id,
            Observation.area_id == area_id,
            ObservationPeriod.grain == "month",
            Breakdown.sex == sex,
            Breakdown.age_band == TOTAL,
            Breakdown.dims == "",
        )
    ).all()
    return {period: value for period, value in rows}


def _month_add(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def _stock(key: str, unit: str, series: dict[dt.date, float]) -> Figure | None:
    """The latest value of a stock (e.g. population) and the value a year before it."""
    if not series:
        return None
    latest = max(series)
    return Figure(key, series[latest], unit, latest, latest, series.get(_month_add(latest, -12)))


def _rate(
    key: str, numerator: dict[dt.date, float], denominator: dict[dt.date, float]
) -> Figure | None:
    months = sorted(m for m in numerator if denominator.get(m))
    if not months:
        return None
    latest = months[-1]
    year_before = _month_add(latest, -12)
    previous = None
    if numerator.get(year_before) is not None and denominator.get(year_before):
        previous = 100 * numerator[year_before] / denominator[year_before]
    value = 100 * numerator[latest] / denominator[latest]
    return Figure(key, value, "%", latest, latest, previous)


def _twelve_months(key: str, unit: str, series: dict[dt.date, float]) -> Figure | None:
    """A flow summed over the last 12 months, against the 12 months before; needs all 12."""
    if not series:
        return None
    latest = max(series)
    window = [_month_add(latest, -k) for k in range(12)]
    if any(m not in series for m in window):
        return None
    earlier = [_month_add(latest, -12 - k) for k in range(12)]
    previous = sum(series[m] for m in earlier) if all(m in series for m in earlier) else None
    return Figure(key, sum(series[m] for m in window), unit, window[-1], latest, previous)


def _figures(session: Session, viewer: Viewer, root: Area) -> list[Figure]:
    found: list[Figure | None] = []
    population = _metric(session, viewer, "population")
    if population is not None:
        found.append(_stock("population", population.unit, _monthly(session, population, root.id)))
    employed = _metric(session, viewer, "employed_persons")
    working_age = _metric(session, viewer, "working_age_population")
    if employed is not None and working_age is not None:
        for key, sex in (("employment_rate", TOTAL), ("women_employment_rate", "female")):
            found.append(
                _rate(
                    key,
                    _monthly(session, employed, root.id, sex),
                    _monthly(session, working_age, root.id, sex),
                )
            )
    for code in ("jobs_created", "public_rental_housing_supplied"):
        metric = _metric(session, viewer, code)
        if metric is not None:
            found.append(_twelve_months(code, metric.unit, _monthly(session, metric, root.id)))
    return [f for f in found if f is not None]


def _district_employment(
    session: Session, viewer: Viewer, district_ids: list[int], figures: list[Figure]
) -> dict[int, float]:
    """Each district's employment rate in the month of the city's latest rate."""
    city_rate = next((f for f in figures if f.key == "employment_rate"), None)
    employed = _metric(session, viewer, "employed_persons")
    working_age = _metric(session, viewer, "working_age_population")
    if city_rate is None or employed is None or working_age is None or not district_ids:
        return {}
    values: dict[int, dict[int, float]] = {}
    rows = session.execute(
        with_keys(select(Observation.metric_id, Observation.area_id, func.sum(Observation.value)))
        .where(
            Observation.metric_id.in_([employed.id, working_age.id]),
            Observation.area_id.in_(district_ids),
            ObservationPeriod.grain == "month",
            ObservationPeriod.period_start == city_rate.period_start,
            Breakdown.sex == TOTAL,
            Breakdown.age_band == TOTAL,
            Breakdown.dims == "",
        )
        .group_by(Observation.metric_id, Observation.area_id)
    ).all()
    for metric_id, area_id, value in rows:
        values.setdefault(area_id, {})[metric_id] = float(value)
    return {
        area_id: 100 * pair[employed.id] / pair[working_age.id]
        for area_id, pair in values.items()
        if pair.get(employed.id) is not None and pair.get(working_age.id)
    }
