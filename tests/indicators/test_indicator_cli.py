"""`citymeter indicators` list, show, validate and packs."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from citymeter.cli.main import app
from citymeter.indicators.loader import shipped_pack_files

runner = CliRunner()


def test_packs_lists_the_shipped_packs() -> None:
    result = runner.invoke(app, ["indicators", "packs"])
    assert result.exit_code == 0, result.output
    for pack_id in shipped_pack_files():
        assert pack_id in result.output


def test_list_filters_by_pack_theme_and_sdg() -> None:
    result = runner.invoke(
        app, ["indicators", "list", "--pack", "administration", "--theme", "housing"]
    )
    assert result.exit_code == 0, result.output
    assert "9 indicators." in result.output
    result = runner.invoke(app, ["indicators", "list", "--sdg", "16.1.1"])
    assert result.exit_code == 0, result.output
    assert "2 indicators." in result.output
    result = runner.invoke(app, ["indicators", "list", "--theme", "nowhere"])
    assert result.exit_code == 1
    assert "No pack has the theme 'nowhere'" in result.output


def test_show_prints_formula_unit_and_inputs() -> None:
    result = runner.invoke(app, ["indicators", "show", "women_employment_rate"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert (
        "employed_persons[sex=female] / working_age_population[sex=female] * 100  [%]"
        in result.output
    )
    assert "breakdowns: age_band" in result.output
    result = runner.invoke(app, ["indicators", "show", "nothing_here"])
    assert result.exit_code == 1
    assert "No indicator 'nothing_here'" in result.output


def test_validate_a_good_and_a_broken_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "code: jobs_per_household\nnames: {en: Jobs per household}\nunit: jobs per household\n"
        "theme: economy\ndirection: higher_is_better\nformula: jobs_created / households\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["indicators", "validate", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 indicator definition(s), valid." in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        good.read_text("utf-8").replace("jobs_created / households", "jobs_created + households"),
        "utf-8",
    )
    result = runner.invoke(app, ["indicators", "validate", str(broken)], terminal_width=200)
    assert result.exit_code == 1
    assert "broken.yaml is invalid" in result.output
    assert "indicator jobs_per_household: formula: unit mismatch: cannot add jobs" in result.output
    assert "Traceback" not in result.output


def test_validate_a_shipped_pack_file() -> None:
    path = shipped_pack_files()["u4ssc-style"]
    result = runner.invoke(app, ["indicators", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "pack u4ssc-style v1, 91 indicators, valid." in result.output
