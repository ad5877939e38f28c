"""The history of numeric attributes: readings packed one row per (entity, time), and hour/day
roll-ups kept in step.

A point is idempotent per (entity, attribute, time). The rows a batch touches are read first, so
that which values are new is known before anything is written: new rows are inserted, rows that
lack some of the batch's attributes get those added, values already stored are left as they were,
and the roll-ups are updated from exactly the new values. Sending the same reading twice changes
neither. On SQLite the read and the writes are one snapshot (a writer that came between would
make the write fail, not double count); on PostgreSQL the insert's RETURNING catches a concurrent
writer and its rows are merged like any stored row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from math import isfinite
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from citymeter.entities.models import AttributePoint, AttributeRollup, Entity
from citymeter.errors import InvalidInput

GRAINS = ("raw", "hour", "day")
# Rows per multi-row statement; keeps SQLite under its bound-parameter limit.
_CHUNK = 2000
# Entities per IN (...) list.
_IN_CHUNK = 500

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US

PointKey = tuple[int, str, dt.datetime]
# (entity pk, time in UTC): one stored row.
ReadingKey = tuple[int, dt.datetime]


@dataclass(frozen=True)
class HistoryPoint:
    """One value of a time series: a raw point (count 1) or a bucket's mean with its extremes."""

    attr: str
    at: dt.datetime
    value: float
    count: int = 1
    min: float | None = None
    max: float | None = None


def to_micros(at: dt.datetime) -> int:
    """Microseconds since 1970-01-01 UTC of an aware time."""
    return (at - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=micros)


def bucket_start(at: dt.datetime, grain: str) -> dt.datetime:
    """The UTC hour or day an instant falls in."""
    at = at.astimezone(dt.UTC)
    if grain == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    if grain == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    raise InvalidInput(f"Unknown roll-up grain {grain!r}; use hour or day.")


# A %-format per tuple of attribute names: '{"pm10":%r,"pm25":%r}'.
_TEMPLATES: dict[tuple[str, ...], str] = {}


def pack_values(values: Mapping[str, float]) -> str:
    """A reading's values as the JSON object stored in `entity_reading.attrs`."""
    numbers = tuple(values.values())
    # repr() of a finite float is valid JSON and reads back exactly; json.dumps writes the others
    # (Infinity, NaN), which json.loads reads back too.
    if not all(map(isfinite, numbers)):
        return json.dumps(values, separators=(",", ":"))
    names = tuple(values)
    template = _TEMPLATES.get(names)
    if template is None:
        template = "{" + ",".join(_json_name(name) + ":%r" for name in names) + "}"
        if len(_TEMPLATES) < 10_000:
            _TEMPLATES[names] = template
    return template % numbers


def _json_name(name: str) -> str:
    return json.dumps(name).replace("%", "%%")


def unpack_values(text: str) -> dict[str, float]:
    values: dict[str, float] = json.loads(text)
    return values


def record_points(
    session: Session, points: Iterable[tuple[int, str, dt.datetime, float]]
) -> set[PointKey]:
    """Store (entity pk, attr, observed_at, value) points; returns the keys that were new.

    A point already stored (same entity, attribute and time) is left as it was; its roll-ups are
    not touched. New points update the hour and day roll-ups in the same transaction.
    """
    readings: dict[ReadingKey, dict[str, float]] = {}
    utc: dict[dt.datetime, dt.datetime] = {}
    for entity_pk, attr, at, value in points:
        when = utc.get(at)
        if when is None:
            when = utc[at] = at.astimezone(dt.UTC)
        values = readings.get((entity_pk, when))
        if values is None:
            readings[entity_pk, when] = {attr: float(value)}
        else:
            values.setdefault(attr, float(value))
    fresh = record_readings(session, readings)
    return {(pk, attr, at) for (pk, at), values in fresh.items() for attr in values}


