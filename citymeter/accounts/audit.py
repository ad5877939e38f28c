"""The append-only audit log: one call per change, in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.models import AuditEntry
from citymeter.accounts.permissions import Viewer


def record(
    session: Session,
    actor: Viewer,
    action: str,
    object_type: str,
    object_id: object | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.user_id,
        actor=actor.label,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail or {},
    )
    session.add(entry)
    session.flush()
    return entry


def recent(
    session: Session,
    limit: int = 100,
    object_type: str | None = None,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """Newest first; `before_id` pages back through older entries."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
