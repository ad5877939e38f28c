"""`citymeter complaints import / services / sla` on the real January Boston file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from citymeter.cli.main import app
from citymeter.settings import get_settings

pytestmark = pytest.mark.realdata


def test_import_services_and_sla(
    database_url: str, real_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    added = runner.invoke(
        app, ["cities", "add", "boston", "Boston", "--timezone", "America/New_York"]
    )
    assert added.exit_code == 0, added.output
    path = real_data / "boston_311_2015" / "boston_311_2015_january.csv"
    dry = runner.invoke(app, ["complaints", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "would store 7528" in dry.output
    done = runner.invoke(app, ["complaints", "import", str(path), "--format", "boston-311"])
    assert done.exit_code == 0, done.output
    assert "stored 7528" in done.output and "closed 6078, open 1450" in done.output
    assert "placeholder coordinates" in done.output
    listed = runner.invoke(app, ["complaints", "services"])
    assert listed.exit_code == 0 and "Street" in listed.output
    levels = runner.invoke(app, ["complaints", "sla", "--month", "2015-01"])
    assert levels.exit_code == 0 and "7528" in levels.output
    bad = runner.invoke(app, ["complaints", "sla", "--month", "January"])
    assert bad.exit_code == 1 and "not a month" in bad.output
    wrong = runner.invoke(app, ["complaints", "import", str(path), "--format", "csv"])
    assert wrong.exit_code == 1 and "Unknown format" in wrong.output
    get_settings.cache_clear()
