"""Reference data kept in memory while it is unchanged.

Cities, areas, complaint service types, accounts and API tokens change rarely but are read on
every filing and every token call. Each of these tables has a stamp in `reference_stamp`, and
database triggers (migration 0004) give a table's stamp a new random value in the same
transaction as any insert, update or delete of its rows — by this process, another worker, the
CLI or plain SQL. A `ReferenceCache` keeps answers about its tables while their stamps are
unchanged, so a lookup costs one small read of the stamps instead of its own query, and a change
is seen by the next lookup, as a query would see it:

- a change made in the caller's own unfinished transaction is flushed and stamps a new value in
  that transaction, so the caller reloads;
- a rolled-back change puts the old stamp back, and answers loaded under the new one are dropped;
- stamps are random, so a value is not reused by a later change or by a recreated database.

Which updates count: `app_user` and `api_token` stamp only on the columns a caller's identity is
read from (`ACCOUNT_COLUMNS`, `TOKEN_COLUMNS`), so logins and a token's last use, kept to the
minute, do not clear every cache.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, Engine, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from citymeter.db.base import Base

STAMPED_TABLES = ("city", "area", "complaint_service_types", "app_user", "api_token")
# The columns of app_user and api_token whose update stamps their table (see the docstring).
ACCOUNT_COLUMNS = ("username", "role", "city_id", "district_id", "is_active")
TOKEN_COLUMNS = ("user_id", "token_hash", "expires_at", "revoked_at")

V = TypeVar("V")
_MISSING: Any = object()
# Which database an engine serves, as a cache's version names it: rendered once per engine.
_DATABASES: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


class ReferenceStamp(Base):
    """One row a stamped table: the random value its last change left."""

    __tablename__ = "reference_stamp"

    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)


def read_stamps(session: Session) -> dict[str, int]:
    """The current stamps, as this session's transaction sees them (its own changes flushed
    first). Read on the driver's cursor: it is asked on every lookup."""
    session.flush()
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute("SELECT table_name, stamp FROM reference_stamp")
        return {str(name): int(stamp) for name, stamp in cursor.fetchall()}
    finally:
        cursor.close()


class ReferenceCache(Generic[V]):
    """Answers that depend only on `tables`, kept while their stamps are unchanged.

    Keep only values that cannot change in place (tuples, frozen dataclasses, numbers). One
    process serves one database as a rule; a lookup in another database (tests) starts afresh.
    Without stamps (a database not migrated this far) nothing is kept: every lookup loads.
    """

    def __init__(self, tables: tuple[str, ...], limit: int = 4096) -> None:
        unknown = set(tables) - set(STAMPED_TABLES)
        if unknown:
            raise ValueError(f"Tables without a stamp: {sorted(unknown)}")
        self.tables = tables
        self.limit = limit
        self._lock = threading.Lock()
        self._version: tuple[Any, ...] | None = None
        self._answers: dict[Hashable, V] = {}

    def get(self, session: Session, key: Hashable, load: Callable[[], V]) -> V:
        """The answer for `key`: kept, or `load()`ed (in the same session) and kept. An error
        that `load` raises is not kept."""
        version = self._version_of(session)
        if version is None:
            return load()
        with self._lock:
            if version != self._version:
                self._answers.clear()
                self._version = version
            answer = self._answers.get(key, _MISSING)
        if answer is not _MISSING:
            return answer  # type: ignore[no-any-return]
        answer = load()
        with self._lock:
            if version == self._version:
                if len(self._answers) >= self.limit:
                    self._answers.clear()  # many distinct keys (guessed tokens, codes): start over
                self._answers[key] = answer
        return answer

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self._version = None

    def _version_of(self, session: Session) -> tuple[Any, ...] | None:
        stamps = read_stamps(session)
        if not all(table in stamps for table in self.tables):
            return None
        return (_database_of(session.get_bind().engine), *(stamps[table] for table in self.tables))


def _database_of(engine: Engine) -> str:
    database = _DATABASES.get(engine)
    if database is None:
        database = _DATABASES[engine] = str(engine.url)  # an engine's URL does not change
    return database
