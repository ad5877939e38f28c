"""What the API accepts and returns for sources. A source's config and its last error message are
shown to staff only; secrets are never in a config (it names environment variables instead)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CODE_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=80, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=32, description="A registered connector kind.")
    department: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    visibility: Literal["public", "internal"] = "public"
    expected_interval_s: int | None = Field(
        default=None, ge=1, description="How often new data should arrive; drives freshness."
    )
    schedule: str | None = Field(
        default=None,
        max_length=100,
        description="'300', '5m', '1h' or five cron fields; default: the expected interval.",
    )
    timeout_s: int = Field(default=60, ge=1, le=86_400)
    max_retries: int = Field(default=3, ge=0, le=10)
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class DayCountsOut(BaseModel):
    day: dt.date
    records_in: int
    accepted: int
    rejected: int
    runs: int
    failures: int


class SourceHealthOut(BaseModel):
    freshness: Literal["fresh", "late", "stale", "failing", "unknown"]
    freshness_text: str
    last_run_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_data_at: dt.datetime | None
    last_error_at: dt.datetime | None
    last_error: str | None = Field(description="Shown to staff only.")
    consecutive_failures: int
    next_run_at: dt.datetime | None
    today: DayCountsOut


class SourceRunOut(BaseModel):
    started_at: dt.datetime
    finished_at: dt.datetime
    status: str
    attempts: int
    records_in: int
    accepted: int
    rejected: int
    message: str | None


class SourceOut(BaseModel):
    code: str
    name: str
    kind: str
    department: str | None
    description: str | None
    visibility: str
    enabled: bool
    expected_interval_s: int | None
    schedule: str | None
    timeout_s: int
    max_retries: int
    created_at: dt.datetime
    health: SourceHealthOut
    config: dict[str, Any] | None = Field(default=None, description="Shown to staff only.")


class SourceDetail(SourceOut):
    days: list[DayCountsOut] = Field(description="The last seven days, newest first.")
    runs: list[SourceRunOut] = Field(description="The latest runs, newest first.")


class RunRequested(BaseModel):
    code: str
    next_run_at: dt.datetime
    detail: str
