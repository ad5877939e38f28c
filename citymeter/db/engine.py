"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sqlite3
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


def _sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get("sqlite_begin_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = str(parsed.set(drivername="postgresql+psycopg"))
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
