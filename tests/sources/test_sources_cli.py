"""`citymeter sources` against a real store: add, list, show, disable, enable, run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from citymeter.cli.main import app
from citymeter.db.engine import make_engine
from citymeter.entities.models import Entity
from citymeter.settings import get_settings
from citymeter.sources.models import Source

runner = CliRunner()
SHAPED = Path(__file__).parents[1] / "connectors" / "payloads" / "readings_shaped.json"


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def _count(url: str, model: Any) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar() or 0)
    finally:
        engine.dispose()


def test_add_run_show_disable(store: str) -> None:
    config = json.dumps({"path": str(SHAPED)})
    added = _run(
        "sources",
        "add",
        "stations",
        "--name",
        "Air stations",
        "--kind",
        "file",
        "--interval",
        "3600",
        "--department",
        "Environment",
        "--config",
        config,
    )
    assert added.exit_code == 0, added.output
    ran = _run("sources", "run", "stations")
    assert ran.exit_code == 0, ran.output
    assert "stations: success after 1 attempt(s); 2 in, 2 accepted, 0 rejected" in ran.output
    assert _count(store, Entity) == 2
    again = _run("sources", "run", "stations")
    assert "not_modified" in again.output
    listed = _run("sources", "list")
    assert "stations" in listed.output and "fresh" in listed.output and "2/2/0" in listed.output
    shown = _run("sources", "show", "stations")
    assert "Environment" in shown.output and "Last 7 days" in shown.output
    assert _run("sources", "disable", "stations").exit_code == 0
    assert "no" in _run("sources", "list").output
    assert _run("sources", "enable", "stations").exit_code == 0


def test_a_failing_run_exits_non_zero_with_the_reason(store: str, tmp_path: Path) -> None:
    config = json.dumps({"path": str(tmp_path / "missing.json")})
    _run(
        "sources",
        "add",
        "gone",
        "--name",
        "Gone",
        "--kind",
        "file",
        "--retries",
        "0",
        "--config",
        config,
    )
    ran = _run("sources", "run", "gone")
    assert ran.exit_code == 1
    assert "gone: failed after 1 attempt(s)" in ran.output
    assert "There is no file at" in ran.output


def test_bad_input_is_a_message_and_stores_nothing(store: str) -> None:
    cases = [
        (["--kind", "telex"], "no connector of kind 'telex'"),
        (["--kind", "file", "--config", "{not json"], "--config is not valid JSON"),
        (["--kind", "file", "--config", "{}"], "exactly one of `path`"),
        (
            ["--kind", "file", "--schedule", "often", "--config", '{"path": "x.json"}'],
            "neither an interval",
        ),
    ]
    for extra, message in cases:
        result = _run("sources", "add", "x", "--name", "X", *extra)
        assert result.exit_code == 1, extra
        assert message in " ".join(result.output.split()), result.output
    assert _count(store, Source) == 0
    assert _run("sources", "show", "nothing").exit_code == 1
    assert _run("sources", "run").exit_code == 1
