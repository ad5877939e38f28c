"""Events reach the bus only after the transaction that caused them commits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from citymeter.live.bus import LiveBus, set_bus
from citymeter.live.events import LiveEvent, get_bus, publish_after_commit


@pytest.fixture
def bus() -> Iterator[LiveBus]:
    fresh = LiveBus(replay_size=50)
    previous = set_bus(fresh)
    yield fresh
    set_bus(previous)


def _kinds(bus: LiveBus) -> list[str]:
    return [event.kind for event in bus.recent()]


def test_an_event_waits_for_the_commit(db: Session, bus: LiveBus) -> None:
    publish_after_commit(db, LiveEvent("entity.updated", {"n": 1}))
    assert _kinds(bus) == []
    db.commit()
    assert _kinds(bus) == ["entity.updated"]
    published = bus.recent()[0]
    assert published.id and published.at is not None and published.data == {"n": 1}
    assert get_bus() is bus


def test_a_rollback_drops_the_event(db: Session, bus: LiveBus) -> None:
    publish_after_commit(db, LiveEvent("entity.updated", {"n": 1}))
    db.rollback()
    db.commit()
    assert _kinds(bus) == []


def test_a_rolled_back_savepoint_drops_only_its_own_events(db: Session, bus: LiveBus) -> None:
    publish_after_commit(db, LiveEvent("kept.before", {}))
    savepoint = db.begin_nested()
    publish_after_commit(db, LiveEvent("dropped", {}))
    savepoint.rollback()
    with db.begin_nested():
        publish_after_commit(db, LiveEvent("kept.released", {}))
    assert _kinds(bus) == []  # a released savepoint is not a commit
    db.commit()
    assert _kinds(bus) == ["kept.before", "kept.released"]


def test_closing_a_session_without_commit_drops_its_events(engine: Engine, bus: LiveBus) -> None:
    session = Session(engine)
    publish_after_commit(session, LiveEvent("never", {}))
    session.close()
    session.commit()
    assert _kinds(bus) == []


def test_bad_events_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="kind"):
        LiveEvent("", {})
    with pytest.raises(ValueError, match="visibility"):
        LiveEvent("x", {}, visibility="secret")
