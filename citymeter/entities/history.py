"""The history of numeric attributes: raw points (idempotent) and hour/day roll-ups kept in step.

Points are inserted with ON CONFLICT DO NOTHING ... RETURNING, so the roll-ups are updated from
exactly the points this call stored: sending the same reading twice changes neither.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, func, select
from sqlalchemy.orm import Session

from citymeter.db.upsert import conflict_insert
from citymeter.entities.models import AttributePoint, AttributeRollup, Entity
from citymeter.errors import InvalidInput

GRAINS = ("raw", "hour", "day")
# Rows per INSERT statement; keeps SQLite under its bound-parameter limit.
_CHUNK = 2000

PointKey = tuple[int, str, dt.datetime]


@dataclass(frozen=True)
class HistoryPoint:
    """One value of a time series: a raw point (count 1) or a bucket's mean with its extremes."""

    attr: str
    at: dt.datetime
    value: float
    count: int = 1
    min: float | None = None
    max: float | None = None


def bucket_start(at: dt.datetime, grain: str) -> dt.datetime:
    """The UTC hour or day an instant falls in."""
    at = at.astimezone(dt.UTC)
    if grain == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    if grain == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    raise InvalidInput(f"Unknown roll-up grain {grain!r}; use hour or day.")


def record_points(
    session: Session, points: Iterable[tuple[int, str, dt.datetime, float]]
) -> set[PointKey]:
    """Store (entity pk, attr, observed_at, value) points; returns the keys that were new.

    A point already stored (same entity, attribute and time) is left as it was; its roll-ups are
    not touched. New points update the hour and day roll-ups in the same transaction.
    """
    unique: dict[PointKey, float] = {}
    utc: dict[dt.datetime, dt.datetime] = {}
    for entity_pk, attr, at, value in points:
        when = utc.get(at)
        if when is None:
            when = utc[at] = at.astimezone(dt.UTC)
        unique.setdefault((entity_pk, attr, when), float(value))
    if not unique:
        return set()
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 35):
        stored = _insert_driver(session, unique, sqlite=True)
        _roll_up_driver(session, stored, sqlite=True)
    elif dialect == "postgresql":
        stored = _insert_driver(session, unique, sqlite=False)
        _roll_up_driver(session, stored, sqlite=False)
    else:
        stored = _insert_portable(session, unique)
        _roll_up(session, stored)
    return {(e, a, t) for e, a, t, _ in stored}


