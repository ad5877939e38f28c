"""The indicator benchmark: a generated city (districts, neighbourhoods, monthly data by sex and
5-year age band) stored through `store_observations`, then a full recompute of every shipped
pack, an incremental recompute after one more month, and the read paths (a district × month × sex
series, the overview's headline cards), each next to a raw SQL baseline on the same store."""

from __future__ import annotations

import datetime as dt
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER, SYSTEM_VIEWER
from citymeter.db import migrate
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.indicators import engine as indicator_engine
from citymeter.indicators import service
from citymeter.indicators.loader import shipped_pack_files
from citymeter.observations import service as observations
from citymeter.observations.service import ObservationRow
from citymeter.places import service as places

CITY = "bench"
BANDS = (*(f"{a}-{a + 4}" for a in range(0, 85, 5)), "85+")
SEXES = ("male", "female")
# Metrics broken down by sex × age band, and metrics by sex only / plain.
BY_AGE = ("population", "working_age_population", "employed_persons")
BY_SEX = ("labour_force", "unemployed_persons")
PLAIN = ("jobs_created", "households", "mini_solar_installations", "eco_mileage_members")
UNITS = {
    "population": "persons", "working_age_population": "persons", "employed_persons": "persons",
    "labour_force": "persons", "unemployed_persons": "persons", "jobs_created": "jobs",
    "households": "households", "mini_solar_installations": "installations",
    "eco_mileage_members": "persons",
}  # fmt: skip


@dataclass
class IndicatorBench:
    districts: int
    neighbourhoods: int
    months: int
    observations: int
    build_seconds: float
    full_seconds: float
    values_written: int
    raw_group_by_seconds: float
    incremental_seconds: float
    incremental_values: int
    series_p95_ms: float
    series_raw_p95_ms: float
    cards_p95_ms: float
    cards_raw_p95_ms: float
    peak_mb: float
    per_pack: dict[str, float] = field(default_factory=dict)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _month(start: dt.date, offset: int) -> dt.date:
    total = start.year * 12 + start.month - 1 + offset
    return dt.date(total // 12, total % 12 + 1, 1)


def _rows(
    metric_ids: dict[str, int], area_ids: list[int], month: dt.date, seed: int
) -> Iterator[ObservationRow]:
    """One month of every metric for every area; totals are the sums of their parts."""
    rng = np.random.default_rng(seed)
    n = len(area_ids)
    people = rng.integers(20, 400, size=(n, 2, len(BANDS))).astype(float)
    working = people.copy()
    working[:, :, :3] = 0  # under 15
    employed = np.floor(working * rng.uniform(0.5, 0.75, size=working.shape))
    unemployed = np.floor(employed.sum(axis=2) * rng.uniform(0.02, 0.06, size=(n, 2)))
    series = {"population": people, "working_age_population": working, "employed_persons": employed}
    for code, table in series.items():
        metric_id, unit = metric_ids[code], UNITS[code]
        cube = table.tolist()
        for i, area in enumerate(area_ids):
            both = [0.0] * len(BANDS)
            for s, sex in enumerate(SEXES):
                row = cube[i][s]
                yield ObservationRow(metric_id, area, "month", month, sum(row), unit, sex)
                for b, band in enumerate(BANDS):
                    both[b] += row[b]
                    yield ObservationRow(metric_id, area, "month", month, row[b], unit, sex, band)
            yield ObservationRow(metric_id, area, "month", month, sum(both), unit)
            for b, band in enumerate(BANDS):
                yield ObservationRow(metric_id, area, "month", month, both[b], unit, "total", band)
    by_sex = {
        "labour_force": (employed.sum(axis=2) + unemployed).tolist(),
        "unemployed_persons": unemployed.tolist(),
    }
    for code, values in by_sex.items():
        metric_id, unit = metric_ids[code], UNITS[code]
        for i, area in enumerate(area_ids):
            male, female = values[i]
            yield ObservationRow(metric_id, area, "month", month, male + female, unit)
            yield ObservationRow(metric_id, area, "month", month, male, unit, "male")
            yield ObservationRow(metric_id, area, "month", month, female, unit, "female")
    for code in PLAIN:
        metric_id, unit = metric_ids[code], UNITS[code]
        plain = rng.integers(10, 5000, size=n).tolist()
        for i, area in enumerate(area_ids):
            yield ObservationRow(metric_id, area, "month", month, float(plain[i]), unit)


def observations_per_month(areas: int) -> int:
    by_age = len(BY_AGE) * areas * 3 * (len(BANDS) + 1)
    return by_age + len(BY_SEX) * areas * 3 + len(PLAIN) * areas


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000 if len(samples) > 1 else samples[0] * 1000


def run(
    *,
    districts: int = 25,
    neighbourhoods: int = 400,
    months: int = 120,
    repeats: int = 200,
    work_dir: Path | None = None,
    say: Callable[[str], None] = print,
) -> IndicatorBench:
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'indicators.db'}")
        try:
            return _run(engine, districts, neighbourhoods, months, repeats, say)
        finally:
            engine.dispose()


