"""The demo city's numbers: population by sex and age band per neighbourhood, and monthly
administration statistics per district, with trend, seasonality, district effects and noise.

Every figure is a function of the seed and the calendar month, not of the day the demo is built:
random streams start at SERIES_ANCHOR, so a later build adds months without changing earlier ones.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from citymeter.demo.geography import KM_PER_DEG_LAT, KM_PER_DEG_LON, CityMap

AGE_BANDS = (*tuple(f"{a}-{a + 4}" for a in range(0, 85, 5)), "85+")
SEXES = ("male", "female")
WORKING_AGE_FROM_BAND = 3  # 15-19: employment statistics count people aged 15 and over
SERIES_ANCHOR = dt.date(2018, 1, 1)  # random streams start here
REFERENCE = dt.date(2025, 1, 1)  # the population structure below is for this month

# Share of the population in each 5-year band (a large Korean city in the mid-2020s), and the
# male share within each band (women live longer).
_BAND_SHARE = np.array(
    [2.3, 3.0, 3.7, 3.7, 5.5, 7.9, 8.4, 7.3, 7.2, 7.5, 8.0, 7.6, 7.7, 7.0, 5.0, 3.4, 2.4, 2.0]
)
_MALE_SHARE = (
    np.array(
        [
            51.3,
            51.3,
            51.4,
            51.4,
            49.0,
            48.5,
            49.5,
            50.2,
            50.4,
            50.0,
            49.6,
            49.0,
            48.3,
            47.2,
            45.5,
            43.0,
            38.5,
            31.0,
        ]
    )
    / 100
)
# Per year, a band's share grows by this factor relative to the others: the city ages.
_AGEING = 0.028 * (np.array([2.5 + 5 * i for i in range(18)]) - 45) / 40

# Month-of-year effects (January first).
_EMPLOYMENT_SEASON = np.array([-1.1, -0.9, -0.3, 0.1, 0.4, 0.5, 0.3, 0.2, 0.3, 0.5, 0.4, -0.4])
_UNEMPLOYMENT_SEASON = np.array([0.7, 0.9, 0.6, 0.1, -0.1, -0.2, 0.0, -0.2, -0.4, -0.5, -0.5, -0.4])
_JOBS_SEASON = np.array([0.8, 0.9, 1.25, 1.1, 1.0, 0.95, 1.05, 0.9, 1.15, 1.05, 0.95, 0.85])
_SOLAR_SEASON = np.array([0.5, 0.6, 1.0, 1.4, 1.5, 1.4, 1.2, 1.0, 1.1, 1.0, 0.7, 0.6])
_ECO_SEASON = np.array([1.6, 1.0, 0.9, 0.9, 1.0, 1.0, 1.3, 1.1, 0.9, 0.9, 0.8, 0.6])


def month_add(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def last_full_month(today: dt.date) -> dt.date:
    """The first day of the month before `today`'s month: the last month with complete data."""
    return month_add(today.replace(day=1), -1)


@dataclass(frozen=True)
class DemoStatistics:
    months: list[dt.date]  # stored months, oldest first; the last one is the demo's "now"
    # population[t, n, s, b]: persons in neighbourhood n, sex s (male, female), age band b
    population: np.ndarray
    district_of: np.ndarray  # neighbourhood index -> district index
    # District series [t, d, s]: persons aged 15+, employed, unemployed, by sex
    working_age: np.ndarray
    employed: np.ndarray
    unemployed: np.ndarray
    # District series [t, d]
    jobs_created: np.ndarray
    public_rental_housing_supplied: np.ndarray
    mini_solar_installations: np.ndarray
    eco_mileage_members: np.ndarray
    households: np.ndarray

    @property
    def district_population(self) -> np.ndarray:
        """[t, d, s, b], summed from the neighbourhoods (so the two always agree)."""
        count = int(self.district_of.max()) + 1
        out = np.zeros(
            (self.population.shape[0], count, *self.population.shape[2:]), dtype=np.int64
        )
        for d in range(count):
            out[:, d] = self.population[:, self.district_of == d].sum(axis=1)
        return out


def _area_km2(geom_area_deg2: float) -> float:
    return geom_area_deg2 * KM_PER_DEG_LON * KM_PER_DEG_LAT


