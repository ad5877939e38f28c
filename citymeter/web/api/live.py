"""JSON API: the live stream of city events (Server-Sent Events)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from citymeter.live import service
from citymeter.live.bus import get_bus
from citymeter.live.sse import event_stream
from citymeter.web.deps import PublicViewer, SessionDep

router = APIRouter(prefix="/api/v1", tags=["live"])


@router.get("/live", response_class=StreamingResponse)
def live(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    types: Annotated[str | None, Query(description="Entity types, comma-separated")] = None,
    area: Annotated[str | None, Query(description="A district's (or city's) area code")] = None,
    kinds: Annotated[str | None, Query(description="Event kinds or prefixes, e.g. entity")] = None,
    heartbeat: Annotated[float, Query(ge=1, le=60)] = 15.0,
    max_seconds: Annotated[float, Query(ge=1, le=3600)] = 300.0,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Server-Sent Events: entity updates and other city events as they happen.

    Public visitors receive public events; staff also the internal events they may see.
    Reconnect with `Last-Event-ID` to receive what was missed (from a bounded buffer).
    """
    wanted = service.stream_filter(session, viewer, types=types, area=area, kinds=kinds)
    stream = event_stream(
        get_bus(),
        wanted,
        last_event_id=last_event_id or request.query_params.get("lastEventId"),
        heartbeat=heartbeat,
        max_seconds=max_seconds,
        is_disconnected=request.is_disconnected,
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