def _run(
    engine: object,
    districts: int,
    neighbourhoods: int,
    months: int,
    repeats: int,
    say: Callable[[str], None],
) -> IndicatorBench:
    migrate.upgrade(engine)  # type: ignore[arg-type]
    factory = make_sessionmaker(engine)  # type: ignore[arg-type]
    start = dt.date(2016, 1, 1)
    with factory() as session, session.begin():
        city = places.create_city(session, SYSTEM_VIEWER, code=CITY, name="Bench city")
        root = places.add_area(session, None, city=city, code="B", level="city", name="Bench")
        district_areas = [
            places.add_area(
                session,
                None,
                city=city,
                code=f"B{d:02d}",
                level="district",
                name=f"District {d}",
                parent=root,
            )
            for d in range(districts)
        ]
        area_ids = [root.id] + [a.id for a in district_areas]
        for n in range(neighbourhoods):
            area_ids.append(
                places.add_area(
                    session,
                    None,
                    city=city,
                    code=f"B{n % districts:02d}{n:04d}",
                    level="neighbourhood",
                    name=f"Neighbourhood {n}",
                    parent=district_areas[n % districts],
                ).id
            )
        metric_ids = {
            code: observations.ensure_metric(session, None, code=code, name=code, unit=unit).id
            for code, unit in UNITS.items()
        }
    expected = observations_per_month(len(area_ids)) * months
    say(f"Storing {expected:,} observations ({len(area_ids)} areas × {months} months) …")
    started = time.perf_counter()
    with factory() as session, session.begin():
        batch = observations.open_batch(session, city_id=city.id, mapping_name="bench")
        stored = 0
        for m in range(months - 1):
            stored += observations.store_observations(
                session, batch, _rows(metric_ids, area_ids, _month(start, m), m)
            )
        observations.close_batch(session, batch, rows_read=stored, stored=stored, rejected=0)
    build_seconds = time.perf_counter() - started
    say(f"  stored {stored:,} in {build_seconds:.1f} s; full recompute of every pack …")

    started = time.perf_counter()
    per_pack: dict[str, float] = {}
    written = 0
    with factory() as session, session.begin():
        for pack in shipped_pack_files():
            t0 = time.perf_counter()
            report = indicator_engine.compute(session, city_code=CITY, pack_id=pack, full=True)
            per_pack[pack] = time.perf_counter() - t0
            written += report.values_written
    full_seconds = time.perf_counter() - started

    # Baseline: the employment rate by area, month and sex in one raw GROUP BY.
    started = time.perf_counter()
    with engine.connect() as connection:  # type: ignore[attr-defined]
        connection.execute(
            text(
                "SELECT o.area_id, p.period_start, b.sex, "
                "100.0 * SUM(CASE WHEN o.metric_id = :e THEN o.value END) / "
                "SUM(CASE WHEN o.metric_id = :w THEN o.value END) "
                "FROM observation o JOIN observation_period p ON p.id = o.period_id "
                "JOIN observation_breakdown b ON b.id = o.breakdown_id "
                "WHERE o.metric_id IN (:e, :w) AND b.age_band = 'total' "
                "GROUP BY o.area_id, p.period_start, b.sex"
            ),
            {"e": metric_ids["employed_persons"], "w": metric_ids["working_age_population"]},
        ).all()
    raw_seconds = time.perf_counter() - started

    say("  one more month, then an incremental recompute …")
    with factory() as session, session.begin():
        batch = observations.open_batch(session, city_id=city.id, mapping_name="bench")
        new = observations.store_observations(
            session, batch, _rows(metric_ids, area_ids, _month(start, months - 1), months)
        )
        observations.close_batch(session, batch, rows_read=new, stored=new, rejected=0)
        stored += new
    started = time.perf_counter()
    incremental_values = 0
    with factory() as session, session.begin():
        for pack in shipped_pack_files():
            report = indicator_engine.compute(session, city_code=CITY, pack_id=pack)
            incremental_values += report.values_written
    incremental_seconds = time.perf_counter() - started

    say(f"  reads: {repeats} district × month × sex series and overview cards …")
    series: list[float] = []
    raw_series: list[float] = []
    cards: list[float] = []
    raw_cards: list[float] = []
    district_ids = [a.id for a in district_areas]
    with factory() as session:
        for i in range(repeats):
            district = f"B{i % districts:02d}"
            t0 = time.perf_counter()
            service.query_values(
                session, PUBLIC_VIEWER, "employment_rate", pack="administration", city=CITY,
                area=district, grain="month", sex=("male", "female")[i % 2], age_band="total",
                min_count=5,
            )  # fmt: skip
            series.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            session.execute(
                text(
                    "SELECT period_start, value FROM indicator_value WHERE code = :c "
                    "AND pack = 'administration' AND area_id = :a AND grain = 'month' "
                    "AND sex = :s AND age_band = 'total' ORDER BY period_start"
                ),
                {
                    "c": "employment_rate",
                    "a": district_ids[i % districts],
                    "s": ("male", "female")[i % 2],
                },
            ).all()
            raw_series.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            service.headline_cards(session, PUBLIC_VIEWER, city=CITY, min_count=5)
            cards.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            session.execute(
                text(
                    "SELECT code, period_start, value FROM indicator_value "
                    "WHERE pack = 'administration' AND area_id = :a AND sex = 'total' "
                    "AND age_band = 'total' ORDER BY code, period_start DESC"
                ),
                {"a": root.id},
            ).all()
            raw_cards.append(time.perf_counter() - t0)
    return IndicatorBench(
        districts, neighbourhoods, months, stored, build_seconds, full_seconds, written,
        raw_seconds, incremental_seconds, incremental_values, _p95(series), _p95(raw_series),
        _p95(cards), _p95(raw_cards), _peak_mb(), per_pack,
    )  # fmt: skip


