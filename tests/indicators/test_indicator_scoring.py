"""U4SSC-style benchmark scoring: points per KPI and scores per category and dimension."""

from __future__ import annotations

import pytest

from citymeter.indicators.loader import parse_pack, shipped_pack
from citymeter.indicators.scoring import points, score_pack, share_of_target


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (0.0, 1),
        (32.9, 1),
        (33.0, 2),
        (65.99, 2),
        (66.0, 3),
        (94.99, 3),
        (95.0, 4),
        (100.0, 4),
        (180.0, 4),
    ],
)
def test_points_bands(share: float, expected: int) -> None:
    assert points(share) == expected


def test_share_from_values_at_the_band_edges() -> None:
    assert points(share_of_target(0.33, 1.0, "higher_is_better")) == 2
    assert points(share_of_target(0.329, 1.0, "higher_is_better")) == 1
    assert points(share_of_target(0.95, 1.0, "higher_is_better")) == 4


def test_lower_is_better_share_is_target_over_value() -> None:
    # Target 4 % unemployment: 4 → 100 %, 6.06 → 66 %, 12.2 → 32.8 %.
    assert points(share_of_target(4.0, 4.0, "lower_is_better")) == 4
    assert points(share_of_target(6.0, 4.0, "lower_is_better")) == 3
    assert points(share_of_target(12.2, 4.0, "lower_is_better")) == 1
    assert points(share_of_target(0.0, 4.0, "lower_is_better")) == 4


def test_target_range() -> None:
    assert share_of_target(1.0, 0, "target_range", (0.8, 1.5)) == 100.0
    assert share_of_target(3.0, 0, "target_range", (0.8, 1.5)) == 50.0


PACK = """
id: mini
version: 1
names: {en: Mini}
source_note: A small pack to check how scores roll up.
uses_tiers: true
themes:
  - code: economy
    names: {en: Economy}
    children: [{code: productivity, names: {en: Productivity}}]
  - code: environment
    names: {en: Environment}
    children: [{code: energy_sub, names: {en: Energy}}]
categories: [{code: employment, names: {en: Employment}}, {code: energy, names: {en: Energy}}]
indicators:
  - {code: unemployment, names: {en: U}, unit: "%", theme: productivity,
     category: employment, tier: core, direction: lower_is_better,
     benchmark_target: 4, formula: unemployment_rate}
  - {code: employment, names: {en: E}, unit: "%", theme: productivity,
     category: employment, tier: core, direction: higher_is_better,
     benchmark_target: 80, formula: employment_rate}
  - {code: pm25, names: {en: P}, unit: "µg/m³", theme: energy_sub, category: energy, tier: advanced,
     direction: lower_is_better, benchmark_target: 10, formula: pm25_annual_mean}
"""


def test_scores_are_points_earned_over_points_possible() -> None:
    loaded = parse_pack(PACK, "mini.yaml")
    score = score_pack(loaded, {"unemployment": 6.0, "employment": 20.0})
    assert score.kpis["unemployment"].points == 3
    assert score.kpis["employment"].points == 1
    employment = score.categories["employment"]
    assert (employment.earned, employment.possible) == (4, 8)
    assert employment.score == 0.5
    assert score.themes["economy"].score == 0.5
    assert score.themes["environment"].score is None
    assert score.themes["environment"].not_scored == ["pm25"]
    assert (score.total.earned, score.total.possible, score.total.scored) == (4, 8, 2)


def test_u4ssc_pack_can_be_scored() -> None:
    loaded = shipped_pack("u4ssc-style")
    score = score_pack(loaded, {"unemployment_rate": 4.0, "air_pollution_pm25": 19.4066})
    assert score.kpis["unemployment_rate"].points == 4
    assert score.kpis["air_pollution_pm25"].points == 2  # 10 / 19.4 = 51.5 % of the target
    assert score.themes["economy"].earned == 4 and score.themes["environment"].earned == 2
