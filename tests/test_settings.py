"""Settings come from CITYMETER_* variables and an optional TOML file; variables win."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from citymeter.settings import Settings


def test_defaults_put_sqlite_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CITYMETER_DATABASE_URL", raising=False)
    monkeypatch.setenv("CITYMETER_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'citymeter.db'}"


def test_config_file_is_read_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "citymeter.toml"
    config.write_text('port = 9001\nmax_upload_mb = 7\ntimezone = "Europe/London"\n')
    monkeypatch.setenv("CITYMETER_CONFIG", str(config))
    monkeypatch.setenv("CITYMETER_PORT", "9002")
    settings = Settings()
    assert settings.port == 9002
    assert settings.max_upload_mb == 7
    assert settings.max_upload_bytes == 7 * 1024 * 1024
    assert settings.timezone == "Europe/London"


def test_unknown_setting_in_the_config_file_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "citymeter.toml"
    config.write_text("prot = 9001\n")
    monkeypatch.setenv("CITYMETER_CONFIG", str(config))
    with pytest.raises(ValidationError, match="prot"):
        Settings()


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = settings.resolved_secret_key()
    assert len(first) > 40
    assert Settings(data_dir=tmp_path).resolved_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
