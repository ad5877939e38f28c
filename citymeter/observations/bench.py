"""The import benchmark: the real importer against a raw sqlite3 executemany of the same rows."""

from __future__ import annotations

import csv
import datetime as dt
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.db import migrate
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.observations import importer, keys, service
from citymeter.observations.mapping import parse_mapping
from citymeter.places import service as places

BENCH_MAPPING = """
version: 1
name: bench-long-format
file: {format: csv, encoding: utf-8}
area: {match_by: code, column: area_code}
values:
  - column: value
    metric: bench_population
    unit: persons
    period: {grain: month, column: period}
    sex: {column: sex}
    age_band: {column: age_band}
"""
# The shape of the Korean resident-population export: one row per area and month, one column per
# sex and single year of age (204 columns), each cell one observation.
WIDE_MAPPING = """
version: 1
name: bench-wide-format
file: {format: csv, encoding: utf-8}
numbers: {thousands_separator: ","}
area: {match_by: code, column: area_code}
values:
  - header_pattern: '(?P<sex>남|여)_(?P<age>\\d{1,3}세|100세 이상)'
    metric: bench_population
    unit: persons
    period: {grain: month, column: period}
"""
WIDE_SEXES = (("남", "male"), ("여", "female"))
WIDE_AGES = (*((f"{a}세", str(a)) for a in range(100)), ("100세 이상", "100+"))
AREAS = 100
SEXES = ("total", "male", "female")
AGES = ("total", *(str(a) for a in range(100)), "100+")


@dataclass
class BenchResult:
    rows: int
    import_seconds: float
    import_rows_per_s: float
    raw_seconds: float
    raw_rows_per_s: float
    ratio: float
    peak_mb: float
    file_mb: float
    shape: str = "long"
    # CPU seconds of the import in this process and in a forked reader (0 when it read in-process)
    # and the reader's peak RSS (it shares the pages it inherited, so the two peaks overlap).
    import_cpu_seconds: float = 0.0
    reader_cpu_seconds: float = 0.0
    reader_peak_mb: float = 0.0
    database_mb: float = 0.0


