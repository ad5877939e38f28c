"""Framework files: every shipped file is valid and honest about its source; mistakes are named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from citymeter.assessment.loader import (
    list_frameworks,
    load_framework,
    load_framework_file,
    parse_framework,
    shipped_framework,
    shipped_frameworks,
)
from citymeter.assessment.schema import Framework, LevelScale
from citymeter.errors import InvalidInput, NotFound

SHIPPED = sorted(shipped_frameworks())


def test_the_three_frameworks_ship() -> None:
    assert SHIPPED == [
        "iso37106-kitemark-style",
        "kr-smart-city-certification-style",
        "u4ssc-kpi-verification-style",
    ]


@pytest.mark.parametrize("stem", SHIPPED)
def test_shipped_framework_is_valid_and_says_where_it_comes_from(stem: str) -> None:
    framework = shipped_framework(stem)
    assert framework.id == stem, "the file is named after the framework id"
    assert framework.source.basis == "public_descriptions"
    assert "not the official" in framework.source.note
    assert framework.source.published and framework.source.reconstructed
    assert framework.stages


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse_framework(_dump(data), "town.yaml")
    errors = caught.value.details["errors"]
    assert isinstance(errors, list)
    return errors


def test_kitemark_style_has_22_items_in_4_groups_against_4_principles() -> None:
    fw = shipped_framework("iso37106-kitemark-style")
    assert [p.name for p in fw.principles] == [
        "Visionary",
        "Citizen-centric",
        "Digital",
        "Open and collaborative",
    ]
    assert [g.name for g in fw.groups] == [
        "Business management",
        "Citizen-centric service management",
        "Technology and digital asset management",
        "Benefit realisation",
    ]
    items = list(fw.all_items())
    assert len(items) == 22
    reconstructed = sorted(i.name for i in items if i.reconstructed)
    assert reconstructed == [
        "Common terminology and reference model",
        "Interoperability requirements",
        "Procurement and supplier management",
        "Risk management",
    ]
    assert all(item.principles for item in items)
    scale = fw.scale
    assert isinstance(scale, LevelScale)
    assert [(lv.code, lv.label) for lv in scale.levels] == [
        ("I", "poor"),
        ("II", "in progress"),
        ("III", "mature"),
        ("IV", "advanced"),
        ("V", "excellent"),
    ]
    assert [g.min_level for g in fw.aggregation.gates] == ["III"]
    assert fw.aggregation.overall_level == "floor"
    assert [s.kind for s in fw.stages][:3] == ["document_review", "on_site", "decision"]
    assert fw.certificate is not None
    assert (fw.certificate.validity_years, fw.certificate.surveillance_every_months) == (3, 12)
    assert fw.certificate.renewal == "recertification"


def test_kr_style_has_53_sub_indicators_worth_2000_points() -> None:
    fw = shipped_framework("kr-smart-city-certification-style")
    assert [g.name for g in fw.groups] == [
        "Innovation and public capacity",
        "Institutional basis and delivery system",
        "Smart services and infrastructure",
    ]
    subs = fw.scored_elements()
    assert len(list(fw.all_items())) == 10
    assert len(subs) == 53
    assert sum(s.max_points or 0 for s in subs) == 2000
    assert {s.type for s in subs if hasattr(s, "type")} == {"quantitative", "qualitative"}
    assert fw.pass_line() == pytest.approx(1400)
    assert [b.grade for b in fw.grade_bands if b.certified] == ["3", "2", "1"]
    assert len(fw.grade_bands) == 5
    # Only the 1,400-point line is published; every other cut-off is labelled a default.
    assert all(b.default for b in fw.grade_bands if b.min_points != 1400)
    assert [(c.population_min, c.population_max) for c in fw.eligibility.classes] == [
        (500000, None),
        (0, 500000),
    ]
    assert fw.committee.size == 9 and fw.committee.per_class
    roles = {s.kind: s.role for s in fw.stages}
    assert roles["document_review"] == "decides" and roles["on_site"] == "confirms"
    assert fw.certificate is not None
    assert (fw.certificate.validity_years, fw.certificate.renewal_notice_months) == (2, 3)


def test_u4ssc_style_has_3_dimensions_7_sub_dimensions_22_categories() -> None:
    fw = shipped_framework("u4ssc-kpi-verification-style")
    assert [g.name for g in fw.groups] == ["Economy", "Environment", "Society and culture"]
    assert sum(len(g.groups) for g in fw.groups) == 7
    assert len({item.name for item in fw.all_items()}) == 22
    kpis = fw.scored_elements()
    assert {getattr(k, "tier", None) for k in kpis} == {"core", "advanced"}
    assert all(getattr(k, "indicator", None) == k.id for k in kpis)


def test_list_and_load_by_id_or_path(tmp_path: Path) -> None:
    assert [fw.id for fw in list_frameworks()] == SHIPPED
    assert load_framework("kr-smart-city-certification-style").kind == "points"
    own = tmp_path / "own.yaml"
    own.write_text(shipped_frameworks()["iso37106-kitemark-style"], encoding="utf-8")
    assert load_framework(str(own)).id == "iso37106-kitemark-style"
    with pytest.raises(NotFound, match="no shipped framework"):
        load_framework(str(tmp_path / "missing.yaml"))
    with pytest.raises(NotFound, match="No shipped framework is named"):
        shipped_framework("../etc/passwd")


def test_a_certification_bodys_own_file_loads(
    tmp_path: Path, small_framework_data: dict[str, Any]
) -> None:
    path = tmp_path / "town.yaml"
    path.write_text(_dump(small_framework_data), encoding="utf-8")
    fw = load_framework_file(path)
    assert isinstance(fw, Framework)
    assert fw.max_points() == 100 and fw.pass_line() == 60


def test_unknown_field_is_named_with_the_elements_path(
    small_framework_data: dict[str, Any],
) -> None:
    small_framework_data["groups"][0]["items"][0]["sub_indicators"][1]["maxpoints"] = 15
    errors = _errors(small_framework_data)
    assert errors == [
        "group 'services' › item 'transport' › sub-indicator 'bus-plan' › maxpoints: "
        "unknown field (check the spelling; docs/frameworks.md lists the fields)"
    ]


def test_duplicate_item_id(small_framework_data: dict[str, Any]) -> None:
    small_framework_data["groups"][1]["items"][0]["id"] = "waste"
    assert any("duplicate item id 'waste'" in e for e in _errors(small_framework_data))


def test_weights_that_do_not_add_up(small_framework_data: dict[str, Any]) -> None:
    small_framework_data["aggregation"] = {"method": "weighted_sum", "weights_total": 1.0}
    for item, weight in zip(
        [*small_framework_data["groups"][0]["items"], *small_framework_data["groups"][1]["items"]],
        [0.5, 0.3, 0.3],
        strict=True,
    ):
        item["weight"] = weight
    assert any(
        "item weights add up to 1.1, not the declared weights_total 1" in e
        for e in _errors(small_framework_data)
    )
    small_framework_data["groups"][1]["items"][0]["weight"] = 0.2
    assert parse_framework(_dump(small_framework_data)).aggregation.method == "weighted_sum"


def test_points_that_do_not_sum_to_the_declared_max(small_framework_data: dict[str, Any]) -> None:
    small_framework_data["groups"][0]["items"][0]["sub_indicators"][0]["max_points"] = 20
    errors = _errors(small_framework_data)
    assert any(
        "item 'transport': sub-indicator points add up to 35, not its max_points 40" in e
        for e in errors
    )
    small_framework_data["groups"][0]["items"][0]["max_points"] = 35
    errors = _errors(small_framework_data)
    assert any("group 'services': its items add up to 55 points" in e for e in errors)
    assert any("not the declared scale.total 100" in e for e in errors)


def test_grade_bands_not_ascending(small_framework_data: dict[str, Any]) -> None:
    bands = small_framework_data["grade_bands"]
    bands[1], bands[2] = bands[2], bands[1]
    assert any(
        "grade bands must be listed with ascending lower bounds: grade 'B'" in e
        for e in _errors(small_framework_data)
    )


def test_certified_band_below_the_pass_line(small_framework_data: dict[str, Any]) -> None:
    small_framework_data["grade_bands"][1]["min_points"] = 50
    assert any(
        "grade 'B' is certified but starts at 50 points, below the pass line of 60" in e
        for e in _errors(small_framework_data)
    )


def test_gate_referring_to_an_unknown_level() -> None:
    data = yaml.safe_load(shipped_frameworks()["iso37106-kitemark-style"])
    data["aggregation"]["gates"] = [{"min_level": "VI"}]
    errors = _errors(data)
    assert any(
        "gate 1 refers to unknown level 'VI' (levels: I, II, III, IV, V)" in e for e in errors
    )


def test_reconstructed_without_a_note(small_framework_data: dict[str, Any]) -> None:
    del small_framework_data["groups"][1]["items"][0]["note"]
    assert any(
        "'strategy' is marked reconstructed: say how in `note`" in e
        for e in _errors(small_framework_data)
    )


def test_overlapping_classes_and_missing_source_note(small_framework_data: dict[str, Any]) -> None:
    small_framework_data["eligibility"]["classes"][1]["population_min"] = 40000
    del small_framework_data["source"]["note"]
    errors = _errors(small_framework_data)
    assert any("source › note: Field required" in e for e in errors)
    small_framework_data["source"]["note"] = "Written by the certification body itself."
    assert any(
        "population classes 'small' and 'large' overlap" in e for e in _errors(small_framework_data)
    )


def test_not_yaml_and_not_a_mapping() -> None:
    with pytest.raises(InvalidInput, match="not valid YAML"):
        parse_framework("id: [unclosed", "bad.yaml")
    with pytest.raises(InvalidInput, match="must be a YAML mapping"):
        parse_framework("- a list", "bad.yaml")


DOC = (Path(__file__).resolve().parents[2] / "docs" / "frameworks.md").read_text(encoding="utf-8")


def test_the_docs_example_is_a_valid_framework() -> None:
    example = DOC.split("```yaml\n", 1)[1].split("```", 1)[0]
    fw = parse_framework(example, "the docs example")
    assert fw.max_points() == 100 and fw.pass_line() == 60


def test_every_schema_field_is_in_the_docs() -> None:
    from citymeter.assessment import schema

    models = [
        getattr(schema, name)
        for name in dir(schema)
        if isinstance(getattr(schema, name), type)
        and issubclass(getattr(schema, name), schema.BaseModel)
        and getattr(schema, name).__module__ == schema.__name__
    ]
    fields = {field for model in models for field in model.model_fields}
    missing = sorted(field for field in fields if f"`{field}`" not in DOC)
    assert not missing, f"docs/frameworks.md does not describe {missing}"
