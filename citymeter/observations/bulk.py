"""Writing observations in bulk: compact rows (area, period number, series number, value).

An import repeats the same few periods and breakdowns across a million rows, so the importer
numbers them once (`ObservationKeys`) and hands the store four numbers per observation. Before a
chunk is written, the periods and breakdowns first seen in it get their ids in the small key
tables (`keys`), so that an observation row holds only numbers. On SQLite the load's periods and
series are staged in small temporary tables, and the rows are merged into `observation` by
INSERT … SELECT statements that carry 100 rows each as a VALUES list: the driver binds 4 numbers
a row, nothing is written twice (no staging table for the rows), and the unique-key and
foreign-key work runs inside one statement per 100 rows instead of one per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from citymeter.observations import keys as key_tables
from citymeter.observations.keys import BreakdownKey, PeriodKey
from citymeter.observations.models import LoadBatch

# (area_id, period number, series number, value): numbers from ObservationKeys.
CompactRow = tuple[int, int, int, float]


class Series(NamedTuple):
    """All of an observation's key but its area and period, and what goes with it."""

    metric_id: int
    unit: str
    sex: str
    age_band: str
    dims: str
    source_id: int | None

    @property
    def breakdown(self) -> BreakdownKey:
        return BreakdownKey(self.sex, self.age_band, self.dims)


class ObservationKeys:
    """The periods and series of one load, numbered in the order they are first seen."""

    def __init__(self) -> None:
        self.periods: list[PeriodKey] = []
        self.series: list[Series] = []
        self._period_numbers: dict[PeriodKey, int] = {}
        self._series_numbers: dict[Series, int] = {}

    def period(self, period: PeriodKey) -> int:
        number = self._period_numbers.get(period)
        if number is None:
            number = self._period_numbers[period] = len(self.periods)
            self.periods.append(period)
        return number

    def series_number(self, series: Series) -> int:
        number = self._series_numbers.get(series)
        if number is None:
            number = self._series_numbers[series] = len(self.series)
            self.series.append(series)
        return number


# What a series is in the store: metric_id, breakdown_id, unit, source_id.
StoredSeries = tuple[int, int, str, int | None]


class StoredKeys:
    """The store's ids for a load's numbered periods and series, got as new ones appear."""

    def __init__(self, connection: Connection, keys: ObservationKeys) -> None:
        self._connection = connection
        self._keys = keys
        self.period_ids: list[int] = []
        self.series: list[StoredSeries] = []

    def catch_up(self) -> tuple[int, int]:
        """Get the ids of the periods and series numbered since the last call; returns how many
        periods and series were known before it (the new ones follow)."""
        known = len(self.period_ids), len(self.series)
        periods, series = self._keys.periods[known[0] :], self._keys.series[known[1] :]
        if periods:
            self.period_ids += key_tables.period_ids(self._connection, periods)
        if series:
            breakdowns = key_tables.breakdown_ids(self._connection, [s.breakdown for s in series])
            self.series += [
                (s.metric_id, breakdown, s.unit, s.source_id)
                for s, breakdown in zip(series, breakdowns, strict=True)
            ]
        return known


_COLUMNS = "metric_id, area_id, period_id, breakdown_id, value, unit, source_id"
_KEY = "metric_id, area_id, period_id, breakdown_id"

# A row whose value is unchanged is left alone (it keeps its batch), so that re-importing a file
# changes nothing and `rowcount` counts only rows really written. An update keeps the value it
# replaces, so that undoing the batch can put it back.
_ON_CONFLICT = (
    f" ON CONFLICT ({_KEY}) DO UPDATE SET "
    "previous_value = CASE WHEN observation.batch_id = excluded.batch_id "
    "THEN observation.previous_value ELSE observation.value END, "
    "previous_batch_id = CASE WHEN observation.batch_id = excluded.batch_id "
    "THEN observation.previous_batch_id ELSE observation.batch_id END, "
    "value = excluded.value, unit = excluded.unit, source_id = excluded.source_id, "
    "batch_id = excluded.batch_id "
    "WHERE observation.value <> excluded.value OR observation.unit <> excluded.unit"
)


# Rows per merge statement: 400 parameters, far below SQLite's limit; measured fastest of 100,
# 500 and 2,000 (longer VALUES lists cost more to prepare and to run than they save in calls).
ROWS_PER_STATEMENT = 100


def _merge_sql(batch_id: int, rows: int) -> str:
    # CROSS JOIN keeps the VALUES rows as the outer loop, so rows are merged in file order and a
    # key repeated within a file ends up with its last value, as a row-by-row upsert would. The
    # batch id is an int written into the statement, never text from outside.
    values = ",".join(["(?,?,?,?)"] * rows)
    return (
        f"INSERT INTO observation ({_COLUMNS}, batch_id) "
        "SELECT s.metric_id, r.column1, p.period_id, s.breakdown_id, r.column4, s.unit, "
        f"s.source_id, {int(batch_id)} "
        f"FROM (VALUES {values}) AS r CROSS JOIN temp.cm_stage_series AS s "
        "CROSS JOIN temp.cm_stage_period AS p "
        "WHERE s.id = r.column3 AND p.id = r.column2"
    )


