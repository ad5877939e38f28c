"""Every shipped pack is valid, and has the structure the issue asks for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from citymeter.errors import InvalidInput
from citymeter.indicators.loader import (
    parse_pack,
    shipped_catalogue,
    shipped_pack,
    shipped_pack_files,
)

DEMO_METRICS = (
    "population", "working_age_population", "employed_persons", "labour_force",
    "unemployed_persons", "jobs_created", "public_rental_housing_supplied",
    "mini_solar_installations", "eco_mileage_members", "households",
)  # fmt: skip


@pytest.mark.parametrize("pack_id", sorted(shipped_pack_files()))
def test_shipped_pack_is_valid(pack_id: str) -> None:
    loaded = shipped_pack(pack_id)
    assert "CityMeter" in loaded.pack.source_note
    assert set(loaded.formulas) == {d.code for d in loaded.indicators}


def test_administration_pack() -> None:
    loaded = shipped_pack("administration")
    assert len(loaded.indicators) >= 60
    themes = {d.theme for d in loaded.indicators}
    assert themes == {
        "economy_jobs", "women_family", "welfare", "housing", "environment_energy", "safety",
        "transport", "citizen_service",
    }  # fmt: skip
    used = set().union(*(f.metrics for f in loaded.formulas.values()))
    assert set(DEMO_METRICS) <= used
    assert sum(1 for d in loaded.indicators if d.breakdowns.sex) >= 15
    assert sum(1 for d in loaded.indicators if d.breakdowns.age_band) >= 10
    women = loaded.formulas["women_employment_rate"]
    assert {r.sex for r in women.metric_refs} == {"female"}


def test_iso_pack_covers_the_19_themes_with_core_flags() -> None:
    loaded = shipped_pack("iso-37120-style")
    assert len(loaded.pack.themes) == 19
    per_theme = Counter(d.theme for d in loaded.indicators)
    assert set(per_theme) == {t.code for t in loaded.pack.themes}
    assert all(d.core is not None for d in loaded.indicators)
    assert any(d.core for d in loaded.indicators) and not all(d.core for d in loaded.indicators)
    assert {d.standard.name for d in loaded.indicators if d.standard} == {
        "ISO 37120-style",
        "ISO 37122-style",
    }
    for code in ("pm25_annual_mean", "homicide_rate", "unemployment_rate"):
        assert loaded.indicator(code).core is True


def test_u4ssc_pack_structure() -> None:
    loaded = shipped_pack("u4ssc-style")
    assert len(loaded.pack.themes) == 3
    assert sum(len(t.children) for t in loaded.pack.themes) == 7
    assert len(loaded.pack.categories) == 22
    assert len(loaded.indicators) == 91
    assert {d.tier for d in loaded.indicators} == {"core", "advanced"}
    assert {d.category for d in loaded.indicators} == {c.code for c in loaded.pack.categories}
    sub_dimensions = {c.code for t in loaded.pack.themes for c in t.children}
    assert {d.theme for d in loaded.indicators} == sub_dimensions
    assert all(d.benchmark_target is not None for d in loaded.indicators)
    reported = [f for f in loaded.formulas.values() if f.is_reported]
    assert reported and len(reported) < len(loaded.indicators)


def test_sdg_links_are_marked() -> None:
    official = [
        (p, d.code, s.indicator)
        for p in shipped_pack_files()
        for d in shipped_pack(p).indicators
        for s in d.sdg
        if s.mapping == "official"
    ]
    assert ("administration", "pm25_annual_mean", "11.6.2") in official
    assert ("iso-37120-style", "homicide_rate", "16.1.1") in official


def test_real_data_targets_have_definitions() -> None:
    loaded = shipped_pack("administration")
    for code in (
        "share_aged_65_plus",
        "unemployment_rate",
        "pm25_annual_mean",
        "complaint_processing_time_median",
    ):
        assert loaded.indicator(code)


def test_catalogue_units_read() -> None:
    catalogue = shipped_catalogue()
    assert catalogue.metrics["population"].unit == "persons"
    assert catalogue.entities["AirQualityStation"]["pm25"] == "µg/m³"


BROKEN = """
id: broken
version: 1
names: {en: Broken}
source_note: A pack written to show the validation errors.
themes: [{code: jobs, names: {en: Jobs}}]
indicators:
  - code: employment_rate
    names: {en: Employment rate}
    unit: persons
    theme: jobs
    direction: higher_is_better
    formula: employed_persons / working_age_population * 100
  - code: mixed
    names: {en: Mixed}
    unit: persons
    theme: nowhere
    direction: up
    formula: population + households
  - code: pinned
    names: {en: Pinned}
    unit: "%"
    theme: jobs
    direction: higher_is_better
    breakdowns: {sex: true}
    colour: red
    formula: employed_persons[sex=female] / population[sex=female] * 100
  - code: pinned2
    names: {en: Pinned}
    unit: "%"
    theme: jobs
    direction: higher_is_better
    breakdowns: {sex: true}
    formula: employed_persons[sex=female] / population[sex=female] * 100
  - code: pinned2
    names: {en: Again}
    unit: "h"
    theme: jobs
    direction: lower_is_better
    breakdowns: {age_band: true}
    formula: median(complaints.processing_hours)
"""


def test_broken_pack_lists_every_error_by_code_and_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_pack(BROKEN, "broken.yaml")
    errors = caught.value.details["errors"]
    assert any(e.startswith("indicator mixed: direction: Input should be") for e in errors)
    assert "indicator pinned: colour: unknown field" in errors


def test_cross_field_errors_name_code_and_field() -> None:
    text = BROKEN.replace("direction: up", "direction: lower_is_better").replace(
        "    colour: red\n", ""
    )
    with pytest.raises(InvalidInput) as caught:
        parse_pack(text, "broken.yaml")
    errors = caught.value.details["errors"]
    assert any(e.startswith("indicator employment_rate: unit: the formula gives %") for e in errors)
    assert "indicator mixed: theme: 'nowhere' is not a theme of the pack" in errors
    assert any(
        e.startswith("indicator mixed: formula: unit mismatch: cannot add persons") for e in errors
    )
    assert any(
        e.startswith("indicator pinned: breakdowns.sex: the formula already pins sex")
        for e in errors
    )
    assert "indicator pinned2: code: used twice in the pack" in errors
    assert any(
        e.startswith("indicator pinned2: breakdowns.age_band: the formula reads no metric")
        for e in errors
    )


def test_indicator_files_are_read_relative_to_the_pack(tmp_path: Path) -> None:
    (tmp_path / "jobs.yaml").write_text(
        "- {code: jobs, names: {en: Jobs}, unit: jobs, theme: t, direction: higher_is_better,\n"
        "   formula: jobs_created}\n",
        encoding="utf-8",
    )
    pack = (
        "id: split\nversion: 1\nnames: {en: Split}\n"
        "source_note: A pack whose indicators live in other files.\n"
        "themes: [{code: t, names: {en: T}}]\nindicator_files: [jobs.yaml, missing.yaml]\n"
    )
    with pytest.raises(InvalidInput) as caught:
        parse_pack(pack, "split.yaml", tmp_path)
    assert caught.value.details["errors"] == ["indicator_files: missing.yaml not found"]
    loaded = parse_pack(pack.replace(", missing.yaml", ""), "split.yaml", tmp_path)
    assert [d.code for d in loaded.indicators] == ["jobs"]
