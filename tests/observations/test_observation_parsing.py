"""Cells to numbers, sexes, age bands and periods."""

from __future__ import annotations

import datetime as dt

import pytest

from citymeter.observations.mapping import NumberSpec
from citymeter.observations.parsing import (
    CellError,
    normalise_age,
    normalise_sex,
    number_parser,
    parse_period,
)


def test_numbers_with_separators_and_missing_markers() -> None:
    parse = number_parser(NumberSpec())
    assert parse("195,101") == 195101.0
    assert parse("7,538") == 7538.0
    assert parse(" 3.8 ") == 3.8
    assert parse("-1,176") == -1176.0
    assert parse(12) == 12.0
    for missing in ("", "NaN", "NA", "  ", None, float("nan")):
        assert parse(missing) is None
    with pytest.raises(CellError, match="'abc' is not a number"):
        parse("abc")
    with pytest.raises(CellError, match="misplaced separators"):
        parse("1,23")


def test_european_numbers() -> None:
    parse = number_parser(NumberSpec(thousands_separator=".", decimal_separator=","))
    assert parse("1.234,5") == 1234.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [("남", "male"), ("여", "female"), ("계", "total"), ("M", "male"), ("f", "female")],
)
def test_sexes(text: str, expected: str) -> None:
    assert normalise_sex(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0세", "0"),
        ("30세", "30"),
        ("100세 이상", "100+"),
        ("65+", "65+"),
        ("0~4세", "0-4"),
        ("15-19", "15-19"),
        ("총인구수", "total"),
    ],
)
def test_age_bands(text: str, expected: str) -> None:
    assert normalise_age(text) == expected


def test_bad_sex_and_age_are_cell_errors() -> None:
    with pytest.raises(CellError):
        normalise_sex("x")
    with pytest.raises(CellError):
        normalise_age("old")


@pytest.mark.parametrize(
    ("text", "grain", "expected"),
    [
        ("2015", "year", dt.date(2015, 1, 1)),
        ("2025-04", "month", dt.date(2025, 4, 1)),
        ("202504", "month", dt.date(2025, 4, 1)),
        ("2025년04월", "month", dt.date(2025, 4, 1)),
        ("2015Q3", "quarter", dt.date(2015, 7, 1)),
        ("2025-05", "quarter", dt.date(2025, 4, 1)),
        ("2025-04-30", "day", dt.date(2025, 4, 30)),
        (2017.0, "year", dt.date(2017, 1, 1)),
    ],
)
def test_periods(text: object, grain: str, expected: dt.date) -> None:
    assert parse_period(text, grain) == expected


def test_bad_periods() -> None:
    with pytest.raises(CellError, match="is a year, but the grain is month"):
        parse_period("2015", "month")
    with pytest.raises(CellError, match="no such date"):
        parse_period("2025-13", "month")
