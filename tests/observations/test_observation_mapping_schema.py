"""The mapping schema: shipped mappings are valid; mistakes are named at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from citymeter.errors import InvalidInput, NotFound
from citymeter.observations.mapping import (
    load_mapping,
    parse_mapping,
    shipped_mapping,
    shipped_mappings,
)

MINIMAL = """
name: t
area: {column: code}
values:
  - column: v
    metric: m
    unit: persons
    period: {grain: year, value: "2020"}
"""


def test_the_two_documented_mappings_ship() -> None:
    assert {"kr-resident-population-by-sex-age", "london-borough-profiles"} <= set(
        shipped_mappings()
    )


@pytest.mark.parametrize("name", sorted(shipped_mappings()))
def test_every_shipped_mapping_is_valid(name: str) -> None:
    mapping = shipped_mapping(name)
    assert mapping.name == name
    assert mapping.description and mapping.source_note
    assert load_mapping(name) == mapping


def test_an_unknown_field_is_named() -> None:
    text = MINIMAL.replace("metric: m", "metric: m\n    colour: red")
    with pytest.raises(InvalidInput) as caught:
        parse_mapping(text)
    assert "values.0.colour: unknown field" in caught.value.message


def test_a_broken_regex_is_refused_at_load() -> None:
    text = MINIMAL.replace("column: v", "header_pattern: '(?P<year>\\d{4'")
    with pytest.raises(InvalidInput, match="not a valid regular expression"):
        parse_mapping(text)


def test_a_period_needs_exactly_one_source() -> None:
    text = MINIMAL.replace('value: "2020"', 'value: "2020", column: year')
    with pytest.raises(InvalidInput, match="exactly one of value, column or from_header"):
        parse_mapping(text)


def test_period_from_header_needs_a_year_group() -> None:
    text = MINIMAL.replace("column: v", "header_pattern: 'v_(?P<month>\\d+)'").replace(
        'value: "2020"', "from_header: true"
    )
    with pytest.raises(InvalidInput, match="year"):
        parse_mapping(text)


def test_an_unknown_encoding_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown encoding 'klingon'"):
        parse_mapping(MINIMAL + "file: {encoding: klingon}\n")


def test_not_yaml_and_not_a_mapping() -> None:
    with pytest.raises(InvalidInput, match="not valid YAML"):
        parse_mapping("name: [unclosed")
    with pytest.raises(InvalidInput, match="must be a YAML mapping"):
        parse_mapping("- a\n- b\n")


def test_an_unknown_mapping_name_lists_the_shipped_ones() -> None:
    with pytest.raises(NotFound, match="london-borough-profiles"):
        load_mapping("no-such-mapping")


@pytest.mark.parametrize("name", sorted(shipped_mappings()))
def test_docs_show_each_shipped_mapping_as_it_ships(name: str) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "mappings.md"
    body = shipped_mappings()[name].split("\n", 1)[1]  # without the leading comment line
    assert body in docs.read_text(encoding="utf-8"), f"docs/mappings.md is out of date for {name}"
