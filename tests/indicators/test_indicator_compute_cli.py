"""`citymeter indicators compute|values|export|coverage|check` and `citymeter pledges` on a small
demo city (the demo build computes the administration pack and adds its pledges)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.cli.main import app
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.demo.build import build_demo_city
from citymeter.demo.geography import CITY_CODE
from citymeter.indicators.models import Pledge
from citymeter.settings import get_settings

runner = CliRunner()


@pytest.fixture
def demo_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            build_demo_city(session, SYSTEM_VIEWER, districts=3, neighbourhoods=6, months=30)
    finally:
        engine.dispose()
    return database_url


def _pledges(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return session.scalar(select(func.count()).select_from(Pledge)) or 0
    finally:
        engine.dispose()


def test_compute_values_export_coverage_check(demo_url: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["indicators", "compute", "--city", CITY_CODE, "--pack", "administration"]
    )
    assert result.exit_code == 0, result.output
    assert "incremental" in result.output  # the demo build ran the full computation
    assert "0 values" in result.output
    full = runner.invoke(
        app, ["indicators", "compute", "--city", CITY_CODE, "--pack", "administration", "--full"]
    )
    assert full.exit_code == 0 and "full, 15 of 81 indicators computed" in full.output
    assert "unresolved input" not in full.output  # incident inputs have their resolver now
    values = runner.invoke(
        app,
        [
            "indicators",
            "values",
            "employment_rate",
            "--pack",
            "administration",
            "--level",
            "city",
            "--grain",
            "year",
            "--sex",
            "female",
        ],
    )
    assert values.exit_code == 0, values.output
    assert "values." in values.output and "female" in values.output
    out = runner.invoke(
        app,
        [
            "indicators",
            "export",
            "employment_rate",
            "--pack",
            "administration",
            "--format",
            "sdg-csv",
            "--level",
            "district",
            "--grain",
            "year",
        ],
    )
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert rows and {r["Level"] for r in rows} == {"district"} and rows[0]["Target"] == "8.5"
    target = tmp_path / "rate.json"
    saved = runner.invoke(
        app,
        [
            "indicators",
            "export",
            "employment_rate",
            "--pack",
            "administration",
            "--format",
            "json",
            "-o",
            str(target),
        ],
    )
    assert saved.exit_code == 0 and json.loads(target.read_text())[0]["code"] == "employment_rate"
    bad = runner.invoke(app, ["indicators", "export", "employment_rate", "--format", "pdf"])
    assert bad.exit_code == 1 and "pdf" in bad.output
    coverage = runner.invoke(
        app, ["indicators", "coverage", "--pack", "administration", "--city", CITY_CODE]
    )
    assert coverage.exit_code == 0 and "15 of 79 indicators reported" in coverage.output
    check = runner.invoke(app, ["indicators", "check", "--city", CITY_CODE])
    assert check.exit_code == 0 and "5 rules, 0 with findings." in check.output
    unknown = runner.invoke(app, ["indicators", "compute", "--city", "nowhere"])
    assert unknown.exit_code == 1 and "No city" in unknown.output


def test_pledges_commands(demo_url: str) -> None:
    listed = runner.invoke(app, ["pledges", "list", "--city", CITY_CODE])
    assert listed.exit_code == 0, listed.output
    assert _pledges(demo_url) == 12
    added = runner.invoke(
        app,
        [
            "pledges",
            "add",
            "13",
            "--city",
            CITY_CODE,
            "--indicator",
            "employment_rate",
            "--department",
            "Jobs",
            "--baseline",
            "60",
            "--baseline-date",
            "2024-01-01",
            "--target",
            "70",
            "--target-date",
            "2028-01-01",
            "--title-en",
            "Jobs for all",
            "--milestone",
            "2026-01-01:Half way:65",
        ],
    )
    assert added.exit_code == 0, added.output
    shown = runner.invoke(app, ["pledges", "show", "13", "--city", CITY_CODE])
    assert shown.exit_code == 0 and "Half way" in shown.output and "created" in shown.output
    updated = runner.invoke(
        app,
        [
            "pledges",
            "update",
            "13",
            "--city",
            CITY_CODE,
            "--target",
            "75",
            "--note",
            "raised by the council",
        ],
    )
    assert updated.exit_code == 0, updated.output
    shown = runner.invoke(app, ["pledges", "show", "13", "--city", CITY_CODE])
    assert "council" in shown.output and "target 75" in shown.output
    # Bad input: a clear message, and nothing stored.
    bad = runner.invoke(
        app,
        [
            "pledges",
            "add",
            "14",
            "--city",
            CITY_CODE,
            "--indicator",
            "no_such_indicator",
            "--department",
            "Jobs",
            "--baseline",
            "1",
            "--baseline-date",
            "2024-01-01",
            "--target",
            "2",
            "--target-date",
            "2028-01-01",
            "--title-en",
            "x",
        ],
    )
    assert bad.exit_code == 1 and "no_such_indicator" in bad.output
    backwards = runner.invoke(
        app, ["pledges", "update", "13", "--city", CITY_CODE, "--target-date", "2020-01-01"]
    )
    assert backwards.exit_code == 1 and "must come after" in backwards.output
    twice = runner.invoke(
        app,
        [
            "pledges",
            "add",
            "13",
            "--city",
            CITY_CODE,
            "--indicator",
            "employment_rate",
            "--department",
            "Jobs",
            "--baseline",
            "60",
            "--baseline-date",
            "2024-01-01",
            "--target",
            "70",
            "--target-date",
            "2028-01-01",
            "--title-en",
            "again",
        ],
    )
    assert twice.exit_code == 1 and "already" in twice.output
    assert _pledges(demo_url) == 13
