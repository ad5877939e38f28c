"""The demo generator: deterministic for a seed, a plausible city, consistent population."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import numpy as np
import pytest

from citymeter.demo.geography import CITY_CODE, CityMap, generate_map
from citymeter.demo.statistics import (
    WORKING_AGE_FROM_BAND,
    DemoStatistics,
    generate_statistics,
    last_full_month,
)

END = dt.date(2026, 10, 1)


def _geometry_hash(city: CityMap) -> str:
    digest = hashlib.sha256(city.outline.wkb)
    for place in [*city.districts, *city.neighbourhoods]:
        digest.update(place.code.encode())
        digest.update(place.geometry.wkb)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def city() -> CityMap:
    return generate_map(2026)


@pytest.fixture(scope="module")
def stats(city: CityMap) -> DemoStatistics:
    return generate_statistics(2026, city, end=END, months=72)


def test_the_full_size_city_has_25_districts_and_about_400_neighbourhoods(city: CityMap) -> None:
    assert len(city.districts) == 25
    assert 380 <= len(city.neighbourhoods) <= 420
    per_district = [
        sum(1 for n in city.neighbourhoods if n.parent_code == d.code) for d in city.districts
    ]
    assert min(per_district) >= 8 and max(per_district) <= 30


def test_codes_are_korean_style_and_unique(city: CityMap) -> None:
    assert city.code == CITY_CODE == "9900000000"
    codes = [p.code for p in [*city.districts, *city.neighbourhoods]]
    assert len(codes) == len(set(codes))
    for district in city.districts:
        assert re.fullmatch(r"99\d{3}00000", district.code)
        assert district.name_ko.endswith("구") and district.name_en.endswith("-gu")
    for place in city.neighbourhoods:
        assert re.fullmatch(r"99\d{6}00", place.code)
        assert place.parent_code is not None and place.code[:5] == place.parent_code[:5]
        assert place.name_ko.endswith("동") and place.name_en.endswith("-dong")


def test_every_polygon_is_valid_and_inside_its_parent(city: CityMap) -> None:
    districts = {d.code: d.geometry for d in city.districts}
    outline = city.outline.buffer(1e-6)
    for district in city.districts:
        assert district.geometry.geom_type == "Polygon" and district.geometry.is_valid
        assert district.geometry.within(outline)
    for place in city.neighbourhoods:
        assert place.geometry.geom_type == "Polygon" and place.geometry.is_valid
        assert place.geometry.within(districts[place.parent_code or ""].buffer(1e-6))
    # Neighbourhoods tile their district: no gaps worth a city block.
    for code, district in districts.items():
        parts = sum(n.geometry.area for n in city.neighbourhoods if n.parent_code == code)
        assert parts == pytest.approx(district.area, rel=1e-4)


def test_the_city_sits_where_it_should(city: CityMap) -> None:
    west, south, east, north = city.outline.bounds
    assert 126.74 <= west < east <= 127.20
    assert 37.42 <= south < north <= 37.72


def test_same_seed_same_city_other_seed_other_city(city: CityMap, stats: DemoStatistics) -> None:
    again = generate_map(2026)
    assert [p.code for p in again.neighbourhoods] == [p.code for p in city.neighbourhoods]
    assert _geometry_hash(again) == _geometry_hash(city)
    again_stats = generate_statistics(2026, again, end=END, months=72)
    assert np.array_equal(again_stats.population, stats.population)
    assert np.array_equal(again_stats.employed, stats.employed)
    assert np.array_equal(again_stats.jobs_created, stats.jobs_created)
    assert _geometry_hash(generate_map(7)) != _geometry_hash(city)


def test_a_later_build_keeps_the_earlier_months(city: CityMap, stats: DemoStatistics) -> None:
    later = generate_statistics(2026, city, end=dt.date(2027, 3, 1), months=72)
    month = dt.date(2025, 6, 1)
    i, j = stats.months.index(month), later.months.index(month)
    assert np.array_equal(stats.population[i], later.population[j])
    for name in ("employed", "unemployed", "jobs_created", "eco_mileage_members"):
        assert np.array_equal(getattr(stats, name)[i], getattr(later, name)[j]), name


def test_population_adds_up(stats: DemoStatistics) -> None:
    assert stats.population.shape[2:] == (2, 18)
    district = stats.district_population
    assert district.sum() == stats.population.sum()
    for d in range(district.shape[1]):
        assert np.array_equal(
            district[:, d], stats.population[:, stats.district_of == d].sum(axis=1)
        )
    working_age = district[:, :, :, WORKING_AGE_FROM_BAND:].sum(axis=3)
    assert np.array_equal(working_age, stats.working_age)
    people = stats.population[-1].sum()
    assert 7_000_000 < people < 12_000_000


def test_employment_rates_are_plausible_with_a_winter_dip(stats: DemoStatistics) -> None:
    employed = stats.employed.sum(axis=1)  # [t, s]
    working_age = stats.working_age.sum(axis=1)
    overall = employed.sum(axis=1) / working_age.sum(axis=1)
    men, women = employed[:, 0] / working_age[:, 0], employed[:, 1] / working_age[:, 1]
    last_year = slice(-12, None)
    assert 0.59 <= overall[last_year].mean() <= 0.64
    assert 0.67 <= men[last_year].mean() <= 0.72
    assert 0.52 <= women[last_year].mean() <= 0.56
    january = [i for i, m in enumerate(stats.months) if m.month == 1]
    june = [i for i, m in enumerate(stats.months) if m.month == 6]
    assert overall[january].mean() < overall[june].mean() - 0.005
    unemployment = stats.unemployed.sum() / (stats.unemployed.sum() + stats.employed.sum())
    assert 0.02 < unemployment < 0.07
    # Districts differ.
    by_district = stats.employed[-1].sum(axis=1) / stats.working_age[-1].sum(axis=1)
    assert by_district.max() - by_district.min() > 0.02


def test_flows_are_non_negative_and_members_only_grow(stats: DemoStatistics) -> None:
    for name in ("jobs_created", "public_rental_housing_supplied", "mini_solar_installations"):
        assert (getattr(stats, name) >= 0).all(), name
    assert (np.diff(stats.eco_mileage_members, axis=0) >= 0).all()
    assert (stats.households > 0).all()


def test_the_default_end_is_the_last_full_month() -> None:
    assert last_full_month(dt.date(2026, 11, 22)) == dt.date(2026, 10, 1)
    assert last_full_month(dt.date(2026, 1, 1)) == dt.date(2025, 12, 1)


def test_a_small_city_for_quick_builds() -> None:
    small = generate_map(3, districts=4, neighbourhoods=12)
    assert len(small.districts) == 4
    assert len(small.neighbourhoods) == 12
    with pytest.raises(ValueError):
        generate_map(3, districts=1)
