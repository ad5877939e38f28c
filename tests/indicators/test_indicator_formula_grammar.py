"""The formula language: tokens, precedence, selectors, function calls and syntax errors."""

from __future__ import annotations

import math

import pytest

from citymeter.indicators.breakdowns import AgeRange, select_age_bands
from citymeter.indicators.formula import (
    Binary,
    Call,
    FieldPath,
    FormulaError,
    MetricRef,
    Number,
    Unary,
    parse,
    render,
)


def test_multiplication_binds_tighter_than_addition() -> None:
    tree = parse("a + b * c")
    assert isinstance(tree, Binary) and tree.op == "+"
    assert isinstance(tree.right, Binary) and tree.right.op == "*"


def test_left_associative_division_and_parentheses() -> None:
    tree = parse("a / b / c")
    assert isinstance(tree, Binary) and isinstance(tree.left, Binary)
    assert render(tree) == "a / b / c"
    grouped = parse("a / (b / c)")
    assert isinstance(grouped, Binary) and isinstance(grouped.right, Binary)
    assert render(grouped) == "a / (b / c)"


def test_unary_minus_and_numbers() -> None:
    tree = parse("-a * 2.5e1")
    assert isinstance(tree, Binary) and isinstance(tree.left, Unary)
    assert isinstance(tree.right, Number) and tree.right.value == 25.0
    assert render(parse("10 - 5")) == "10 - 5"
    assert render(parse("--a")) == "--a"


def test_selectors_pin_sex_and_age_ranges() -> None:
    ref = parse("employed_persons[sex=female]")
    assert (
        isinstance(ref, MetricRef)
        and ref.sex == "female"
        and ref.key == "employed_persons[sex=female]"
    )
    older = parse("population[age_band>=65]")
    assert isinstance(older, MetricRef) and older.ages == AgeRange(65, math.inf)
    assert older.key == "population[age_band=65+]"
    working = parse("population[age_band>=15, age_band<65, sex=male]")
    assert isinstance(working, MetricRef) and working.key == "population[age_band=15-64,sex=male]"
    assert parse("population[age_band=15-64]") == MetricRef("population", 0, None, AgeRange(15, 64))
    tenure = parse("households[tenure='public rent']")
    assert isinstance(tenure, MetricRef) and tenure.dims == (("tenure", "public rent"),)


def test_function_calls_with_named_and_positional_arguments() -> None:
    call = parse("days_above(entity: AirQualityStation, attr: pm25, threshold: 35)")
    assert isinstance(call, Call) and call.name == "days_above"
    assert [a.name for a in call.args] == ["entity", "attr", "threshold"]
    median = parse("median(incidents.response_time_s) / 60")
    assert isinstance(median, Binary) and isinstance(median.left, Call)
    assert median.left.args[0].value == FieldPath("incidents", "response_time_s", 7)
    count = parse("count(incidents, type: 'fire')")
    assert isinstance(count, Call) and count.args[1].name == "type"


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("a +", 4, "end of the formula"),
        ("(a + b", 7, "expected ')'"),
        ("a b", 3, "operator is missing"),
        ("a $ b", 3, "unexpected '$'"),
        ("population[sex=other]", 16, "sex is one of"),
        ("population[age_band>=x]", 22, "whole number"),
        ("population[age_band>=70, age_band<60]", 35, "no age at all"),
        ("complaints.processing_hours", 11, "only be a function argument"),
        ("", 1, "empty"),
        ("f(a,)", 5, "expected a number"),
    ],
)
def test_syntax_errors_name_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(FormulaError) as caught:
        parse(text, "my_indicator")
    assert f"position {position}" in caught.value.message
    assert words in caught.value.message
    assert caught.value.message.startswith("Indicator my_indicator:")


def test_age_band_selection_takes_bands_wholly_inside_the_range() -> None:
    labels = ["total", "60", "64", "65", "66", "99", "100+"]
    assert select_age_bands(labels, AgeRange(65, math.inf)) == ["65", "66", "99", "100+"]
    assert select_age_bands(["60-64", "65-69", "70+"], AgeRange(65, math.inf)) == ["65-69", "70+"]
    assert select_age_bands(["0-4", "5-9"], AgeRange(0, 5)) == ["0-4"]
    with pytest.raises(ValueError, match="overlap"):
        select_age_bands(["65", "65-69"], AgeRange(65, math.inf))
