"""`citymeter frameworks`: list, show, validate and score, without a database."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from citymeter.assessment.loader import shipped_framework, shipped_frameworks
from citymeter.cli.main import app

runner = CliRunner()


def test_list_shows_the_shipped_frameworks() -> None:
    result = runner.invoke(app, ["frameworks", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for framework_id in shipped_frameworks():
        assert framework_id in result.output
    assert "53" in result.output  # scored elements of the Korean-style scheme


def test_show_prints_source_structure_and_rules() -> None:
    result = runner.invoke(
        app, ["frameworks", "show", "iso37106-kitemark-style"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "public_descriptions" in result.output
    assert "Risk management (risk-management) reconstructed" in result.output
    assert "Gate: every item ≥ III" in result.output
    assert "Certificate: 3 years, renewal by recertification, surveillance every 12 months" in (
        result.output
    )


def test_show_an_unknown_framework_exits_1() -> None:
    result = runner.invoke(app, ["frameworks", "show", "no-such-scheme"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "no shipped framework of that id" in result.output


def test_validate_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "kr.yaml"
    path.write_text(shipped_frameworks()["kr-smart-city-certification-style"], encoding="utf-8")
    result = runner.invoke(app, ["frameworks", "validate", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "kr.yaml is a valid framework" in result.output
    assert "10 items, 53 scored elements" in result.output


def test_validate_a_broken_file_exits_1_with_the_message(tmp_path: Path) -> None:
    data = yaml.safe_load(shipped_frameworks()["kr-smart-city-certification-style"])
    data["groups"][0]["items"][1]["colour"] = "blue"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["frameworks", "validate", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "broken.yaml is not a valid framework" in result.output
    assert "group 'innovation-public-capacity' › item 'A2' › colour: unknown field" in result.output
    # Once the fields are right, the cross-checks run and name the element too.
    del data["groups"][0]["items"][1]["colour"]
    data["groups"][0]["items"][0]["sub_indicators"][0]["max_points"] = 45
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["frameworks", "validate", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "item 'A1': sub-indicator points add up to 205, not its max_points 200" in result.output
    assert "Traceback" not in result.output


def test_score_a_maturity_sheet_with_the_roadmap(tmp_path: Path) -> None:
    items = [item.id for item in shipped_framework("iso37106-kitemark-style").all_items()]
    sheet = {item_id: "IV" for item_id in items} | {items[0]: "II"}
    path = tmp_path / "levels.yaml"
    path.write_text(yaml.safe_dump(sheet), encoding="utf-8")
    result = runner.invoke(
        app,
        ["frameworks", "score", "iso37106-kitemark-style", str(path), "--gaps"],
        env={"COLUMNS": "240"},
    )
    assert result.exit_code == 0, result.output
    assert "Overall level III (mature), average 3.91: FAIL" in result.output
    assert "City vision is at level II (in progress)" in result.output
    assert "City vision blocking" in result.output


def test_score_a_points_sheet_with_a_population(tmp_path: Path) -> None:
    sheet = {
        s.id: s.max_points
        for s in shipped_framework("kr-smart-city-certification-style").scored_elements()
    }
    path = tmp_path / "points.yaml"
    path.write_text(yaml.safe_dump(sheet), encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "frameworks",
            "score",
            "kr-smart-city-certification-style",
            str(path),
            "--population",
            "499999",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "2000 of 2000 points (100.0 %), grade 1: CERTIFIED" in result.output
    assert "Class: Under 500,000" in result.output


def test_score_a_benchmark_sheet_and_a_bad_entry(tmp_path: Path) -> None:
    path = tmp_path / "kpis.yaml"
    path.write_text(
        yaml.safe_dump({"EC:ICT:ICT:1": {"value": 96, "target": 100}, "EC:ICT:ICT:2": None}),
        encoding="utf-8",
    )
    result = runner.invoke(
        app,
        ["frameworks", "score", "u4ssc-kpi-verification-style", str(path)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "1 KPIs reported, 90 not reported." in result.output
    path.write_text(yaml.safe_dump({"EC:ICT:ICT:1": 96}), encoding="utf-8")
    result = runner.invoke(app, ["frameworks", "score", "u4ssc-kpi-verification-style", str(path)])
    assert result.exit_code == 1
    assert "EC:ICT:ICT:1: give {value: …, target: …}" in result.output