def _years_since(months: list[dt.date], origin: dt.date) -> np.ndarray:
    return np.array([months_between(origin, m) / 12 for m in months])


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, 2, *key])


def _population(seed: int, city: CityMap, months: list[dt.date]) -> tuple[np.ndarray, np.ndarray]:
    rng = _stream(seed, 0)
    district_index = {d.code: i for i, d in enumerate(city.districts)}
    district_of = np.array([district_index[n.parent_code or ""] for n in city.neighbourhoods])
    areas = np.array([_area_km2(n.geometry.area) for n in city.neighbourhoods])
    density = np.array([n.density for n in city.neighbourhoods])
    people = areas * 11_800 * density  # at REFERENCE
    district_growth = rng.normal(-0.004, 0.008, len(city.districts))
    growth = district_growth[district_of] + rng.normal(0, 0.004, len(people))
    # Each neighbourhood leans towards families, young adults or the old, by a random mix.
    ages = np.array([2.5 + 5 * i for i in range(len(AGE_BANDS))])
    family = np.exp(-(((ages - 8) / 7) ** 2)) + 0.8 * np.exp(-(((ages - 42) / 7) ** 2))
    young = np.exp(-(((ages - 27) / 5) ** 2))
    old = np.clip((ages - 55) / 30, 0, None)
    lean = rng.normal(0, 0.35, (len(people), 3))
    profile = _BAND_SHARE[None, :] * np.exp(
        lean[:, :1] * family + lean[:, 1:2] * young + lean[:, 2:] * old
    )
    years = _years_since(months, REFERENCE)
    shares = profile[None, :, :] * np.exp(_AGEING[None, None, :] * years[:, None, None])
    shares /= shares.sum(axis=2, keepdims=True)
    totals = people[None, :] * (1 + growth[None, :]) ** years[:, None]
    by_band = totals[:, :, None] * shares
    sex = np.stack([_MALE_SHARE, 1 - _MALE_SHARE])  # [s, b]
    population = np.rint(by_band[:, :, None, :] * sex[None, None, :, :]).astype(np.int64)
    return population, district_of


def _labour(
    seed: int, working_age: np.ndarray, all_months: list[dt.date], keep: slice
) -> tuple[np.ndarray, np.ndarray]:
    """Employed and unemployed [t, d, s] from persons aged 15+ and rates with district effects."""
    districts = working_age.shape[1]
    rng = _stream(seed, 1)
    base = np.array([70.2, 52.4])  # % employed of 15+, men and women
    effect = rng.normal(0, 1.6, (districts, 1)) + rng.normal(0, 0.7, (districts, 2))
    unemployment_base = np.array([4.1, 3.7]) + rng.normal(0, 0.5, (districts, 1))
    years = _years_since(all_months, SERIES_ANCHOR)
    trend = np.stack([-0.06 * years, 0.27 * years], axis=1)  # women's employment keeps rising
    calendar = np.array([m.month - 1 for m in all_months])
    since_covid = np.array([months_between(dt.date(2020, 3, 1), m) for m in all_months])
    shock = np.where(since_covid >= 0, np.exp(-np.clip(since_covid, 0, None) / 10.0), 0.0)
    rate = (
        base[None, None, :]
        + effect[None, :, :]
        + trend[:, None, :]
        + _EMPLOYMENT_SEASON[calendar][:, None, None]
        - 2.2 * shock[:, None, None] * np.array([0.8, 1.2])[None, None, :]
        + _stream(seed, 1, 1).normal(0, 0.25, (len(all_months), districts, 2))
    )[keep] / 100
    unemployment = (
        unemployment_base[None, :, :]
        + _UNEMPLOYMENT_SEASON[calendar][:, None, None]
        + 1.1 * shock[:, None, None]
        + _stream(seed, 1, 2).normal(0, 0.2, (len(all_months), districts, 2))
    )[keep] / 100
    employed = np.rint(working_age * rate).astype(np.int64)
    unemployed = np.rint(employed * unemployment / (1 - unemployment)).astype(np.int64)
    return employed, unemployed


