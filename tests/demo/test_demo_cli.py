"""`citymeter demo --no-serve`: migrates a new store, builds the city once, prints the accounts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from citymeter.cli.main import app
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.observations.models import Observation
from citymeter.places.models import Area
from citymeter.settings import get_settings

runner = CliRunner()


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("CITYMETER_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def _text(result: Any) -> str:
    """The output with Rich's line wrapping undone."""
    return " ".join(str(result.output).split())


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            areas = session.scalar(select(func.count()).select_from(Area)) or 0
            observations = session.scalar(select(func.count()).select_from(Observation)) or 0
            return areas, observations
    finally:
        engine.dispose()


def test_demo_builds_a_new_data_dir_and_is_idempotent(
    clean_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data_dir = tmp_path / "fresh"
    clean_settings.setenv("CITYMETER_DATA_DIR", str(data_dir))
    result = _run("demo", "--no-serve", "--months", "13", "--until", "2026-10", "--port", "8123")
    assert result.exit_code == 0, result.output
    output = _text(result)
    assert "Built 한빛특별시" in output and "25 districts" in output
    assert "http://127.0.0.1:8123/login" in output
    for username in ("mayor", "district.head", "steward", "certifier", "admin"):
        assert username in output
    url = f"sqlite:///{(data_dir / 'citymeter.db').resolve()}"
    areas, observations = _counts(url)
    assert 1 + 25 + 380 <= areas <= 1 + 25 + 420 and observations > 10_000

    again = _run("demo", "--no-serve")
    assert again.exit_code == 0, again.output
    assert "built already" in _text(again) and "mayor" in again.output
    assert _counts(url) == (areas, observations)

    rebuilt = _run("demo", "--no-serve", "--reset", "--months", "13", "--until", "2026-10")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Removed the demo city" in _text(rebuilt) and "Built" in rebuilt.output
    assert _counts(url) == (areas, observations)


def test_demo_on_the_configured_database(
    database_url: str, clean_settings: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_settings.setenv("CITYMETER_DATABASE_URL", database_url)
    clean_settings.setenv("CITYMETER_DATA_DIR", str(tmp_path))
    result = _run("demo", "--no-serve", "--months", "13", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "seed 5" in _text(result)
    areas, observations = _counts(database_url)
    assert areas > 400 and observations > 10_000


def test_a_bad_month_is_a_clear_error(clean_settings: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_settings.setenv("CITYMETER_DATA_DIR", str(tmp_path))
    result = _run("demo", "--no-serve", "--until", "October")
    assert result.exit_code == 1
    assert "--until wants a month like 2026-10" in _text(result)
    assert not (tmp_path / "citymeter.db").exists()
