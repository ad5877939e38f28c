"""`citymeter observations` and `citymeter metrics` against a fresh store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citymeter.cli.common import CLI_ACTOR, open_session
from citymeter.cli.main import app
from citymeter.places import service as places
from citymeter.settings import get_settings

runner = CliRunner()
FILE = (
    "행정구역,2025년04월_남_총인구수,2025년04월_여_총인구수\n"
    "X시  (1111000000),10,12\nY시  (9999000000),1,1\n"
)
MAPPING = """
name: cli-test
file: {encoding: utf-8}
area: {column: 행정구역, pattern: '\\((\\d{10})\\)', unknown: reject}
values:
  - header_pattern: '(?P<year>\\d{4})년(?P<month>\\d{2})월_(?P<sex>남|여)_(?P<age>총인구수)'
    metric: residents
    unit: persons
    period: {grain: month, from_header: true}
"""


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    with open_session() as session:
        city = places.create_city(session, CLI_ACTOR, code="x", name="X")
        places.add_area(session, None, city=city, code="1111000000", level="city", name="X")
    yield
    get_settings.cache_clear()


def test_import_list_rejects_query_and_undo(store: None, tmp_path: Path) -> None:
    data = tmp_path / "people.csv"
    data.write_text(FILE, encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")

    dry = runner.invoke(app, ["observations", "import", str(data), "-m", str(mapping), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run (nothing stored)" in dry.output
    empty = runner.invoke(app, ["observations", "query"])
    assert "0 of 0 observation(s)" in empty.output

    result = runner.invoke(app, ["observations", "import", str(data), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    found = re.search(r"Batch (\d+):", result.output)
    assert found is not None, result.output
    batch = found.group(1)  # PostgreSQL sequences skip the id the dry run used
    assert "9999000000" in result.output  # the unmatched area is listed

    rejects = runner.invoke(app, ["observations", "rejects", batch])
    assert "9999000000" in rejects.output
    query = runner.invoke(
        app, ["observations", "query", "--metric", "residents", "--sex", "female"]
    )
    assert "1 of 1 observation(s)" in query.output and "12" in query.output
    batches = runner.invoke(app, ["observations", "batches"])
    assert batches.exit_code == 0 and "done" in batches.output

    again = runner.invoke(app, ["observations", "import", str(data), "--mapping", str(mapping)])
    assert f"imported before (batch {batch})" in again.output

    undo = runner.invoke(app, ["observations", "undo", batch])
    assert undo.exit_code == 0 and "2 observation(s) removed" in undo.output
    metrics = runner.invoke(app, ["metrics", "list"])
    assert "residents" in metrics.output


def test_bad_input_is_one_clear_line(store: None, tmp_path: Path) -> None:
    data = tmp_path / "people.csv"
    data.write_bytes(FILE.encode("cp949"))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    result = runner.invoke(app, ["observations", "import", str(data), "-m", str(mapping)])
    assert result.exit_code == 1
    assert "does not decode as utf-8" in result.output
    assert "Traceback" not in result.output
    missing = runner.invoke(app, ["observations", "import", str(data), "-m", "nope"])
    assert missing.exit_code == 1 and "shipped:" in missing.output


def test_metrics_add(store: None) -> None:
    added = runner.invoke(app, ["metrics", "add", "pm25", "--name", "PM2.5", "--unit", "µg/m³"])
    assert added.exit_code == 0, added.output
    again = runner.invoke(app, ["metrics", "add", "pm25", "--name", "PM2.5", "--unit", "µg/m³"])
    assert again.exit_code == 1 and "already exists" in again.output