def write_long_csv(path: Path, rows: int) -> None:
    """A long-format file: area_code, period, sex, age_band, value; every key distinct."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["area_code", "period", "sex", "age_band", "value"])
        written = 0
        year, month = 2000, 1
        while written < rows:
            period = f"{year}-{month:02d}"
            batch: list[tuple[str, str, str, str, int]] = []
            for area in range(AREAS):
                code = f"B{area:05d}"
                for sex in SEXES:
                    for age in AGES:
                        batch.append((code, period, sex, age, (written + len(batch)) % 997))
            batch = batch[: rows - written]
            writer.writerows(batch)
            written += len(batch)
            month += 1
            if month > 12:
                year, month = year + 1, 1


def _months(start_year: int = 2000) -> Iterator[str]:
    year, month = start_year, 1
    while True:
        yield f"{year}-{month:02d}"
        month += 1
        if month > 12:
            year, month = year + 1, 1


def write_wide_csv(path: Path, rows: int) -> None:
    """A wide file: area_code, period, 202 columns 남_0세 … 여_100세 이상, values like "1,234"."""
    columns = [(sex, age) for sex, _ in WIDE_SEXES for age, _ in WIDE_AGES]
    per_line = len(columns)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["area_code", "period", *(f"{s}_{a}" for s, a in columns)])
        written = 0
        for period in _months():
            for area in range(AREAS):
                if written >= rows:
                    return
                take = min(per_line, rows - written)
                cells = [f"{(written + i) % 1997:,}" for i in range(take)]
                writer.writerow([f"B{area:05d}", period, *cells, *([""] * (per_line - take))])
                written += take


# A raw row before its key ids are known: area id, period start, sex, age band, value.
_RawRow = tuple[int, str, str, str, float]


def _raw_rows_wide(rows: int, area_ids: dict[str, int]) -> list[_RawRow]:
    columns = [(sex, age) for _, sex in WIDE_SEXES for _, age in WIDE_AGES]
    out: list[_RawRow] = []
    for period in _months():
        for area in range(AREAS):
            area_id = area_ids[f"B{area:05d}"]
            for sex, age in columns:
                if len(out) >= rows:
                    return out
                out.append((area_id, f"{period}-01", sex, age, float(len(out) % 1997)))
    return out


def _raw_rows(path: Path, area_ids: dict[str, int]) -> list[_RawRow]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [
            (area_ids[code], f"{period}-01", sex, age, float(value))
            for code, period, sex, age, value in reader
        ]


def _with_key_ids(
    session: Session, metric_id: int, rows: list[_RawRow]
) -> list[tuple[object, ...]]:
    """The rows as the observation table holds them, their periods and breakdowns stored first."""
    periods = list(dict.fromkeys(row[1] for row in rows))
    breakdowns = list(dict.fromkeys((row[2], row[3]) for row in rows))
    connection = session.connection()
    period_ids = keys.period_ids(
        connection, [keys.PeriodKey("month", dt.date.fromisoformat(p)) for p in periods]
    )
    breakdown_ids = keys.breakdown_ids(
        connection, [keys.BreakdownKey(sex, age, "") for sex, age in breakdowns]
    )
    period_of = dict(zip(periods, period_ids, strict=True))
    breakdown_of = dict(zip(breakdowns, breakdown_ids, strict=True))
    return [
        (metric_id, area, period_of[start], breakdown_of[(sex, age)], value, "persons")
        for area, start, sex, age, value in rows
    ]


def _file_mb(database: Path) -> float:
    """The store's size on disk, with its write-ahead log if one is left."""
    wal = database.with_name(database.name + "-wal")
    return (database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 1e6


def run(
    rows: int,
    work_dir: Path | None = None,
    say: Callable[[str], None] = print,
    shape: str = "long",
) -> BenchResult:
    """One shape: "long" (a row per observation) or "wide" (a row per area and month)."""
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        folder = Path(tmp)
        source = folder / "long.csv"
        say(f"Writing {rows:,} observations to a {shape}-format CSV …")
        if shape == "wide":
            write_wide_csv(source, rows)
            mapping = parse_mapping(WIDE_MAPPING, "the bench mapping")
        else:
            write_long_csv(source, rows)
            mapping = parse_mapping(BENCH_MAPPING, "the bench mapping")

        engine = make_engine(f"sqlite:///{folder / 'importer.db'}")
        migrate.upgrade(engine)
        factory = make_sessionmaker(engine)
        with factory() as session, session.begin():
            city = places.create_city(session, SYSTEM_VIEWER, code="bench", name="Bench")
            for area in range(AREAS):
                places.add_area(
                    session,
                    None,
                    city=city,
                    code=f"B{area:05d}",
                    level="district",
                    name=f"District {area}",
                )
        say("Importing through the real importer …")
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_started = time.process_time()
        started = time.perf_counter()
        with factory() as session, session.begin():
            city = places.get_city(session, "bench")
            report = importer.import_file(
                session,
                SYSTEM_VIEWER,
                data=source.read_bytes(),
                file_name=source.name,
                mapping=mapping,
                city=city,
            )
        import_seconds = time.perf_counter() - started
        import_cpu_seconds = time.process_time() - cpu_started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        reader_cpu_seconds = (children.ru_utime + children.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
        engine.dispose()
        database_mb = _file_mb(folder / "importer.db")
        if report.written != rows:
            raise RuntimeError(f"the importer stored {report.written:,} of {rows:,} rows")

        # The same rows, already parsed, into the same table of a second fresh store.
        engine = make_engine(f"sqlite:///{folder / 'raw.db'}")
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as session, session.begin():
            city = places.create_city(session, SYSTEM_VIEWER, code="bench", name="Bench")
            area_ids: dict[str, int] = {}
            for area in range(AREAS):
                code = f"B{area:05d}"
                area_ids[code] = places.add_area(
                    session, None, city=city, code=code, level="district", name=code
                ).id
            metric = service.ensure_metric(
                session, None, code="bench_population", name="b", unit="persons"
            )
            batch = service.open_batch(session)
            batch_id = batch.id
            raw_rows = (
                _raw_rows_wide(rows, area_ids) if shape == "wide" else _raw_rows(source, area_ids)
            )
            params = _with_key_ids(session, metric.id, raw_rows)
            del raw_rows
        engine.dispose()
        raw = sqlite3.connect(folder / "raw.db", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        # The store's own settings (citymeter.db.engine): foreign keys are checked for both.
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute("PRAGMA cache_size=-65536")
        say("Inserting the same rows with a raw sqlite3 executemany …")
        started = time.perf_counter()
        raw.execute("BEGIN")
        raw.executemany(
            "INSERT INTO observation (metric_id, area_id, period_id, breakdown_id, value, unit, "
            f"batch_id) VALUES (?, ?, ?, ?, ?, ?, {int(batch_id)})",
            params,
        )
        raw.execute("COMMIT")
        raw_seconds = time.perf_counter() - started
        raw.close()
        del params
        file_mb = source.stat().st_size / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reader_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return BenchResult(
        rows=rows,
        import_seconds=import_seconds,
        import_rows_per_s=rows / import_seconds,
        raw_seconds=raw_seconds,
        raw_rows_per_s=rows / raw_seconds,
        ratio=raw_seconds / import_seconds,
        peak_mb=peak_mb,
        file_mb=file_mb,
        shape=shape,
        import_cpu_seconds=import_cpu_seconds,
        reader_cpu_seconds=reader_cpu_seconds,
        reader_peak_mb=reader_peak_mb,
        database_mb=database_mb,
    )
