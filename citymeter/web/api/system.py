"""JSON API: liveness and version."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from citymeter import __version__
from citymeter.web.deps import PublicViewer, SessionDep

router = APIRouter(tags=["system"])


@router.get("/healthz")
def healthz(session: SessionDep, _viewer: PublicViewer) -> dict[str, str]:
    """Answers 200 when the app can reach its database."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__, "database": session.get_bind().dialect.name}
