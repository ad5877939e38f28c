"""Installation settings, read from CITYMETER_* environment variables and an optional TOML file.

The file is named by CITYMETER_CONFIG; environment variables win over the file.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYMETER_", extra="forbid")

    data_dir: Path = Field(
        default=Path("citymeter-data"),
        description="Folder for the embedded SQLite database, uploads and the secret key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means SQLite in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs browser sessions; unset means one is generated and kept in data_dir.",
    )
    host: str = Field(default="127.0.0.1", description="Address `citymeter serve` listens on.")
    port: int = Field(default=8000, description="Port `citymeter serve` listens on.")
    timezone: str = Field(default="Asia/Seoul", description="Default time zone for new cities.")
    max_upload_mb: int = Field(default=50, description="Largest upload accepted, in megabytes.")
    evidence_max_mb: int = Field(
        default=25,
        description="Largest evidence document accepted in a certification round, in MB.",
    )
    session_hours: int = Field(default=12, description="How long a browser login lasts.")
    run_connectors: bool = Field(
        default=True,
        description="Run the connector runner (scheduled sources, MQTT) inside `citymeter serve`. "
        "With several workers on PostgreSQL only one runs it (an advisory lock).",
    )
    public_min_count: int = Field(
        default=5,
        ge=1,
        description="Indicator values computed from fewer people (persons or households) than "
        "this are suppressed in the public view, which says so.",
    )
    ingest_future_tolerance_s: int = Field(
        default=300,
        description="How far in the future (seconds) a reading's time may be before ingest "
        "refuses it; allows for clocks slightly ahead.",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="MQTT broker the demo feeds publish to, e.g. mqtt://127.0.0.1:1883; "
        "unset means the demo feeds run in-process.",
    )
    live_backend: Literal["memory", "postgresql", "redis"] = Field(
        default="memory",
        description="How live events reach the other worker processes: memory (one process), "
        "postgresql (LISTEN/NOTIFY on the database) or redis (pub/sub at redis_url).",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis server for CITYMETER_LIVE_BACKEND=redis.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("CITYMETER_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'citymeter.db').resolve()}"

    @property
    def evidence_max_bytes(self) -> int:
        return self.evidence_max_mb * 1024 * 1024

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
