"""Evaluating formulas on hand-made inputs, including the real-data targets of the issue."""

from __future__ import annotations

import datetime as dt

import pytest

from citymeter.indicators.formula import FormulaError
from citymeter.indicators.loader import shipped_pack

ADMIN = shipped_pack("administration")


def test_share_aged_65_plus_for_sejong() -> None:
    # Sejong, April 2025 resident registration: 46,349 of 391,992 residents are 65+ (11.82 %).
    formula = ADMIN.formulas["share_aged_65_plus"]
    value = formula.evaluate({"population[age_band=65+]": 46_349, "population": 391_992})
    assert round(value, 2) == 11.82


def test_share_aged_65_plus_falls_back_to_the_reported_share() -> None:
    formula = ADMIN.formulas["share_aged_65_plus"]
    assert formula.evaluate({"population_share_65_plus": 17.5}) == 17.5


def test_pm25_annual_mean_from_the_published_annual_figure() -> None:
    # Sejong 2021 in the Korean annual air file (PM25avg 19.4066): no station history,
    # so the reported annual value is used.
    formula = ADMIN.formulas["pm25_annual_mean"]
    assert formula.evaluate({"pm25_annual_mean": 19.4066}) == 19.4066


def test_pm25_annual_mean_from_station_history() -> None:
    formula = ADMIN.formulas["pm25_annual_mean"]
    (aggregate,) = [a for a in formula.aggregates if a.function.name != "coalesce"]
    day1 = dt.datetime(2021, 1, 1, 1)
    day2 = dt.datetime(2021, 1, 2, 1)
    samples = [(day1, 10.0), (day1.replace(hour=2), 30.0), (day2, 40.0)]
    # Daily means 20 and 40: the mean of daily means is 30, not the sample mean 26.67.
    assert formula.evaluate({}, {aggregate.key: samples}) == 30.0
    # Station history wins over a published figure when both exist.
    assert formula.evaluate({"pm25_annual_mean": 1.0}, {aggregate.key: samples}) == 30.0


def test_unemployment_ranking_uses_reported_rates() -> None:
    # London borough profiles 2015: Barking and Dagenham 11.0 (highest), Enfield 3.8 (lowest).
    formula = ADMIN.formulas["unemployment_rate"]
    boroughs = {"Barking and Dagenham": 11.0, "Enfield": 3.8, "Camden": 4.0}
    values = {
        name: formula.evaluate({"unemployment_rate": rate}) for name, rate in boroughs.items()
    }
    assert max(values, key=values.__getitem__) == "Barking and Dagenham"
    assert min(values, key=values.__getitem__) == "Enfield"
    with pytest.raises(FormulaError, match="missing input"):
        formula.evaluate({})  # City of London: no rate, reported as missing, never as 0


def test_unemployment_rate_computed_from_counts() -> None:
    formula = ADMIN.formulas["unemployment_rate"]
    assert formula.evaluate({"unemployed_persons": 30, "labour_force": 1000}) == 3.0


def test_complaint_processing_time_median_from_records() -> None:
    formula = ADMIN.formulas["complaint_processing_time_median"]
    (aggregate,) = formula.aggregates
    records = [{"processing_hours": h} for h in (1.0, 67.164, 200.0, -2.0, 90.0)]
    assert formula.evaluate({}, {aggregate.key: records}) == 67.164
    assert formula.evaluate({aggregate.key: 67.164}) == 67.164


def test_count_and_share_over_records() -> None:
    fires = ADMIN.formulas["fire_incidents"]
    (count,) = fires.aggregates
    incidents = [{"type": "fire"}, {"type": "flood"}, {"type": "fire"}]
    assert fires.evaluate({}, {count.key: incidents}) == 2
    late = ADMIN.formulas["complaints_closed_late_share"]
    (share,) = late.aggregates
    complaints = [
        {"closed_late": True},
        {"closed_late": False},
        {"closed_late": False},
        {"closed_late": True},
    ]
    assert late.evaluate({}, {share.key: complaints}) == 50.0


def test_division_by_zero_names_indicator_and_inputs() -> None:
    formula = ADMIN.formulas["employment_rate"]
    with pytest.raises(FormulaError) as caught:
        formula.evaluate({"employed_persons": 10, "working_age_population": 0})
    message = caught.value.message
    assert "Indicator employment_rate" in message and "division by zero" in message
    assert "employed_persons" in message and "working_age_population" in message


def test_missing_inputs_are_all_named() -> None:
    formula = ADMIN.formulas["women_employment_rate"]
    with pytest.raises(FormulaError) as caught:
        formula.evaluate({"population": 5})
    assert caught.value.inputs == (
        "employed_persons[sex=female]",
        "working_age_population[sex=female]",
    )
    assert "Indicator women_employment_rate: missing input" in caught.value.message


def test_an_aggregate_with_no_data_is_an_error_naming_it() -> None:
    formula = ADMIN.formulas["complaint_processing_time_median"]
    (aggregate,) = formula.aggregates
    with pytest.raises(FormulaError, match="no values of processing_hours"):
        formula.evaluate({}, {aggregate.key: []})
