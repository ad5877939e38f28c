"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# Driver-level bulk writes (observations) pass dates to sqlite3 as they are; store them as ISO
# text, as SQLAlchemy's Date type does (sqlite3's own default adapter is deprecated).
sqlite3.register_adapter(dt.date, dt.date.isoformat)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
    # SAVEPOINTs and transactional DDL work (the pysqlite recipe from SQLAlchemy's docs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the dashboard read while an import writes; foreign keys are off in SQLite by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # 64 MB of page cache (the default is 2 MB): bulk imports keep their index pages in memory.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


# A connection opened with this execution option begins its transaction with BEGIN IMMEDIATE.
# A deferred transaction that reads and then writes cannot wait for the write lock (SQLite fails it
# at once with "database is locked" when another writer got there first); one that takes the
# lock up front waits busy_timeout for it instead. Writers use it; readers stay deferred.
WRITE_INTENT = {"sqlite_begin_immediate": True}


# Writers of one process queue for a database file on a lock of their own before BEGIN IMMEDIATE.
# SQLite's own wait for the write lock sleeps 1, 2, 5, 10 … 100 ms between tries, so four desks
# filing at once waited tens of milliseconds each; a lock wakes the next writer the moment the
# last one commits. Other processes still meet SQLite's busy wait, as before.
_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()
# Past this, a writer stops queueing and goes on to SQLite's busy wait (and its clear error).
WRITER_QUEUE_SECONDS = 10.0


def _writer_lock(database: str) -> threading.Lock:
    key = str(Path(database).resolve())
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.Lock())


class QueuedWriterConnection(sqlite3.Connection):
    """A sqlite3 connection that lets go of its file's writer lock when its transaction ends."""

    writer_lock: threading.Lock | None = None
    _holding = False

    def take_writer_lock(self) -> None:
        if self.writer_lock is not None and not self._holding:
            self._holding = self.writer_lock.acquire(timeout=WRITER_QUEUE_SECONDS)

    def let_go(self) -> None:
        if self._holding and self.writer_lock is not None:
            self._holding = False
            self.writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.let_go()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.let_go()


def _sqlite_begin(connection: Any) -> None:
    if not connection.get_execution_options().get("sqlite_begin_immediate", False):
        connection.exec_driver_sql("BEGIN")
        return
    queued = connection.connection.dbapi_connection
    if not isinstance(queued, QueuedWriterConnection):  # an in-memory database
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    queued.take_writer_lock()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        queued.let_go()
        raise


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        file_database = bool(parsed.database) and parsed.database != ":memory:"
        if file_database:
            assert parsed.database is not None
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("connect_args", {}).setdefault("factory", QueuedWriterConnection)
        engine = create_engine(url, **kwargs)
        if file_database:
            assert parsed.database is not None
            lock = _writer_lock(parsed.database)

            def _attach_lock(dbapi_connection: Any, _record: Any) -> None:
                if isinstance(dbapi_connection, QueuedWriterConnection):
                    dbapi_connection.writer_lock = lock

            event.listen(engine, "connect", _attach_lock)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = str(parsed.set(drivername="postgresql+psycopg"))
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def write_session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction, committed when the block ends without error, that takes
    SQLite's write lock up front (WRITE_INTENT). For writers that may meet writers of other
    processes: a transaction that reads first and writes later fails at once ("database is
    locked") if another process committed in between; one that begins with the lock waits."""
    with sessions() as session, session.begin():
        session.connection(execution_options=WRITE_INTENT)
        yield session
