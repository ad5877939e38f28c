"""Units: reading declared units, deriving a formula's unit, refusing conflicts."""

from __future__ import annotations

import pytest

from citymeter.indicators.formula import Catalogue, FormulaError, compile_formula
from citymeter.indicators.units import UnitError, conflict, describe, parse_unit

CATALOGUE = Catalogue(
    metrics={
        "population": "persons", "employed_persons": "persons", "homicides": "count",
        "households": "households", "household_waste": "t", "water_use": "m³ per year",
        "unemployment_rate": "%", "park_area": "m²",
    },
    entities={"AirQualityStation": {"pm25": "µg/m³"}},
    records={"complaints": {"processing_hours": "h", "closed_late": "bool", "type": "text"},
             "incidents": {"response_time_s": "s", "type": "text"}},
)  # fmt: skip


@pytest.mark.parametrize(
    ("formula", "unit"),
    [
        ("employed_persons / population * 100", "%"),
        ("employed_persons / population", "ratio"),
        ("homicides / population * 100000", "per 100,000 persons"),
        ("population / households", "persons per household"),
        ("household_waste / population * 1000", "kg per person"),
        ("water_use / population * 1000 / 365.25", "l per person per day"),
        ("median(complaints.processing_hours)", "h"),
        ("median(incidents.response_time_s) / 60", "min"),
        ("share(complaints.closed_late) * 100", "%"),
        ("days_above(entity: AirQualityStation, attr: pm25, threshold: 35)", "days"),
        ("100 - unemployment_rate", "%"),
        ("park_area / population", "m² per person"),
    ],
)
def test_derived_unit(formula: str, unit: str) -> None:
    derived = compile_formula(formula, "x", CATALOGUE).unit
    assert conflict(derived, unit) is None, describe(derived)


def test_declared_unit_that_conflicts_is_reported() -> None:
    derived = compile_formula("employed_persons / population", "x", CATALOGUE).unit
    problem = conflict(derived, "%")
    assert problem is not None and "multiply the ratio by 100" in problem
    assert (
        conflict(compile_formula("population / households", "x", CATALOGUE).unit, "%") is not None
    )


@pytest.mark.parametrize(
    ("formula", "words"),
    [
        ("population + households", "cannot add persons (population) and households (households)"),
        (
            "unemployment_rate - employed_persons / population",
            "cannot subtract % (unemployment_rate) and ratio",
        ),
        ("coalesce(population, households)", "unit mismatch in coalesce()"),
    ],
)
def test_mixing_units_in_addition_is_an_error(formula: str, words: str) -> None:
    with pytest.raises(FormulaError) as caught:
        compile_formula(formula, "mixed", CATALOGUE)
    assert words in caught.value.message
    assert "Indicator mixed" in caught.value.message


@pytest.mark.parametrize(
    ("formula", "words"),
    [
        ("populaton / households", "unknown metric 'populaton'; did you mean population"),
        ("median(complaints.type)", "needs a numeric field"),
        ("share(complaints.processing_hours)", "needs a yes/no field"),
        ("daily_mean(entity: Bus, attr: pm25)", "unknown entity type 'Bus'"),
        ("daily_mean(entity: AirQualityStation, attr: ozone)", "has no attribute 'ozone'"),
        ("days_above(entity: AirQualityStation, attr: pm25)", "needs the argument 'threshold'"),
        ("days_above(entity: AirQualityStation, attr: pm25, threshold: high)", "takes a number"),
        ("count(complaints, colour: red)", "no field 'colour'"),
        ("median(complaints.processing_hours, complaints.processing_hours)", "unnamed argument"),
        ("daily_mean(entity: AirQualityStation, attr: pm25, at: 3)", "has no argument 'at'"),
        ("average(population)", "unknown function 'average'"),
        ("population / (2 - 2)", "division by zero"),
    ],
)
def test_checking_errors_name_the_problem(formula: str, words: str) -> None:
    with pytest.raises(FormulaError) as caught:
        compile_formula(formula, "checked", CATALOGUE)
    assert words in caught.value.message


def test_unit_reading() -> None:
    assert parse_unit("per 100,000 persons").same_as(parse_unit("homicides per 100,000 population"))
    assert parse_unit("µg/m³").same_as(parse_unit("µg per m³"))
    assert parse_unit("%").scale == 0.01
    with pytest.raises(UnitError, match="unknown unit 'furlongs'"):
        parse_unit("furlongs")
    with pytest.raises(UnitError, match="must be followed"):
        parse_unit("persons per")
