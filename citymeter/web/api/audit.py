"""JSON API: the audit log, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from citymeter.accounts import audit
from citymeter.accounts.permissions import AUDIT_READ, Viewer
from citymeter.accounts.schemas import AuditEntryPublic
from citymeter.web.deps import SessionDep, require

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit")
def list_entries(
    session: SessionDep,
    _: Annotated[Viewer, Depends(require(AUDIT_READ))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    type: Annotated[str | None, Query(description="Only entries about this object type.")] = None,
    before: Annotated[int | None, Query(description="Only entries older than this id.")] = None,
) -> list[AuditEntryPublic]:
    entries = audit.recent(session, limit=limit, object_type=type, before_id=before)
    return [AuditEntryPublic.of(entry) for entry in entries]