def record_readings(
    session: Session, readings: dict[ReadingKey, dict[str, float]]
) -> dict[ReadingKey, dict[str, float]]:
    """Store each (entity pk, UTC time)'s values; returns the values that were new, per key.

    Values already stored for the same entity, attribute and time are kept (and not returned);
    the hour and day roll-ups get exactly the returned values, in the same transaction. A reading
    new as a whole is returned as the very dict given (the caller hands `readings` over).
    """
    micros = {at: to_micros(at) for at in {at for _pk, at in readings}}
    if not micros:
        return {}
    sqlite = session.get_bind().dialect.name == "sqlite"
    with driver_cursor(session) as cursor:
        stored = _stored_rows(
            cursor,
            sorted({pk for pk, _at in readings}),
            min(micros.values()),
            max(micros.values()),
            sqlite=sqlite,
        )
        fresh: dict[ReadingKey, dict[str, float]] = {}
        rows: list[tuple[int, int, str]] = []
        later: dict[tuple[int, int], ReadingKey] = {}
        for key, values in readings.items():
            if not values:
                continue
            row_key = (key[0], micros[key[1]])
            if row_key in stored:
                later[row_key] = key
            else:
                fresh[key] = values
                rows.append((row_key[0], row_key[1], pack_values(values)))
        raced = _insert_rows(cursor, rows, sqlite=sqlite)
        if raced:  # PostgreSQL only: another transaction stored these rows meanwhile
            for pk, us in raced:
                later[pk, us] = (pk, from_micros(us))
                del fresh[pk, from_micros(us)]
            stored.update(_read_rows(cursor, raced, sqlite=sqlite))
        merged: list[tuple[str, int, int]] = []
        for row_key, key in later.items():
            kept = unpack_values(stored[row_key])
            added = {name: value for name, value in readings[key].items() if name not in kept}
            if added:
                fresh[key] = added
                merged.append((pack_values({**kept, **added}), row_key[0], row_key[1]))
        if merged:
            mark = "?" if sqlite else "%s"
            cursor.executemany(
                f"UPDATE entity_reading SET attrs = {mark} "
                f"WHERE entity_pk = {mark} AND observed_us = {mark}",
                merged,
            )
        _roll_up(cursor, fresh, micros, sqlite=sqlite)
    return fresh