def _sqlite_text(at: dt.datetime) -> str:
    # The form SQLAlchemy's SQLite DATETIME stores (UTC; UTCDateTime drops the zone).
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def _driver_cursor(session: Session) -> Any:
    """A cursor on the session's own DBAPI connection: same transaction, no per-row typing."""
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def _insert_driver(
    session: Session, unique: dict[PointKey, float], *, sqlite: bool
) -> list[tuple[int, str, dt.datetime, float]]:
    """Multi-row INSERT … ON CONFLICT DO NOTHING RETURNING straight on the DBAPI connection (the
    statement SQLAlchemy would build, without compiling it or processing each row's types).
    Times go to SQLite as the text SQLAlchemy stores and to PostgreSQL as aware datetimes; the
    stored times are mapped back to the exact keys sent."""
    cursor = _driver_cursor(session)
    sent: dict[Any, dt.datetime] = {}
    wire: dict[dt.datetime, Any] = {}
    params: list[Any] = []
    for (entity_pk, attr, at), value in unique.items():
        form = wire.get(at)
        if form is None:
            form = wire[at] = _sqlite_text(at) if sqlite else at
            sent[form] = at
        params.extend((entity_pk, attr, form, value))
    mark = "(?,?,?,?)" if sqlite else "(%s,%s,%s,%s)"
    stored: list[tuple[int, str, dt.datetime, float]] = []
    try:
        for start in range(0, len(unique), _CHUNK):
            chunk = params[start * 4 : (start + _CHUNK) * 4]
            values = ",".join([mark] * (len(chunk) // 4))
            cursor.execute(
                "INSERT INTO entity_attribute_point (entity_pk, attr, observed_at, value) "
                f"VALUES {values} ON CONFLICT (entity_pk, attr, observed_at) DO NOTHING "
                "RETURNING entity_pk, attr, observed_at, value",
                chunk,
            )
            for e, a, t, v in cursor.fetchall():
                answered = sent.get(t)
                if answered is None:  # PostgreSQL answers in the session's time zone
                    answered = t.astimezone(dt.UTC)
                stored.append((e, a, answered, v))
    finally:
        cursor.close()
    return stored


def _insert_portable(
    session: Session, unique: dict[PointKey, float]
) -> list[tuple[int, str, dt.datetime, float]]:
    table = AttributePoint.__table__
    stored: list[tuple[int, str, dt.datetime, float]] = []
    rows = [
        {"entity_pk": key[0], "attr": key[1], "observed_at": key[2], "value": value}
        for key, value in unique.items()
    ]
    for start in range(0, len(rows), _CHUNK):
        statement = (
            conflict_insert(session, table)
            .on_conflict_do_nothing(index_elements=["entity_pk", "attr", "observed_at"])
            .returning(table.c.entity_pk, table.c.attr, table.c.observed_at, table.c.value)
        )
        result = session.execute(statement, rows[start : start + _CHUNK])
        stored.extend((r[0], r[1], r[2].astimezone(dt.UTC), r[3]) for r in result)
    return stored


BucketKey = tuple[int, str, str, dt.datetime]


def _buckets(stored: Sequence[tuple[int, str, dt.datetime, float]]) -> dict[BucketKey, list[Any]]:
    """[count, sum, min, max] of the stored points per (entity pk, attr, grain, bucket start)."""
    buckets: dict[BucketKey, list[Any]] = {}
    starts: dict[dt.datetime, tuple[dt.datetime, dt.datetime]] = {}
    for entity_pk, attr, at, value in stored:
        pair = starts.get(at)
        if pair is None:
            pair = starts[at] = (bucket_start(at, "hour"), bucket_start(at, "day"))
        for key in ((entity_pk, attr, "hour", pair[0]), (entity_pk, attr, "day", pair[1])):
            acc = buckets.get(key)
            if acc is None:
                buckets[key] = [1, value, value, value]
            else:
                acc[0] += 1
                acc[1] += value
                if value < acc[2]:
                    acc[2] = value
                if value > acc[3]:
                    acc[3] = value
    return buckets


# Adds a batch's bucket aggregates to the stored ones (unqualified names are the stored row).
_ROLLUP_SQL = (
    "INSERT INTO entity_attribute_rollup "
    '(entity_pk, attr, grain, bucket_start, "count", "sum", "min", "max") '
    "VALUES ({marks}) ON CONFLICT (entity_pk, attr, grain, bucket_start) DO UPDATE SET "
    '"count" = entity_attribute_rollup."count" + excluded."count", '
    '"sum" = entity_attribute_rollup."sum" + excluded."sum", '
    '"min" = {least}(entity_attribute_rollup."min", excluded."min"), '
    '"max" = {greatest}(entity_attribute_rollup."max", excluded."max")'
)
_ROLLUP_SQLITE = _ROLLUP_SQL.format(marks=",".join(["?"] * 8), least="min", greatest="max")
_ROLLUP_POSTGRESQL = _ROLLUP_SQL.format(
    marks=",".join(["%s"] * 8), least="least", greatest="greatest"
)


def _roll_up_driver(
    session: Session, stored: Sequence[tuple[int, str, dt.datetime, float]], *, sqlite: bool
) -> None:
    """The roll-up upsert as one prepared statement run with executemany on the DBAPI cursor:
    compiled by nobody, parsed once by the database."""
    buckets = _buckets(stored)
    if not buckets:
        return
    texts: dict[dt.datetime, str] = {}
    rows = []
    for (entity_pk, attr, grain, start), (count, total, low, high) in buckets.items():
        when: Any = start
        if sqlite:
            when = texts.get(start)
            if when is None:
                when = texts[start] = _sqlite_text(start)
        rows.append((entity_pk, attr, grain, when, int(count), total, low, high))
    cursor = _driver_cursor(session)
    try:
        cursor.executemany(_ROLLUP_SQLITE if sqlite else _ROLLUP_POSTGRESQL, rows)
    finally:
        cursor.close()


def _roll_up(session: Session, stored: Sequence[tuple[int, str, dt.datetime, float]]) -> None:
    buckets = _buckets(stored)
    if not buckets:
        return
    table = AttributeRollup.__table__
    postgres = session.get_bind().dialect.name == "postgresql"
    least, greatest = (func.least, func.greatest) if postgres else (func.min, func.max)
    rows = [
        {
            "entity_pk": k[0],
            "attr": k[1],
            "grain": k[2],
            "bucket_start": k[3],
            "count": int(acc[0]),
            "sum": acc[1],
            "min": acc[2],
            "max": acc[3],
        }
        for k, acc in buckets.items()
    ]
    for start in range(0, len(rows), _CHUNK):
        statement: Insert = conflict_insert(session, table)
        excluded = statement.excluded  # type: ignore[attr-defined]
        statement = statement.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["entity_pk", "attr", "grain", "bucket_start"],
            set_={
                "count": table.c.count + excluded.count,
                "sum": table.c.sum + excluded.sum,
                "min": least(table.c.min, excluded.min),
                "max": greatest(table.c.max, excluded.max),
            },
        )
        session.execute(statement, rows[start : start + _CHUNK])


def read_history(
    session: Session,
    entity: Entity,
    attr: str | None,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    grain: str = "raw",
    last_n: int | None = None,
) -> list[HistoryPoint]:
    """Points of one attribute (or all, attr=None) in [start, end), oldest first; `last_n` keeps
    the newest n per attribute."""
    if grain not in GRAINS:
        raise InvalidInput(f"Unknown grain {grain!r}; use raw, hour or day.")
    for label, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"The history {label} time needs a time zone (e.g. 2024-05-01T00:00Z)."
            )
    if last_n is not None and last_n < 1:
        raise InvalidInput("lastN must be a positive whole number.")
    if grain == "raw":
        p = AttributePoint
        query = select(p.attr, p.observed_at, p.value).where(p.entity_pk == entity.id)
        if attr is not None:
            query = query.where(p.attr == attr)
        if start is not None:
            query = query.where(p.observed_at >= start)
        if end is not None:
            query = query.where(p.observed_at < end)
        order = p.observed_at.desc() if last_n else p.observed_at
        rows = session.execute(query.order_by(p.attr, order)).all()
        points = [HistoryPoint(a, t, v, 1, v, v) for a, t, v in rows]
    else:
        r = AttributeRollup
        rquery = select(r.attr, r.bucket_start, r.count, r.sum, r.min, r.max).where(
            r.entity_pk == entity.id, r.grain == grain
        )
        if attr is not None:
            rquery = rquery.where(r.attr == attr)
        if start is not None:
            rquery = rquery.where(r.bucket_start >= bucket_start(start, grain))
        if end is not None:
            rquery = rquery.where(r.bucket_start < end)
        order_r = r.bucket_start.desc() if last_n else r.bucket_start
        rrows = session.execute(rquery.order_by(r.attr, order_r)).all()
        points = [HistoryPoint(a, t, s / c, c, lo, hi) for a, t, c, s, lo, hi in rrows if c]
    if last_n is not None:
        kept: list[HistoryPoint] = []
        per_attr: dict[str, int] = {}
        for point in points:
            if per_attr.get(point.attr, 0) < last_n:
                per_attr[point.attr] = per_attr.get(point.attr, 0) + 1
                kept.append(point)
        points = sorted(kept, key=lambda hp: (hp.attr, hp.at))
    return points
