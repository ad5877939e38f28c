"""JSON API: incidents, their timelines, response times and what is near them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from citymeter.accounts.permissions import INGEST_WRITE, Viewer
from citymeter.incidents import nearby, service
from citymeter.incidents.service import IncidentIn
from citymeter.web.deps import PublicViewer, SessionDep, require

router = APIRouter(prefix="/api/v1", tags=["incidents"])

Writer = Annotated[Viewer, Depends(require(INGEST_WRITE))]


class IncidentBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incidents: list[IncidentIn] = Field(min_length=1, max_length=1000)


class StageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str = Field(min_length=1, max_length=32)
    stage: str
    at: AwareDatetime


@router.get("/incidents")
def list_incidents(
    session: SessionDep,
    viewer: PublicViewer,
    type: str | None = None,
    district_id: int | None = None,
    start: Annotated[dt.datetime | None, Query(alias="from")] = None,
    end: Annotated[dt.datetime | None, Query(alias="to")] = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    page, total = service.list_incidents(
        session,
        type_code=type,
        district_id=district_id,
        start=start,
        end=end,
        status=status,
        limit=limit,
        offset=offset,
    )
    return {"total": total, "items": [service.describe(session, viewer, i) for i in page]}


@router.get("/incidents/{number}")
def show_incident(
    number: str,
    session: SessionDep,
    viewer: PublicViewer,
    radius_m: float = nearby.DEFAULT_RADIUS_M,
) -> dict[str, Any]:
    return service.detail(session, viewer, number, radius_m=radius_m)


@router.post("/incidents", status_code=status.HTTP_201_CREATED)
def create_incidents(body: IncidentBatch, session: SessionDep, viewer: Writer) -> dict[str, Any]:
    created = service.create_incidents(session, viewer, body.incidents)
    return {"created": [i.number for i in created]}


@router.post("/incidents/{number}/stages", status_code=status.HTTP_201_CREATED)
def add_stage(number: str, body: StageBody, session: SessionDep, viewer: Writer) -> dict[str, Any]:
    service.advance(session, viewer, number, body.unit, body.stage, body.at)
    return service.detail(session, viewer, number)