class _MergeStatements:
    """The merge (or upsert) statement for full groups of rows and for a shorter last group."""

    def __init__(self, batch_id: int, upsert: bool) -> None:
        self._batch_id = batch_id
        self._suffix = _ON_CONFLICT if upsert else ""
        self._by_size: dict[int, str] = {}

    def sql(self, rows: int) -> str:
        statement = self._by_size.get(rows)
        if statement is None:
            statement = _merge_sql(self._batch_id, rows) + self._suffix
            self._by_size[rows] = statement
        return statement

    def run(self, cursor: Any, chunk: list[CompactRow]) -> None:
        size = ROWS_PER_STATEMENT
        full = len(chunk) - len(chunk) % size
        flat = chain.from_iterable
        if full:
            cursor.executemany(
                self.sql(size), [list(flat(chunk[i : i + size])) for i in range(0, full, size)]
            )
        if full < len(chunk):
            cursor.execute(self.sql(len(chunk) - full), list(flat(chunk[full:])))


def _upsert_sql(batch_id: int) -> str:
    """The row-by-row statement (PostgreSQL): a full observation per row."""
    placeholders = ", ".join(["%s"] * 7)
    return (
        f"INSERT INTO observation ({_COLUMNS}, batch_id) "
        f"VALUES ({placeholders}, {int(batch_id)})" + _ON_CONFLICT
    )


_STAGE_TABLES = (
    "CREATE TEMP TABLE cm_stage_series (id INTEGER PRIMARY KEY, metric_id INTEGER, "
    "breakdown_id INTEGER, unit TEXT, source_id INTEGER)",
    "CREATE TEMP TABLE cm_stage_period (id INTEGER PRIMARY KEY, period_id INTEGER)",
)


def _max_observation_id(cursor: Any) -> int:
    cursor.execute("SELECT max(id) FROM observation")
    row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _drop_stage(cursor: Any) -> None:
    for table in ("cm_stage_series", "cm_stage_period"):
        cursor.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _merge_sqlite(
    cursor: Any,
    integrity_error: type[Exception],
    batch_id: int,
    stored: StoredKeys,
    chunks: Iterable[list[CompactRow]],
) -> int:
    merge = _MergeStatements(batch_id, upsert=False)
    upsert = _MergeStatements(batch_id, upsert=True)
    connection = cursor.connection
    _drop_stage(cursor)
    for statement in _STAGE_TABLES:
        cursor.execute(statement)
    written = 0
    # Most chunks hold only new keys, and a plain INSERT is much cheaper than an upsert. A failed
    # statement is undone by SQLite as a whole; the statements of the chunk before it stay, and
    # the upsert that redoes the chunk leaves their rows alone (same values), so the count of
    # changes stays right: rows inserted plus rows whose value changed.
    plain = True
    for chunk in chunks:
        if not chunk:
            continue
        # Periods and series first seen in this chunk (the importer numbers them as it reads).
        periods_before, series_before = stored.catch_up()
        cursor.executemany(
            "INSERT INTO temp.cm_stage_period (id, period_id) VALUES (?, ?)",
            [(n, stored.period_ids[n]) for n in range(periods_before, len(stored.period_ids))],
        )
        cursor.executemany(
            "INSERT INTO temp.cm_stage_series VALUES (?, ?, ?, ?, ?)",
            [(n, *stored.series[n]) for n in range(series_before, len(stored.series))],
        )
        changes_before = connection.total_changes
        if plain:
            try:
                merge.run(cursor, chunk)
            except integrity_error:
                plain = False  # a re-import: the next chunks likely conflict too
        if not plain:
            upsert.run(cursor, chunk)
        written += connection.total_changes - changes_before
    _drop_stage(cursor)
    return written


def _upsert_rows(
    cursor: Any, batch_id: int, stored: StoredKeys, chunks: Iterable[list[CompactRow]]
) -> int:
    sql = _upsert_sql(batch_id)
    written = 0
    for chunk in chunks:
        if not chunk:
            continue
        stored.catch_up()
        period_ids, series = stored.period_ids, stored.series
        full = []
        for area_id, period_no, series_no, value in chunk:
            metric_id, breakdown_id, unit, source_id = series[series_no]
            full.append(
                (metric_id, area_id, period_ids[period_no], breakdown_id, value, unit, source_id)
            )
        cursor.executemany(sql, full)
        written += max(cursor.rowcount, 0)
    return written


def write_observations(
    session: Session,
    batch: LoadBatch,
    keys: ObservationKeys,
    chunks: Iterable[list[CompactRow]],
) -> int:
    """Upsert compact rows for `batch`; returns the observations written.

    Rows equal to what is stored already are not written and not counted (re-importing the same
    file stores 0). Runs in the session's transaction: nothing is committed here. The ids of the
    rows the batch inserts are kept on the batch (first/last), so that undo finds them without an
    index on observation.batch_id, which would slow every bulk insert.
    """
    connection = session.connection()
    integrity_error = connection.dialect.dbapi.IntegrityError  # type: ignore[union-attr]
    stored = StoredKeys(connection, keys)
    cursor: Any = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        before = _max_observation_id(cursor)
        if connection.dialect.name == "sqlite":
            written = _merge_sqlite(cursor, integrity_error, batch.id, stored, chunks)
        else:
            # psycopg pipelines executemany, and an aborted pipeline is noisy: PostgreSQL upserts.
            written = _upsert_rows(cursor, batch.id, stored, chunks)
        after = _max_observation_id(cursor)
    finally:
        cursor.close()
    if after > before:
        first = before + 1
        batch.first_observation_id = min(first, batch.first_observation_id or first)
        batch.last_observation_id = max(after, batch.last_observation_id or after)
        session.flush()
    return written
