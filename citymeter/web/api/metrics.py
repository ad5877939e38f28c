"""JSON API: the metric registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from citymeter.accounts.permissions import METRICS_WRITE, Viewer
from citymeter.observations import service
from citymeter.observations.schemas import MetricCreate, MetricPublic
from citymeter.web.deps import PublicViewer, SessionDep, require

router = APIRouter(prefix="/api/v1", tags=["metrics"])


@router.get("/metrics")
def list_metrics(session: SessionDep, viewer: PublicViewer) -> list[MetricPublic]:
    """Metrics with their units; internal metrics only for those who may read internal data."""
    return [MetricPublic.of(m) for m in service.list_metrics(session, viewer)]


@router.post("/metrics", status_code=201)
def add_metric(
    body: MetricCreate,
    session: SessionDep,
    viewer: Annotated[Viewer, Depends(require(METRICS_WRITE))],
) -> MetricPublic:
    metric = service.add_metric(session, viewer, **body.model_dump())
    return MetricPublic.of(metric)
