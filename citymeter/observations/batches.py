"""Load batches after the fact: list them, list their rejected rows, undo one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, CursorResult, delete, false, func, select, update
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.errors import Conflict, NotFound
from citymeter.observations.models import LoadBatch, Observation, RejectedRecord


def list_batches(session: Session, *, limit: int = 50, offset: int = 0) -> list[LoadBatch]:
    query = select(LoadBatch).order_by(LoadBatch.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def get_batch(session: Session, batch_id: int) -> LoadBatch:
    batch = session.get(LoadBatch, batch_id)
    if batch is None:
        raise NotFound(
            f"There is no load batch {batch_id}; `citymeter observations batches` lists them."
        )
    return batch


def list_rejects(
    session: Session, batch_id: int, *, limit: int = 500, offset: int = 0
) -> list[RejectedRecord]:
    get_batch(session, batch_id)
    query = (
        select(RejectedRecord)
        .where(RejectedRecord.batch_id == batch_id)
        .order_by(RejectedRecord.row_number, RejectedRecord.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))


def _inserted_by(batch: LoadBatch) -> ColumnElement[bool]:
    """Rows the batch inserted and still holds: by id range, so no index on batch_id is needed."""
    if batch.first_observation_id is None or batch.last_observation_id is None:
        return false()
    return Observation.id.between(batch.first_observation_id, batch.last_observation_id) & (
        Observation.batch_id == batch.id
    )


def undo_batch(session: Session, actor: Viewer, batch_id: int) -> dict[str, int]:
    """Remove what a batch stored; values it replaced are put back. Recorded in the audit log."""
    batch = get_batch(session, batch_id)
    if batch.status == "undone":
        raise Conflict(f"Load batch {batch_id} has been undone already.")
    inserted = _inserted_by(batch)
    replaced = (Observation.batch_id == batch_id) & Observation.previous_batch_id.is_not(None)
    held = session.scalar(select(func.count()).select_from(Observation).where(inserted | replaced))
    restored: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Observation)
        .where(replaced)
        .values(
            value=Observation.previous_value,
            batch_id=Observation.previous_batch_id,
            previous_value=None,
            previous_batch_id=None,
        )
        .execution_options(synchronize_session=False)
    )
    removed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        delete(Observation).where(inserted).execution_options(synchronize_session=False)
    )
    batch.status = "undone"
    counts = {
        "observations": int(held or 0),
        "removed": removed.rowcount,
        "restored": restored.rowcount,
    }
    audit.record(session, actor, "observations.undo", "load_batch", batch_id, counts)
    session.flush()
    return counts
