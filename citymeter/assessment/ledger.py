"""The tamper-evident log of every score, override and decision: a hash chain.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical text
(sequence, time, actor, action, object and payload exactly as stored). Changing, deleting or
inserting a row breaks the chain from that entry on; `verify` names the first broken entry.
Two writers appending at once collide on the unique sequence number, so the chain cannot fork.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.assessment.models import LedgerEntry

GENESIS = "0" * 64


def canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: str,
) -> str:
    text = "\n".join([prev_hash, str(seq), at, actor, action, object_type, object_id, payload])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append(
    session: Session,
    actor: Viewer | str,
    action: str,
    object_type: str,
    object_id: object,
    payload: dict[str, Any],
) -> LedgerEntry:
    """Add one link at the end of the chain (in the caller's transaction)."""
    last = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(1)).first()
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.hash
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    who = actor if isinstance(actor, str) else actor.label
    text = canonical(payload)
    entry = LedgerEntry(
        seq=seq,
        at=at,
        actor=who,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        payload=text,
        prev_hash=prev,
        hash=entry_hash(prev, seq, at, who, action, object_type, str(object_id), text),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def _walk(session: Session, batch: int = 5000) -> Iterator[LedgerEntry]:
    last_seq = 0
    while True:
        rows = list(
            session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.seq > last_seq)
                .order_by(LedgerEntry.seq)
                .limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last_seq = rows[-1].seq


def verify(session: Session) -> ChainCheck:
    """Recompute the chain; every problem names the entry (id and sequence number)."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in _walk(session):
        count += 1
        name = f"entry {entry.id} (seq {entry.seq}, {entry.action} {entry.object_type} "
        name += f"{entry.object_id})"
        if entry.seq != expected_seq:
            problems.append(f"{name}: expected seq {expected_seq}; an entry is missing before it")
        if entry.prev_hash != prev:
            problems.append(f"{name}: its previous-hash does not match the entry before it")
        recomputed = entry_hash(
            entry.prev_hash,
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.payload,
        )
        if recomputed != entry.hash:
            problems.append(f"{name}: its content was changed after it was written")
        prev = entry.hash
        expected_seq = entry.seq + 1
        if len(problems) >= 20:
            break
    return ChainCheck(entries=count, problems=tuple(problems))


def entries_for(session: Session, object_type: str, object_id: object) -> list[LedgerEntry]:
    query = (
        select(LedgerEntry)
        .where(LedgerEntry.object_type == object_type, LedgerEntry.object_id == str(object_id))
        .order_by(LedgerEntry.seq)
    )
    return list(session.scalars(query))


def payload_of(entry: LedgerEntry) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(entry.payload)
    return data
