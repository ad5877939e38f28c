"""Concurrent writers on the embedded SQLite store wait for each other instead of failing."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

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


def _insert_metric(session: Session, code: str) -> None:
    session.execute(
        text(
            "INSERT INTO metric (code, name, names, unit, visibility, created_at) "
            "VALUES (:c, 'm', '{}', 'x', 'public', '2026-01-01')"
        ),
        {"c": code},
    )


def _count_metrics(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text("SELECT count(*) FROM metric")).scalar_one())


def _write_in_a_thread(factory: sessionmaker[Session], code: str) -> tuple[bool, threading.Thread]:
    """Start a write-intent transaction in a thread; whether it committed within 5 s."""
    done = threading.Event()

    def write() -> None:
        with factory() as session:
            session.connection(execution_options=WRITE_INTENT)
            _insert_metric(session, code)
            session.commit()
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    return done.wait(timeout=5), thread


def test_writers_of_one_process_take_turns_and_all_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    errors: list[str] = []

    def writer(name: str) -> None:
        for step in range(15):
            try:
                with factory() as session:
                    session.connection(execution_options=WRITE_INTENT)
                    _insert_metric(session, f"{name}-{step}")
                    session.commit()
            except Exception as exc:
                errors.append(str(exc).splitlines()[0])

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert _count_metrics(engine) == 6 * 15
    engine.dispose()


def test_a_writer_that_fails_or_closes_lets_the_next_one_in(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fail.db'}")
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    # A transaction that breaks off with an error is rolled back and frees the queue …
    try:
        with factory() as session, session.begin():
            session.connection(execution_options=WRITE_INTENT)
            _insert_metric(session, "dup")
            _insert_metric(session, "dup")  # unique code: IntegrityError
    except Exception as exc:
        assert "UNIQUE" in str(exc)
    # … and so does a session closed without commit or rollback.
    abandoned = factory()
    abandoned.connection(execution_options=WRITE_INTENT)
    _insert_metric(abandoned, "abandoned")
    abandoned.close()

    finished, thread = _write_in_a_thread(factory, "next")
    assert finished, "the next writer was still queued after the others ended"
    thread.join()
    assert _count_metrics(engine) == 1
    engine.dispose()


def test_writers_of_different_files_do_not_queue_for_each_other(tmp_path: Path) -> None:
    first = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    second = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    for engine in (first, second):
        migrate.upgrade(engine)
    holding = make_sessionmaker(first)()
    holding.connection(execution_options=WRITE_INTENT)
    _insert_metric(holding, "held")
    finished, thread = _write_in_a_thread(make_sessionmaker(second), "other")
    assert finished, "a write to another file waited for this file's writer"
    thread.join()
    holding.commit()
    holding.close()
    assert _count_metrics(first) == 1 and _count_metrics(second) == 1
    for engine in (first, second):
        engine.dispose()
