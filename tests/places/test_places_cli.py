"""`citymeter cities`, `citymeter areas` and `citymeter bench lookup` against a real store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from citymeter.cli.main import app
from citymeter.settings import get_settings

runner = CliRunner()


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def _write(tmp_path: Path, name: str, data: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


IMPORT = ["areas", "import", "--code-field", "code", "--name-field", "name"]


def test_cities_add_list_show(store: str) -> None:
    added = _run(
        "cities", "add", "9900000000", "시험시", "--name-en", "Testville", "--country", "kr"
    )
    assert added.exit_code == 0, added.output
    assert "root area 9900000000" in added.output
    listed = _run("cities", "list")
    assert "9900000000" in listed.output and "en: Testville" in listed.output
    shown = _run("cities", "show", "9900000000")
    assert "country: KR" in shown.output and "city" in shown.output
    again = _run("cities", "add", "9900000000", "또")
    assert again.exit_code == 1 and "already exists" in again.output
    bad_zone = _run("cities", "add", "X", "x", "--timezone", "Mars/Olympus")
    assert bad_zone.exit_code == 1 and "Unknown time zone" in bad_zone.output


def test_areas_import_list_show_lookup(store: str, tmp_path: Path, geo: Any) -> None:
    _run("cities", "add", "9900000000", "시험시")
    districts = _write(tmp_path, "districts.geojson", geo.two_districts())
    first = _run(*IMPORT, districts, "--level", "district", "--name-field-lang", "en=name_en")
    assert first.exit_code == 0, first.output
    assert "│ district │ 2        │ 2       │ 0" in first.output
    assert "name [en]: West" in _run("areas", "show", "D1").output
    again = _run(*IMPORT, districts, "--level", "district")
    assert "│ district │ 2        │ 0       │ 2" in again.output
    hoods = _write(tmp_path, "hoods.geojson", geo.four_neighbourhoods())
    third = _run(
        *IMPORT,
        hoods,
        "--level",
        "neighbourhood",
        "--parent-field",
        "district",
        "--name-pattern",
        r"(\S+)$",
        "--population-field",
        "pop",
    )
    assert third.exit_code == 0, third.output
    assert "4 under district" in third.output
    listed = _run("areas", "list", "--level", "neighbourhood")
    assert "4 areas" in listed.output and "1,200" in listed.output
    shown = _run("areas", "show", "N11")
    assert "가동 (N11), neighbourhood" in shown.output
    assert "parents: 서구 (D1) → 시험시 (9900000000)" in shown.output
    found = _run("areas", "lookup", "36.51", "127.01")
    assert found.exit_code == 0
    assert [line.split()[:2] for line in found.output.splitlines()] == [
        ["neighbourhood", "N11"],
        ["district", "D1"],
        ["city", "9900000000"],
    ]
    outside = _run("areas", "lookup", "-33.86", "151.21")  # a negative number is not an option
    assert "outside every area" in outside.output


def test_bad_import_exits_1_lists_problems_and_stores_nothing(
    store: str, tmp_path: Path, geo: Any
) -> None:
    _run("cities", "add", "9900000000", "시험시")
    data = geo.collection(
        geo.feature(geo.square(127.0, 36.5, 0.1), code="OK", name="ok"),
        geo.feature(geo.bow_tie(127.2, 36.5, 0.1), code="BAD", name="bad"),
        geo.feature(geo.square(127.4, 36.5, 0.1), code="ORPHAN", name="o", up="ZZ"),
    )
    path = _write(tmp_path, "bad.geojson", data)
    result = _run(*IMPORT, path, "--level", "district", "--parent-field", "up")
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    assert "feature 2 (code BAD)" in result.output
    assert "unknown parent code 'ZZ'" in result.output
    assert "1 areas" in _run("areas", "list").output


def test_bench_lookup_on_the_synthetic_grid(store: str) -> None:
    result = _run("bench", "lookup", "--synthetic", "--count", "2000")
    assert result.exit_code == 0, result.output
    assert "400 polygons" in result.output
    assert "lookups/s" in result.output and "bare STRtree baseline" in result.output


@pytest.mark.realdata
def test_real_files_through_the_cli(store: str, real_data: Path) -> None:
    _run("cities", "add", "3611000000", "세종특별자치시", "--name-en", "Sejong")
    sejong = _run(
        "areas",
        "import",
        str(real_data / "sejong/sejong_hangjeongdong_admdongkor.geojson"),
        "--level",
        "neighbourhood",
        "--code-field",
        "adm_cd2",
        "--name-field",
        "adm_nm",
        "--name-pattern",
        r"(\S+)$",
    )
    assert sejong.exit_code == 0, sejong.output
    assert "20 under city" in sejong.output
    _run("cities", "add", "E12000007", "London", "--language", "en", "--timezone", "Europe/London")
    london = _run(
        "areas",
        "import",
        str(real_data / "london/london_boroughs.json"),
        "--city",
        "E12000007",
        "--level",
        "borough",
        "--code-field",
        "code",
        "--name-field",
        "name",
    )
    assert "33 under city" in london.output
    westminster = _run("areas", "lookup", "--city", "E12000007", "51.5080", "-0.1281")
    assert "E09000033  Westminster" in westminster.output