@contextmanager
def driver_cursor(session: Session) -> Iterator[Any]:
    """A cursor on the session's own DBAPI connection (same transaction, nothing compiled or
    typed per row); the driver's errors come out as SQLAlchemy's, as from session.execute."""
    connection = session.connection()
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        yield cursor
    except connection.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance("", None, exc, connection.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()


def _stored_rows(
    cursor: Any, entities: list[int], low: int, high: int, *, sqlite: bool
) -> dict[tuple[int, int], str]:
    """The stored rows of `entities` between two times (microseconds, inclusive): one range
    query per chunk of entities; usually none, as readings arrive newer than the stored ones."""
    mark = "?" if sqlite else "%s"
    stored: dict[tuple[int, int], str] = {}
    for start in range(0, len(entities), _IN_CHUNK):
        chunk = entities[start : start + _IN_CHUNK]
        cursor.execute(
            "SELECT entity_pk, observed_us, attrs FROM entity_reading "
            f"WHERE entity_pk IN ({','.join([mark] * len(chunk))}) "
            f"AND observed_us >= {mark} AND observed_us <= {mark}",
            [*chunk, low, high],
        )
        for pk, us, text in cursor.fetchall():
            stored[pk, us] = text
    return stored


def _read_rows(
    cursor: Any, keys: Iterable[tuple[int, int]], *, sqlite: bool
) -> dict[tuple[int, int], str]:
    mark = "?" if sqlite else "%s"
    stored: dict[tuple[int, int], str] = {}
    for pk, us in keys:
        cursor.execute(
            f"SELECT attrs FROM entity_reading WHERE entity_pk = {mark} AND observed_us = {mark}"
            + ("" if sqlite else " FOR UPDATE"),
            (pk, us),
        )
        stored[pk, us] = cursor.fetchone()[0]
    return stored


def _insert_rows(
    cursor: Any, rows: list[tuple[int, int, str]], *, sqlite: bool
) -> list[tuple[int, int]]:
    """Insert new rows; returns the keys another transaction inserted first (PostgreSQL)."""
    if not rows:
        return []
    if sqlite:
        # No ON CONFLICT: the snapshot read showed these rows absent, so a conflict is an error.
        cursor.executemany(
            "INSERT INTO entity_reading (entity_pk, observed_us, attrs) VALUES (?, ?, ?)", rows
        )
        return []
    inserted: set[tuple[int, int]] = set()
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        cursor.execute(
            "INSERT INTO entity_reading (entity_pk, observed_us, attrs) "
            f"VALUES {','.join(['(%s,%s,%s)'] * len(chunk))} "
            "ON CONFLICT (entity_pk, observed_us) DO NOTHING RETURNING entity_pk, observed_us",
            [value for row in chunk for value in row],
        )
        inserted.update((pk, us) for pk, us in cursor.fetchall())
    return [(pk, us) for pk, us, _text in rows if (pk, us) not in inserted]


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


def sqlite_text(at: dt.datetime) -> str:
    # The form SQLAlchemy's SQLite DATETIME stores (UTC; UTCDateTime drops the zone).
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def _roll_up(
    cursor: Any,
    fresh: Mapping[ReadingKey, Mapping[str, float]],
    micros: Mapping[dt.datetime, int],
    *,
    sqlite: bool,
) -> None:
    """Add the new values to their hour and day roll-ups: [count, sum, min, max] per (entity,
    attr, hour) in one pass, the days from the hours, then one prepared upsert with executemany."""
    hours: dict[tuple[int, str, int], list[Any]] = {}
    for (entity_pk, at), values in fresh.items():
        us = micros[at]
        hour = us - us % _HOUR_US
        for attr, value in values.items():
            acc = hours.get((entity_pk, attr, hour))
            if acc is None:
                hours[entity_pk, attr, hour] = [1, value, value, value]
            else:
                acc[0] += 1
                acc[1] += value
                if value < acc[2]:
                    acc[2] = value
                if value > acc[3]:
                    acc[3] = value
    if not hours:
        return
    days: dict[tuple[int, str, int], list[Any]] = {}
    for (entity_pk, attr, hour), (count, total, low, high) in hours.items():
        key = (entity_pk, attr, hour - hour % _DAY_US)
        acc = days.get(key)
        if acc is None:
            days[key] = [count, total, low, high]
        else:
            acc[0] += count
            acc[1] += total
            acc[2] = min(acc[2], low)
            acc[3] = max(acc[3], high)
    starts: dict[int, Any] = {}
    rows = []
    for grain, buckets in (("hour", hours), ("day", days)):
        for (entity_pk, attr, us), (count, total, low, high) in buckets.items():
            when = starts.get(us)
            if when is None:
                when = starts[us] = sqlite_text(from_micros(us)) if sqlite else from_micros(us)
            rows.append((entity_pk, attr, grain, when, count, total, low, high))
    cursor.executemany(_ROLLUP_SQLITE if sqlite else _ROLLUP_POSTGRESQL, rows)


def count_points(session: Session, attr: str | None = None) -> int:
    """How many values are stored (of one attribute, or of all)."""
    total = 0
    for (text,) in session.execute(select(AttributePoint.attrs)):
        values = unpack_values(text)
        total += len(values) if attr is None else attr in values
    return total


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
        points = _raw_points(session, entity, attr, start, end)
        if last_n:
            points.sort(key=lambda hp: (hp.attr, -to_micros(hp.at)))
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


def _raw_points(
    session: Session,
    entity: Entity,
    attr: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> list[HistoryPoint]:
    """The stored values in [start, end), by attribute then time."""
    p = AttributePoint
    query = select(p.observed_us, p.attrs).where(p.entity_pk == entity.id)
    if start is not None:
        query = query.where(p.observed_us >= to_micros(start))
    if end is not None:
        query = query.where(p.observed_us < to_micros(end))
    points: list[HistoryPoint] = []
    for us, text in session.execute(query.order_by(p.observed_us)):
        at = from_micros(us)
        for name, value in unpack_values(text).items():
            if attr is None or name == attr:
                points.append(HistoryPoint(name, at, value, 1, value, value))
    points.sort(key=lambda hp: hp.attr)  # stable: each attribute's points stay in time order
    return points
