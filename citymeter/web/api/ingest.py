"""JSON API: push readings, read live entities and their history, read the dead letters."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from citymeter.accounts.permissions import INGEST_WRITE, Viewer
from citymeter.entities import ingest, service
from citymeter.entities.ingest import IngestResult
from citymeter.entities.schemas import (
    DeadLetterPage,
    DeadLetterPublic,
    EntityHistory,
    EntityPage,
    EntityPublic,
    HistoryPointPublic,
)
from citymeter.places import service as places
from citymeter.sources import health
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep, require
from citymeter.web.problems import problem

router = APIRouter(prefix="/api/v1", tags=["entities"])
Ingester = Annotated[Viewer, Depends(require(INGEST_WRITE))]


async def _body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_body)]


@router.post("/ingest/readings", response_model=IngestResult)
def push_readings(
    session: SessionDep,
    settings: SettingsDep,
    viewer: Ingester,
    body: RawBody,
    city: str | None = Query(None, description="City code (default: the only one)."),
) -> IngestResult | JSONResponse:
    """Store a batch of readings all or nothing. Refused batches answer problem+json listing each
    bad reading (index and reason) and its dead letter; the dead letters are kept."""
    parsed = ingest.parse_batch(session, body)
    if isinstance(parsed, IngestResult):
        return _refused(parsed, 400, "Malformed request")
    readings, source = parsed
    target = places.get_city(session, city) if city else None
    result = ingest.ingest_readings(
        session, readings, city=target, source=source, channel="http", viewer=viewer
    )
    if source is not None:
        health.record_push(
            session,
            source.code,
            received=result.received,
            accepted=result.accepted + result.duplicates,
            rejected=result.rejected,
            refusal=(result.errors[0].reason if result.errors else "refused")
            if result.refused
            else None,
            tz=settings.timezone,
        )
    if result.refused:
        return _refused(result, 422, "Readings refused")
    return result


def _refused(result: IngestResult, status: int, title: str) -> JSONResponse:
    # Returned, not raised: the request's transaction commits, so the dead letters are kept.
    first = result.errors[0]
    where = "the body" if first.index < 0 else f"reading {first.index}"
    more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
    return problem(
        status,
        title,
        f"{where}: {first.reason}{more}. Nothing was stored; fix and resend the batch.",
        errors=[e.model_dump() for e in result.errors],
        dead_letter_ids=result.dead_letter_ids,
        rejected=result.rejected,
    )


@router.get("/entities")
def list_entities(
    session: SessionDep,
    viewer: PublicViewer,
    type: Annotated[list[str] | None, Query(description="Entity type(s).")] = None,
    district: str | None = Query(None, description="District area code."),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> EntityPage:
    """Live entities the caller may see, by type and district."""
    district_id = places.find_area_anywhere(session, district)[1].id if district else None
    rows, total = service.query_entities(
        session, viewer, types=type, district_id=district_id, limit=limit, offset=offset
    )
    return EntityPage(
        total=total, limit=limit, offset=offset, items=[EntityPublic.of(e) for e in rows]
    )


@router.get("/entities/{entity_id}")
def show_entity(entity_id: str, session: SessionDep, viewer: PublicViewer) -> EntityPublic:
    return EntityPublic.of(service.get_entity(session, entity_id, viewer))


@router.get("/entities/{entity_id}/history")
def entity_history(
    entity_id: str,
    session: SessionDep,
    viewer: PublicViewer,
    attr: str | None = Query(None, description="A numeric attribute (default: all)."),
    start: dt.datetime | None = Query(None, alias="from"),
    end: dt.datetime | None = Query(None, alias="to"),
    grain: Literal["raw", "hour", "day"] = "raw",
    last_n: int | None = Query(None, alias="lastN", ge=1, le=100_000),
) -> EntityHistory:
    """A numeric attribute's values in [from, to): raw points or hourly/daily means."""
    points = service.entity_history(
        session, entity_id, attr, start, end, grain, last_n, viewer=viewer
    )
    return EntityHistory(
        entity_id=entity_id, grain=grain, points=[HistoryPointPublic.of(p) for p in points]
    )


@router.get("/dead-letters")
def list_dead_letters(
    session: SessionDep,
    _viewer: Ingester,
    channel: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> DeadLetterPage:
    """What the channels refused, newest first, with the reason and the raw payload."""
    rows, total = service.list_dead_letters(session, channel=channel, limit=limit, offset=offset)
    return DeadLetterPage(total=total, items=[DeadLetterPublic.of(r) for r in rows])
