"""Complaint service levels as indicator-engine inputs: hand-made cases per district and month, and
the real Boston 311 file."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import statistics
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.cli.common import CLI_ACTOR
from citymeter.complaints import importer, service, sla
from citymeter.complaints.models import ServiceRequest
from citymeter.indicators import engine
from citymeter.indicators.models import IndicatorValue
from citymeter.places.models import Area, City
from citymeter.places.service import add_area, create_city

PACK = "complaint-service"
UTC = dt.UTC


def _at(day: str, hour: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@pytest.fixture
def town(db: Session) -> City:
    """Districts D1 and D2 in Asia/Seoul (UTC+9), seven requests (see the comments)."""
    city = create_city(db, CLI_ACTOR, code="town", name="Town")
    root = db.scalar(select(Area).where(Area.city_id == city.id, Area.level == "city"))
    d1 = add_area(db, CLI_ACTOR, city=city, code="D1", level="district", name="D1", parent=root)
    d2 = add_area(db, CLI_ACTOR, city=city, code="D2", level="district", name="D2", parent=root)
    pothole = service.create_service_type(
        db, CLI_ACTOR, city, code="pothole", name="Pothole", target_hours=48
    )
    noise = service.create_service_type(db, CLI_ACTOR, city, code="noise", name="Noise")
    rows = [
        # district, type, opened (UTC), hours to close (None: open)
        ("r1", d1, pothole, _at("2025-01-05", 1), 24),  # on time
        ("r2", d1, pothole, _at("2025-01-10"), 96),  # late
        ("r3", d1, noise, _at("2025-01-20"), None),  # still open
        ("r4", d1, noise, _at("2025-01-31", 20), 6),  # 1 February 05:00 in Seoul
        ("r5", d2, pothole, _at("2025-01-15"), 456),  # closed 3 February, late
        ("r6", d2, noise, _at("2025-02-10"), 10),
        ("r7", None, noise, _at("2025-01-08"), 24),  # no district: the city only
    ]
    for rid, district, kind, opened, hours in rows:
        db.add(
            ServiceRequest(
                city_id=city.id,
                service_request_id=rid,
                service_type_id=kind.id,
                service_code=kind.service_code,
                status="open" if hours is None else "closed",
                requested_at=opened,
                updated_at=opened,
                closed_at=None if hours is None else opened + dt.timedelta(hours=hours),
                expected_at=(
                    opened + dt.timedelta(hours=kind.target_hours) if kind.target_hours else None
                ),
                district_id=district.id if district else None,
                area_id=district.id if district else None,
            )
        )
    db.flush()
    return city


def _values(db: Session, city: City) -> dict[tuple[str, str, str, dt.date], float]:
    codes = {a.id: a.code for a in db.scalars(select(Area).where(Area.city_id == city.id))}
    return {
        (v.code, codes[v.area_id], v.grain, v.period_start): v.value
        for v in db.scalars(
            select(IndicatorValue).where(
                IndicatorValue.city_id == city.id, IndicatorValue.pack == PACK
            )
        )
    }


def test_service_levels_per_district_and_month(db: Session, town: City) -> None:
    report = engine.compute(db, city_code="town", pack_id=PACK, full=True)
    assert not report.unresolved and not report.errors
    assert len(report.computed) == 8
    v = _values(db, town)
    jan, feb, year = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 1, 1)

    def at(code: str, area: str, month: dt.date, grain: str = "month") -> float | None:
        return v.get((code, area, grain, month))

    # January (Seoul time): D1 received r1 r2 r3, closed r1 (24 h) and r2 (96 h, late).
    assert at("complaints_received", "D1", jan) == 3
    assert at("complaints_closed", "D1", jan) == 2
    assert at("complaints_backlog", "D1", jan) == 1  # r3; r4 opened in February locally
    assert at("complaint_processing_hours_median", "D1", jan) == 60
    assert at("complaint_processing_hours_mean", "D1", jan) == 60
    assert at("complaints_closed_late_share", "D1", jan) == 50
    # D2 closed nothing in January: no processing time, but a backlog of one.
    assert at("complaints_received", "D2", jan) == 1
    assert at("complaints_closed", "D2", jan) == 0
    assert at("complaint_processing_hours_median", "D2", jan) is None
    assert at("complaints_backlog", "D2", jan) == 1
    # The city counts r7 (no district) too.
    assert at("complaints_received", "town", jan) == 5
    assert at("complaints_closed", "town", jan) == 3
    assert at("complaint_processing_hours_median", "town", jan) == 24
    assert at("complaint_processing_hours_mean", "town", jan) == 48
    assert at("complaints_closed_late_share", "town", jan) == 50  # r7 has no deadline
    assert at("complaints_backlog", "town", jan) == 2
    assert at("complaints_closed_per_received", "town", jan) == pytest.approx(60)
    # February: r4 has no deadline, so D1 has no late share; D2 closed r5 (late) and r6.
    assert at("complaint_processing_hours_median", "D1", feb) == 6
    assert at("complaints_closed_late_share", "D1", feb) is None
    assert at("complaint_processing_hours_median", "D2", feb) == 233
    assert at("complaints_closed_late_share", "D2", feb) == 100
    assert at("complaints_backlog", "D2", feb) == 0
    assert at("complaint_processing_hours_mean", "town", feb) == pytest.approx(472 / 3)
    # The year is computed from its own requests, not from the monthly medians.
    assert at("complaint_processing_hours_median", "town", year, "year") == 24
    assert at("complaints_received", "town", year, "year") == 7
    assert at("complaints_backlog", "town", year, "year") == 1
    assert at("complaints_closed_late_share", "town", year, "year") == pytest.approx(200 / 3)
    assert at("complaint_processing_hours_p90", "D2", year, "year") == pytest.approx(411.4)


def test_engine_agrees_with_the_sla_command(db: Session, town: City) -> None:
    engine.compute(db, city_code="town", pack_id=PACK, full=True)
    v = _values(db, town)
    for row in sla.monthly(db, town):
        area = "town" if row.district == sla.CITY_WIDE else row.district
        if area == "unassigned":
            continue
        key = ("complaints_received", area, "month", row.month)
        assert v[key] == row.received
        assert v[("complaints_backlog", area, "month", row.month)] == row.backlog
        if row.median_hours is not None:
            median = v[("complaint_processing_hours_median", area, "month", row.month)]
            assert median == pytest.approx(row.median_hours)


def test_administration_pack_complaint_indicators_resolve(db: Session, town: City) -> None:
    report = engine.compute(
        db,
        city_code="town",
        pack_id="administration",
        codes=["complaint_processing_time_median", "complaints_received"],
    )
    assert report.unresolved == {}
    assert sorted(report.computed) == ["complaint_processing_time_median", "complaints_received"]


@pytest.mark.realdata
def test_boston_median_processing_time(db: Session, real_data: Path) -> None:
    """The whole 2015 file: the engine's cells hold exactly the README's population of closed
    cases (median 67.164 h); the 2015 year cell counts the cases closed in 2015."""
    path = real_data / "boston_311_2015" / "boston_311_2015_all.csv.gz"
    city = create_city(
        db, CLI_ACTOR, code="boston", name="Boston", timezone="America/New_York", country="US"
    )
    importer.import_file(db, CLI_ACTOR, city, path)
    report = engine.compute(
        db,
        city_code="boston",
        pack_id=PACK,
        codes=["complaint_processing_hours_median", "complaints_received", "complaints_closed"],
    )
    assert not report.unresolved
    v = _values(db, city)
    fmt = "%m/%d/%Y %I:%M:%S %p"
    by_year: dict[int, list[float]] = {2015: [], 2016: []}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for r in csv.DictReader(handle):
            if r["CASE_STATUS"] == "Closed" and r["CLOSED_DT"]:
                opened = dt.datetime.strptime(r["OPEN_DT"], fmt)
                closed = dt.datetime.strptime(r["CLOSED_DT"], fmt)
                by_year[closed.year].append((closed - opened).total_seconds() / 3600)
    every = by_year[2015] + by_year[2016]
    assert round(statistics.median(every), 3) == 67.164  # the README's figure
    y2015, y2016 = dt.date(2015, 1, 1), dt.date(2016, 1, 1)
    median = "complaint_processing_hours_median"
    assert v[(median, "boston", "year", y2015)] == pytest.approx(statistics.median(by_year[2015]))
    assert v[(median, "boston", "year", y2016)] == pytest.approx(statistics.median(by_year[2016]))
    assert v[("complaints_received", "boston", "year", y2015)] == 121_145
    closed = v[("complaints_closed", "boston", "year", y2015)]
    assert closed + v[("complaints_closed", "boston", "year", y2016)] == 101_272
    # The engine's year buckets pooled: the README's median over every closed case.
    rows = sla.load_rows(db, city)
    years = sla.buckets(rows, ZoneInfo(city.timezone), "year", [y2015, y2016], lambda r: ["boston"])
    pooled = [r.hours for b in years.values() for r in b.closed if r.hours is not None]
    assert len(pooled) == 101_272
    assert statistics.median(pooled) == pytest.approx(67.164, abs=5e-4)
    assert statistics.median(pooled) == pytest.approx(sla_median(db, city))


def sla_median(db: Session, city: City) -> float:
    return statistics.median(sla.processing_hours(db, city))