def generate_statistics(seed: int, city: CityMap, *, end: dt.date, months: int) -> DemoStatistics:
    """`months` months of statistics ending with the month `end` (its first day)."""
    if months < 1:
        raise ValueError("at least one month")
    end = end.replace(day=1)
    first = month_add(end, -(months - 1))
    if first < SERIES_ANCHOR:
        raise ValueError(f"the demo series start in {SERIES_ANCHOR:%Y-%m}")
    all_months = [
        month_add(SERIES_ANCHOR, i) for i in range(months_between(SERIES_ANCHOR, end) + 1)
    ]
    keep = slice(len(all_months) - months, None)
    stored = all_months[keep]
    population, district_of = _population(seed, city, stored)
    districts = len(city.districts)
    district_people = np.stack(
        [population[:, district_of == d].sum(axis=1) for d in range(districts)], axis=1
    )
    working_age = district_people[:, :, :, WORKING_AGE_FROM_BAND:].sum(axis=3)
    employed, unemployed = _labour(seed, working_age, all_months, keep)
    head_count = district_people.sum(axis=(2, 3)).astype(float)  # [t, d]
    count_all = len(all_months)
    calendar = np.array([m.month - 1 for m in all_months])
    years = _years_since(all_months, SERIES_ANCHOR)
    since_covid = np.array([months_between(dt.date(2020, 3, 1), m) for m in all_months])
    covid_dip = 1 - 0.25 * np.where(since_covid >= 0, np.exp(-np.clip(since_covid, 0, None) / 8), 0)
    # People per district in REFERENCE scale the Poisson rates (the same whatever the build date).
    at_reference, _ = _population(seed, city, [REFERENCE])
    reference_people = np.zeros(districts)
    np.add.at(reference_people, district_of, at_reference[0].sum(axis=(1, 2)))
    scale = reference_people / 1000

    rng = _stream(seed, 3)
    district_pull = rng.lognormal(0, 0.3, districts)
    jobs_rate = (
        scale[None, :]
        * 0.85
        * district_pull[None, :]
        * (1 + 0.03 * years)[:, None]
        * _JOBS_SEASON[calendar][:, None]
        * covid_dip[:, None]
    )
    jobs = _stream(seed, 3, 1).poisson(jobs_rate)[keep]

    rng = _stream(seed, 4)
    projects = rng.poisson(0.22 * (1 + 0.1 * years)[:, None], (count_all, districts))
    sizes = rng.lognormal(math.log(140), 0.6, (count_all, districts))
    trickle = rng.poisson(np.broadcast_to(scale[None, :] * 0.02, (count_all, districts)))
    rental = (np.rint(projects * sizes) + trickle).astype(np.int64)[keep]

    rng = _stream(seed, 5)
    # Mini solar panels: a subsidy boom that fades after 2022.
    policy = 0.4 + 1.2 * np.exp(-(((years - 3.2) / 1.8) ** 2))
    solar_rate = (
        scale[None, :]
        * 0.12
        * rng.lognormal(0, 0.35, districts)[None, :]
        * (policy * 1.0)[:, None]
        * _SOLAR_SEASON[calendar][:, None]
    )
    solar = _stream(seed, 5, 1).poisson(solar_rate)[keep]

    rng = _stream(seed, 6)
    uptake = rng.uniform(0.11, 0.17, districts)
    joins = _stream(seed, 6, 1).poisson(
        scale[None, :] * 0.6 * _ECO_SEASON[calendar][:, None] * np.ones((count_all, 1))
    )
    eco = (np.rint(scale * 1000 * uptake)[None, :] + np.cumsum(joins, axis=0)).astype(np.int64)[
        keep
    ]

    rng = _stream(seed, 7)
    size_effect = rng.normal(0, 0.12, districts)
    household_size = 2.36 + size_effect[None, :] - 0.022 * years[keep][:, None]
    households = np.rint(head_count / household_size).astype(np.int64)

    return DemoStatistics(
        months=stored,
        population=population,
        district_of=district_of,
        working_age=working_age,
        employed=employed,
        unemployed=unemployed,
        jobs_created=jobs.astype(np.int64),
        public_rental_housing_supplied=rental,
        mini_solar_installations=solar.astype(np.int64),
        eco_mileage_members=eco,
        households=households,
    )
