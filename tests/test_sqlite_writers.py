"""Concurrent writers on the embedded SQLite store wait for each other instead of failing."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from citymeter.db import migrate
from citymeter.db.engine import WRITE_INTENT, make_engine, make_sessionmaker


def _read_then_write(
    factory: object, intent: bool, barrier: threading.Barrier, errors: list[str]
) -> None:
    with factory() as session:  # type: ignore[operator]
        assert isinstance(session, Session)
        if intent:
            session.connection(execution_options=WRITE_INTENT)
        try:
            session.execute(text("SELECT count(*) FROM metric")).scalar()
            barrier.wait(timeout=5)
            session.execute(
                text(
                    "INSERT INTO metric (code, name, names, unit, visibility, created_at) "
                    "VALUES (:c, 'm', '{}', 'x', 'public', '2026-01-01')"
                ),
                {"c": f"m-{threading.get_ident()}"},
            )
            session.commit()
        except Exception as exc:
            errors.append(str(exc).splitlines()[0])


def _race(tmp_path: Path, intent: bool) -> tuple[list[str], int]:
    engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    errors: list[str] = []
    # With write intent the second writer blocks in BEGIN, so it cannot reach the barrier.
    barrier = threading.Barrier(1 if intent else 2)
    threads = [
        threading.Thread(target=_read_then_write, args=(factory, intent, barrier, errors))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with engine.connect() as conn:
        stored = int(conn.execute(text("SELECT count(*) FROM metric")).scalar_one())
    engine.dispose()
    return errors, stored


def test_deferred_read_then_write_fails_under_contention(tmp_path: Path) -> None:
    errors, stored = _race(tmp_path, intent=False)
    assert stored == 1
    assert errors and "locked" in errors[0]


def test_write_intent_makes_the_second_writer_wait(tmp_path: Path) -> None:
    errors, stored = _race(tmp_path, intent=True)
    assert errors == []
    assert stored == 2
