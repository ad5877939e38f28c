"""JSON API: observations, file imports and load batches."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, UploadFile

from citymeter.accounts.permissions import OBSERVATIONS_IMPORT, Viewer
from citymeter.observations import batches, importer, service
from citymeter.observations.mapping import parse_mapping, shipped_mapping
from citymeter.observations.schemas import (
    BatchPublic,
    ImportReportPublic,
    ObservationPage,
    ObservationPublic,
    RejectPublic,
)
from citymeter.places import service as places
from citymeter.web.deps import PublicViewer, SessionDep, require

router = APIRouter(prefix="/api/v1", tags=["observations"])
Importer = Annotated[Viewer, Depends(require(OBSERVATIONS_IMPORT))]


@router.get("/observations")
def list_observations(
    session: SessionDep,
    viewer: PublicViewer,
    metric: str | None = None,
    city: str | None = None,
    area: str | None = Query(None, description="Area code."),
    level: str | None = None,
    period_from: dt.date | None = Query(None, alias="from"),
    period_to: dt.date | None = Query(None, alias="to"),
    grain: str | None = None,
    sex: str | None = None,
    age_band: str | None = None,
    limit: int = Query(100, ge=1, le=5000),
    offset: int = Query(0, ge=0),
) -> ObservationPage:
    """Observations by metric, city, area, level, period range and breakdown, a page at a time."""
    rows, total = service.query_observations(
        session,
        viewer,
        metric=metric,
        city=city,
        area_code=area,
        level=level,
        period_from=period_from,
        period_to=period_to,
        grain=grain,
        sex=sex,
        age_band=age_band,
        limit=limit,
        offset=offset,
    )
    items = [ObservationPublic(**row._asdict()) for row in rows]
    return ObservationPage(total=total, limit=limit, offset=offset, items=items)


@router.post("/observations/import")
async def import_observations(
    session: SessionDep,
    viewer: Importer,
    file: UploadFile,
    mapping: Annotated[str | None, Form(description="A shipped mapping's name.")] = None,
    mapping_yaml: Annotated[str | None, Form(description="A mapping as YAML text.")] = None,
    city: Annotated[str | None, Form(description="City code (default: the only one).")] = None,
    dry_run: Annotated[bool, Form()] = False,
) -> ImportReportPublic:
    """Import an uploaded CSV or XLSX as one batch (all or nothing); `dry_run` stores nothing."""
    data = await file.read()
    parsed = (
        parse_mapping(mapping_yaml, "the mapping")
        if mapping_yaml is not None
        else shipped_mapping(mapping or "")
    )
    report = importer.import_file(
        session,
        viewer,
        data=data,
        file_name=file.filename or "upload",
        mapping=parsed,
        city=places.get_city(session, city),
        dry_run=dry_run,
    )
    return ImportReportPublic(**report.as_dict())


@router.get("/observations/batches")
def list_batches(
    session: SessionDep,
    _viewer: Importer,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> list[BatchPublic]:
    return [BatchPublic.of(b) for b in batches.list_batches(session, limit=limit, offset=offset)]


@router.get("/observations/batches/{batch_id}/rejects")
def list_rejects(
    batch_id: int,
    session: SessionDep,
    _viewer: Importer,
    limit: int = Query(500, ge=1, le=5000),
    offset: int = Query(0, ge=0),
) -> list[RejectPublic]:
    rows = batches.list_rejects(session, batch_id, limit=limit, offset=offset)
    return [RejectPublic.of(r) for r in rows]


@router.post("/observations/batches/{batch_id}/undo")
def undo_batch(batch_id: int, session: SessionDep, viewer: Importer) -> dict[str, int]:
    """Remove what a batch stored and put back the values it replaced (audited)."""
    return batches.undo_batch(session, viewer, batch_id)