@dataclass
class QueryBench:
    city: str
    code: str
    districts: int
    series_rows: int
    series_p95_ms: float
    cards: int
    cards_p95_ms: float


def run_queries(session: Session, *, city: str, code: str, repeats: int) -> QueryBench:
    """Time, on the store's own values, a district × month × sex series of one indicator and
    the overview's headline cards (the public view, disclosure included)."""
    from sqlalchemy import select

    from citymeter.errors import NotFound
    from citymeter.places.models import Area, City

    districts = list(
        session.scalars(
            select(Area.code)
            .join(City, City.id == Area.city_id)
            .where(City.code == city, Area.level == "district")
            .order_by(Area.code)
        )
    )
    if not districts:
        raise NotFound(f"The city {city!r} has no districts to query (build the demo first?).")
    series: list[float] = []
    cards: list[float] = []
    rows = shown = 0
    for i in range(repeats):
        t0 = time.perf_counter()
        found = service.query_values(
            session, PUBLIC_VIEWER, code, pack="administration", city=city,
            area=districts[i % len(districts)], grain="month", sex=("male", "female")[i % 2],
            age_band="total", min_count=5,
        )  # fmt: skip
        series.append(time.perf_counter() - t0)
        rows = max(rows, len(found))
        t0 = time.perf_counter()
        shown = len(service.headline_cards(session, PUBLIC_VIEWER, city=city, min_count=5))
        cards.append(time.perf_counter() - t0)
    return QueryBench(city, code, len(districts), rows, _p95(series), shown, _p95(cards))
