"""Scoring rules of the shipped frameworks, with the worked examples of the certification issue."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import yaml

from citymeter.assessment import scoring
from citymeter.assessment.loader import parse_framework, shipped_framework
from citymeter.assessment.schema import Framework
from citymeter.assessment.scoring import CityStanding, KpiMeasure, Score
from citymeter.errors import InvalidInput

KITEMARK = shipped_framework("iso37106-kitemark-style")
KOREA = shipped_framework("kr-smart-city-certification-style")
U4SSC = shipped_framework("u4ssc-kpi-verification-style")
ITEMS = [item.id for item in KITEMARK.all_items()]
SUBS = [(s.id, s.max_points or 0.0) for s in KOREA.scored_elements()]


def _levels(*counts: tuple[int, int]) -> dict[str, int]:
    values = [level for level, n in counts for _ in range(n)]
    assert len(values) == len(ITEMS)
    return dict(zip(ITEMS, values, strict=True))


def _korea_points(total: int) -> dict[str, float]:
    """Whole points spread over the 53 sub-indicators, filling each in turn."""
    points: dict[str, float] = {}
    left = total
    for sub_id, top in SUBS:
        given = min(top, left)
        points[sub_id] = given
        left -= int(given)
    assert left == 0
    return points


# ---- maturity --------------------------------------------------------------------------------


def test_5_at_v_14_at_iv_3_at_iii_is_overall_iv_and_a_pass() -> None:
    result = scoring.maturity_result(KITEMARK, _levels((5, 5), (4, 14), (3, 3)))
    assert result.average == pytest.approx(90 / 22)
    assert result.overall_level.code == "IV"
    assert result.passed and result.failing == ()


def test_one_item_at_ii_fails_whatever_the_average() -> None:
    levels = _levels((5, 21), (2, 1))
    result = scoring.maturity_result(KITEMARK, levels)
    assert result.overall_level.code == "IV"  # (105 + 2) / 22 = 4.86, rounded down
    assert not result.passed
    assert [f.item_id for f in result.failing] == [ITEMS[-1]]
    assert "level II" in result.failing[0].reason and "III" in result.failing[0].reason


def test_overall_rule_is_configurable() -> None:
    data: dict[str, Any] = yaml.safe_load(KITEMARK.model_dump_json())
    levels = _levels((5, 11), (4, 11))  # average 4.5
    data["aggregation"]["overall_level"] = "round"
    assert scoring.maturity_result(Framework.model_validate(data), levels).overall_level.code == "V"
    data["aggregation"]["overall_level"] = "min"
    assert (
        scoring.maturity_result(Framework.model_validate(data), levels).overall_level.code == "IV"
    )
    assert scoring.maturity_result(KITEMARK, levels).overall_level.code == "IV"


def test_levels_by_code_and_bad_levels_name_the_item() -> None:
    by_code = {item_id: "III" for item_id in ITEMS}
    assert scoring.maturity_result(KITEMARK, by_code).overall_level.code == "III"
    with pytest.raises(InvalidInput, match=r"roadmap \(Roadmap\): 6 is not a level"):
        scoring.maturity_result(KITEMARK, by_code | {"roadmap": 6})
    with pytest.raises(InvalidInput, match=r"1 element\(s\) .* have no score: open-platform"):
        scoring.maturity_result(
            KITEMARK, {k: v for k, v in by_code.items() if k != "open-platform"}
        )
    with pytest.raises(InvalidInput, match=r"Not elements of .*: city-visoin"):
        scoring.maturity_result(KITEMARK, by_code | {"city-visoin": 3})


# ---- points ---------------------------------------------------------------------------------


def test_1399_points_is_not_certified_and_1400_is() -> None:
    below = scoring.points_result(KOREA, _korea_points(1399))
    assert below.total == 1399 and not below.passed and not below.certified
    assert below.grade is not None and below.grade.grade == "4"
    at = scoring.points_result(KOREA, _korea_points(1400))
    assert at.total == 1400 and at.percent == pytest.approx(70)
    assert at.passed and at.certified
    assert at.grade is not None and at.grade.grade == "3"


@pytest.mark.parametrize(
    ("total", "grade", "certified"),
    [
        (0, "5", False),
        (1199, "5", False),
        (1200, "4", False),
        (1599, "3", True),
        (1600, "2", True),
        (1799, "2", True),
        (1800, "1", True),
        (2000, "1", True),
    ],
)
def test_grade_band_edges(total: int, grade: str, certified: bool) -> None:
    result = scoring.points_result(KOREA, _korea_points(total))
    assert result.grade is not None and result.grade.grade == grade
    assert result.certified is certified


def test_area_subtotals_add_up_to_the_total() -> None:
    result = scoring.points_result(KOREA, _korea_points(1500))
    assert [a.max_points for a in result.areas] == [600, 600, 800]
    assert sum(a.points for a in result.areas) == result.total == 1500
    assert result.areas[0].points == 600 and result.areas[0].percent == 100
    assert sum(i.points for i in result.items) == 1500


def test_class_assignment_by_population() -> None:
    assert scoring.population_class(KOREA, 499_999) == KOREA.eligibility.classes[1]
    assert scoring.population_class(KOREA, 500_000) == KOREA.eligibility.classes[0]
    result = scoring.points_result(KOREA, _korea_points(1400), population=500_000)
    assert result.population_class is not None and result.population_class.id == "large"
    with pytest.raises(InvalidInput, match="cannot be negative"):
        scoring.population_class(KOREA, -1)


def test_points_outside_the_scale_name_the_sub_indicator() -> None:
    points = _korea_points(1400) | {"A1-1": 41}
    with pytest.raises(InvalidInput, match=r"A1-1 \(.*\): 41 points is outside the scale 0-40"):
        scoring.points_result(KOREA, points)
    with pytest.raises(InvalidInput, match="outside the scale"):
        scoring.points_result(KOREA, _korea_points(1400) | {"C4-3": -1})


def test_weighted_sum_counts_each_items_share_by_its_weight(
    small_framework_data: dict[str, Any],
) -> None:
    small_framework_data["aggregation"] = {"method": "weighted_sum", "weights_total": 1}
    items = [
        *small_framework_data["groups"][0]["items"],
        *small_framework_data["groups"][1]["items"],
    ]
    for item, weight in zip(items, [0.5, 0.25, 0.25], strict=True):
        item["weight"] = weight
    fw = parse_framework(yaml.safe_dump(small_framework_data))
    # transport full (50 % of the scale), waste half (12.5), strategy none.
    result = scoring.points_result(fw, {"bus-info": 25, "bus-plan": 15, "waste": 10, "strategy": 0})
    assert result.total == pytest.approx(62.5)
    assert result.certified and result.grade is not None and result.grade.grade == "B"


# ---- committee --------------------------------------------------------------------------------


def _scores(*values: float) -> list[Score]:
    return [
        Score(v, justification="seen in the evidence", assessor=f"a{n}")
        for n, v in enumerate(values)
    ]


def test_trimmed_mean_with_9_assessors_drops_the_highest_and_lowest() -> None:
    scores = _scores(0, 30, 31, 32, 33, 34, 35, 36, 40)
    result = scoring.committee_score(KOREA, "A1-1", scores)
    assert KOREA.committee.aggregation == "trimmed_mean"
    assert result.value == pytest.approx((30 + 31 + 32 + 33 + 34 + 35 + 36) / 7)
    assert result.spread == 40
    assert result.disagreement  # 40 points apart on a 40-point sub-indicator, threshold 50 %
    calm = scoring.committee_score(KOREA, "A1-1", _scores(30, 31, 32, 33, 34, 35, 36, 37, 38))
    assert not calm.disagreement and calm.value == pytest.approx(34)


def test_aggregate_rules() -> None:
    assert scoring.aggregate([1, 2, 9], "mean") == 4
    assert scoring.aggregate([1, 2, 9], "median") == 2
    assert scoring.aggregate([1, 2, 3, 4, 100], "trimmed_mean", 0.2) == 3
    assert scoring.aggregate([1, 2, 3, 4, 100], "trimmed_mean", 0.1) == 22  # floor(0.5) = 0 cut


def test_maturity_committee_gives_a_level_and_flags_disagreement() -> None:
    result = scoring.committee_score(KITEMARK, "roadmap", _scores("III", "IV", "IV"))
    assert result.value == 4 and result.level is not None and result.level.code == "IV"
    assert not result.disagreement
    split = scoring.committee_score(KITEMARK, "roadmap", _scores(2, 4, 4))
    assert split.spread == 2 and split.disagreement


def test_missing_justification_names_the_item() -> None:
    with pytest.raises(
        InvalidInput, match=r"roadmap \(Roadmap\): the score by b needs a justification"
    ):
        scoring.committee_score(KITEMARK, "roadmap", [*_scores(3), Score(3, "  ", assessor="b")])
    with pytest.raises(InvalidInput) as caught:
        scoring.validate_scores(
            KITEMARK,
            {
                "roadmap": Score(3),
                "leadership": Score(7, "strong"),
                "open-platform": Score(4, "ok"),
            },
        )
    assert len(caught.value.details["errors"]) == 2
    assert scoring.validate_scores(KITEMARK, {"open-platform": Score("IV", "API catalogue")}) == {
        "open-platform": 4.0
    }


# ---- benchmark --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "points"),
    [(0, 1), (32.9, 1), (33, 2), (65.9, 2), (66, 3), (94.9, 3), (95, 4), (250, 4)],
)
def test_itu_benchmark_points_by_share_of_target(percent: float, points: int) -> None:
    assert scoring.benchmark_points(U4SSC, percent) == points


def test_share_of_target_honours_the_kpis_direction() -> None:
    assert scoring.share_of_target(45, 50) == pytest.approx(90)
    assert scoring.share_of_target(10, 5, "lower_is_better") == pytest.approx(50)
    with pytest.raises(InvalidInput, match="target must be above 0"):
        scoring.share_of_target(1, 0)


def test_education_example_from_the_verification_reports() -> None:
    education = ["SC:EH:E:1", "SC:EH:E:2", "SC:EH:E:3", "SC:EH:E:4"]
    four = scoring.benchmark_scores(U4SSC, dict(zip(education, [1, 3, 4, 1], strict=True)))
    category = next(c for c in four.categories if c.id == "SC:EH:E")
    assert (category.earned, category.possible, category.percent) == (9, 16, 56.25)
    assert category.band == "33-66"
    three = scoring.benchmark_scores(U4SSC, dict(zip(education[:3], [3, 4, 2], strict=True)))
    category = next(c for c in three.categories if c.id == "SC:EH:E")
    assert (category.earned, category.possible, category.percent) == (9, 12, 75)
    assert category.band == "66-95"
    assert "SC:EH:E:4" in three.not_reported
    society = next(g for g in three.groups if g.id == "SC")
    assert (society.earned, society.possible) == (9, 12)


def test_benchmark_result_from_values_and_targets() -> None:
    result = scoring.benchmark_result(
        U4SSC,
        {
            "EC:ICT:ICT:1": KpiMeasure(value=96, target=100),  # 96 % → 4
            "EC:P:E:1": KpiMeasure(value=10, target=5),  # unemployment, lower is better: 50 % → 2
            "EC:ICT:WS:1": None,
        },
    )
    assert result.kpi_points == {"EC:ICT:ICT:1": 4, "EC:P:E:1": 2}
    economy = next(g for g in result.groups if g.id == "EC")
    assert (economy.earned, economy.possible, economy.reported) == (6, 8, 2)
    assert result.overall.percent == 75
    with pytest.raises(InvalidInput, match="not a benchmark score"):
        scoring.benchmark_scores(U4SSC, {"EC:ICT:ICT:1": 5})


# ---- gap analysis and ranking ------------------------------------------------------------------


def test_gap_analysis_for_maturity_puts_blocking_items_first() -> None:
    levels = _levels((5, 1), (4, 19), (3, 1), (2, 1))
    roadmap = scoring.gap_analysis(KITEMARK, levels)
    assert len(roadmap) == 22
    first = roadmap[0]
    assert first.item_id == ITEMS[-1] and first.blocking
    assert first.current == "II (in progress)" and first.next == "III (mature)"
    assert first.gap == KITEMARK.level_scale().levels[2].descriptor
    assert roadmap[1].item_id == ITEMS[-2] and not roadmap[1].blocking
    top = next(step for step in roadmap if step.item_id == ITEMS[0])
    assert top.next is None and "top level" in top.gap


def test_gap_analysis_for_points_lists_the_open_sub_indicators() -> None:
    roadmap = scoring.gap_analysis(KOREA, _korea_points(1399))
    # Areas A and B are full (1,200); C1 holds the other 199 points; C2-C4 are empty.
    assert [(s.item_id, s.points_short) for s in roadmap[:4]] == [
        ("C2", 240),
        ("C3", 160),
        ("C4", 120),
        ("C1", 81),
    ]
    assert all(step.blocking for step in roadmap if step.points_short)
    c1 = roadmap[3]
    assert c1.current == "199 / 280" and c1.next == "280 / 280"
    assert c1.gap.startswith("Points open in: C1-6 ")
    assert "C1-5 Smart administration and civil services (1 of 40)" in c1.gap
    full = next(step for step in roadmap if step.item_id == "A1")
    assert full.next is None and full.points_short == 0
    assert scoring.next_grade(KOREA, 1399) == (KOREA.grade_bands[2], 1)


def test_ranking_by_overall_then_total_with_stable_ties() -> None:
    standings = [
        CityStanding("Ansan", 3, 3.4),
        CityStanding("Busan", 4, 4.1),
        CityStanding("Cheongju", 4, 4.3),
        CityStanding("Daegu", 4, 4.1),
        CityStanding("Eumseong", None, 0),
    ]
    ranked = scoring.rank_cities(standings)
    assert [(r.rank, r.standing.city) for r in ranked] == [
        (1, "Cheongju"),
        (2, "Busan"),
        (2, "Daegu"),
        (4, "Ansan"),
        (5, "Eumseong"),
    ]
    by_points = scoring.rank_cities([CityStanding("x", None, 1400), CityStanding("y", None, 1500)])
    assert [r.standing.city for r in by_points] == ["y", "x"]


def test_certificate_schedule_from_the_framework() -> None:
    kite = scoring.certificate_schedule(KITEMARK, date(2024, 3, 15))
    assert kite.expires == date(2027, 3, 15)
    assert kite.surveillance == (date(2025, 3, 15), date(2026, 3, 15))
    korea = scoring.certificate_schedule(KOREA, date(2024, 2, 29))
    assert korea.expires == date(2026, 2, 28)
    assert korea.renewal_due == date(2025, 11, 28)
    with pytest.raises(InvalidInput, match="issues no certificate"):
        scoring.certificate_schedule(U4SSC, date(2024, 1, 1))
