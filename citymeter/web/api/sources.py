"""JSON API: the source registry and each source's health. The public sees public sources."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from citymeter.accounts.permissions import SOURCES_WRITE, Viewer
from citymeter.sources import service
from citymeter.sources.schemas import RunRequested, SourceCreate, SourceDetail, SourceOut
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep, require

router = APIRouter(prefix="/api/v1", tags=["sources"])

Steward = Annotated[Viewer, Depends(require(SOURCES_WRITE))]


@router.get("/sources")
def list_sources(
    session: SessionDep, viewer: PublicViewer, settings: SettingsDep
) -> list[SourceOut]:
    return [
        service.describe(session, viewer, source, tz=settings.timezone)
        for source in service.visible_sources(session, viewer)
    ]


@router.get("/sources/{code}")
def get_source(
    code: str, session: SessionDep, viewer: PublicViewer, settings: SettingsDep
) -> SourceDetail:
    source = service.get_source(session, viewer, code)
    return service.describe_detail(session, viewer, source, tz=settings.timezone)


@router.post("/sources", status_code=status.HTTP_201_CREATED)
def add_source(
    body: SourceCreate, session: SessionDep, viewer: Steward, settings: SettingsDep
) -> SourceOut:
    source = service.add_source(session, viewer, body)
    return service.describe(session, viewer, source, tz=settings.timezone)


@router.post("/sources/{code}/disable")
def disable_source(
    code: str, session: SessionDep, viewer: Steward, settings: SettingsDep
) -> SourceOut:
    source = service.set_enabled(session, viewer, code, enabled=False)
    return service.describe(session, viewer, source, tz=settings.timezone)


@router.post("/sources/{code}/enable")
def enable_source(
    code: str, session: SessionDep, viewer: Steward, settings: SettingsDep
) -> SourceOut:
    source = service.set_enabled(session, viewer, code, enabled=True)
    return service.describe(session, viewer, source, tz=settings.timezone)


@router.post("/sources/{code}/run", status_code=status.HTTP_202_ACCEPTED)
def run_source(code: str, session: SessionDep, viewer: Steward) -> RunRequested:
    """Makes the source due now; the runner picks it up within a second or two."""
    source = service.request_run(session, viewer, code)
    assert source.next_run_at is not None
    return RunRequested(
        code=code,
        next_run_at=source.next_run_at,
        detail="The run is queued; GET /api/v1/sources/{code} shows its outcome.",
    )
