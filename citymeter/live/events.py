"""Live events and how code publishes them: after the transaction commits, never on rollback.

Services call `publish_after_commit(session, LiveEvent(...))` while they work. The event waits on
the session and reaches the bus (`get_bus()`) only when the session's outermost transaction
commits; a rollback — of the whole transaction, or of the savepoint the event was raised in —
drops it, so a subscriber never hears about data that was not stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from citymeter.live.bus import LiveBus, get_bus

__all__ = ["LiveBus", "LiveEvent", "get_bus", "publish_after_commit"]

VISIBILITIES = ("public", "internal")
_PENDING_KEY = "citymeter.live.pending"


@dataclass(frozen=True)
class LiveEvent:
    """Something that happened in the city's data, as a dashboard hears it.

    `kind` names what happened (for example "entity.updated", "reading.accepted",
    "source.health"); `data` is its JSON body. `id` and `at` are filled in by the bus when
    left empty; ids sort in publication order, which is what `Last-Event-ID` resume relies on.
    """

    kind: str
    data: dict[str, Any]
    city_id: int | None = None
    district_id: int | None = None
    entity_type: str | None = None
    visibility: str = "public"
    id: str | None = None
    at: dt.datetime | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.kind:
            raise ValueError("a live event needs a kind, for example 'entity.updated'")
        if self.visibility not in VISIBILITIES:
            raise ValueError(
                f"visibility must be one of {', '.join(VISIBILITIES)}, not {self.visibility!r}"
            )
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("a live event's time must carry a time zone")

    def stamped(self, event_id: str, at: dt.datetime) -> LiveEvent:
        """This event with its id and time set (those already set are kept)."""
        return replace(self, id=self.id or event_id, at=self.at or at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "at": self.at.isoformat() if self.at else None,
            "city_id": self.city_id,
            "district_id": self.district_id,
            "entity_type": self.entity_type,
            "visibility": self.visibility,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LiveEvent:
        at = raw.get("at")
        return cls(
            kind=str(raw["kind"]),
            data=dict(raw.get("data") or {}),
            city_id=raw.get("city_id"),
            district_id=raw.get("district_id"),
            entity_type=raw.get("entity_type"),
            visibility=str(raw.get("visibility") or "public"),
            id=raw.get("id"),
            at=dt.datetime.fromisoformat(at) if at else None,
        )


def publish_after_commit(session: Session, event: LiveEvent) -> None:
    """Hold `event` until `session` commits, then publish it; drop it if that work rolls back."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        # No transaction yet: start one so the event is tied to the work that follows.
        transaction = session.begin()
    pending: list[tuple[LiveEvent, SessionTransaction]] = session.info.setdefault(_PENDING_KEY, [])
    pending.append((event, transaction))


def _within(transaction: SessionTransaction, ended: SessionTransaction) -> bool:
    current: SessionTransaction | None = transaction
    while current is not None:
        if current is ended:
            return True
        current = current.parent
    return False


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the outer transaction may still roll back
    pending: list[tuple[LiveEvent, SessionTransaction]] = session.info.pop(_PENDING_KEY, [])
    if not pending:
        return
    bus = get_bus()
    for event, _transaction in pending:
        bus.publish(event)


@sa_event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[tuple[LiveEvent, SessionTransaction]] | None = session.info.get(_PENDING_KEY)
    if not pending:
        return
    kept = [(ev, tx) for ev, tx in pending if not _within(tx, previous_transaction)]
    if kept:
        session.info[_PENDING_KEY] = kept
    else:
        session.info.pop(_PENDING_KEY, None)


@sa_event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # A session closed without committing: its events never happened.
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)
