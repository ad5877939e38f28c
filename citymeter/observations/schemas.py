"""API shapes for metrics, observations and load batches."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from citymeter.observations.models import LoadBatch, Metric, RejectedRecord


class MetricCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=120, pattern=r"^[a-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    names: dict[str, str] = Field(default_factory=dict)
    unit: str = Field(min_length=1, max_length=40)
    description: str | None = None
    visibility: Literal["public", "internal"] = "public"


class MetricPublic(BaseModel):
    code: str
    name: str
    names: dict[str, str]
    unit: str
    description: str | None
    visibility: str

    @classmethod
    def of(cls, metric: Metric) -> MetricPublic:
        return cls(
            code=metric.code,
            name=metric.name,
            names=metric.names,
            unit=metric.unit,
            description=metric.description,
            visibility=metric.visibility,
        )


class ObservationPublic(BaseModel):
    metric: str
    unit: str
    city: str
    area_code: str
    area_name: str
    area_level: str
    grain: str
    period_start: dt.date
    sex: str
    age_band: str
    dims: str
    value: float
    batch_id: int | None


class ObservationPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ObservationPublic]


class BatchPublic(BaseModel):
    id: int
    kind: str
    status: str
    file_name: str | None
    mapping_name: str | None
    rows_read: int
    stored: int
    rejected: int
    skipped: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    summary: dict[str, Any]

    @classmethod
    def of(cls, batch: LoadBatch) -> BatchPublic:
        return cls(
            id=batch.id,
            kind=batch.kind,
            status=batch.status,
            file_name=batch.file_name,
            mapping_name=batch.mapping_name,
            rows_read=batch.rows_read,
            stored=batch.stored,
            rejected=batch.rejected,
            skipped=batch.skipped,
            started_at=batch.started_at,
            finished_at=batch.finished_at,
            summary=batch.summary,
        )


class RejectPublic(BaseModel):
    row_number: int | None
    reason: str
    raw: str

    @classmethod
    def of(cls, record: RejectedRecord) -> RejectPublic:
        return cls(row_number=record.row_number, reason=record.reason, raw=record.raw)


class ImportReportPublic(BaseModel):
    mapping: str
    file_name: str
    city: str
    dry_run: bool
    batch_id: int | None
    encoding: str | None
    rows_read: int
    rows_stored: int
    rows_rejected: int
    rows_skipped: int
    observations: int
    written: int
    unchanged: int
    missing_values: int
    rejected_by_reason: dict[str, int]
    skipped_by_reason: dict[str, int]
    unmatched_areas: list[str]
    missing_by_metric: dict[str, list[str]]
    metrics: list[str]
    previous_batches: list[int]
