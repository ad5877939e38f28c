"""The real Boston 311 file (January 2015) through the importer and the service-level module."""

from __future__ import annotations

import csv
import datetime as dt
import statistics
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.cli.common import CLI_ACTOR
from citymeter.complaints import importer, sla
from citymeter.complaints.models import ServiceRequest, ServiceType
from citymeter.errors import InvalidInput
from citymeter.places.models import City
from citymeter.places.service import create_city

pytestmark = pytest.mark.realdata


def _boston(db: Session) -> City:
    return create_city(
        db, CLI_ACTOR, code="boston", name="Boston", timezone="America/New_York", country="US"
    )


def _january(real_data: Path) -> Path:
    return real_data / "boston_311_2015" / "boston_311_2015_january.csv"


def _expected(path: Path) -> dict[str, object]:
    """The figures counted straight from the CSV, independently of the importer."""
    fmt = "%m/%d/%Y %I:%M:%S %p"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    hours = []
    before = 0
    for r in rows:
        if r["CASE_STATUS"] == "Closed" and r["CLOSED_DT"]:
            delta = dt.datetime.strptime(r["CLOSED_DT"], fmt) - dt.datetime.strptime(
                r["OPEN_DT"], fmt
            )
            hours.append(delta.total_seconds() / 3600)
            before += delta.total_seconds() < 0
    return {
        "rows": len(rows),
        "placeholder": sum(
            (r["LATITUDE"], r["LONGITUDE"]) == ("42.3594", "-71.0587") for r in rows
        ),
        "before": before,
        "no_neighbourhood": sum(not r["neighborhood"].strip() for r in rows),
        "median": statistics.median(hours),
    }


def test_january_import_counts_quirks_and_median(db: Session, real_data: Path) -> None:
    city = _boston(db)
    path = _january(real_data)
    expected = _expected(path)
    report = importer.import_file(db, CLI_ACTOR, city, path)
    assert report.rows == expected["rows"] == 7528
    assert (report.closed, report.open) == (6078, 1450)
    assert report.placeholder_coordinates == expected["placeholder"] > 0
    assert report.closed_before_opened == expected["before"]
    assert report.without_neighbourhood == expected["no_neighbourhood"]
    assert report.located == 0  # Boston has no boundaries here: stored with no area
    stored = db.scalar(select(func.count()).where(ServiceRequest.city_id == city.id))
    assert stored == 7528
    assert db.scalar(select(func.count()).where(ServiceRequest.area_id.is_not(None))) == 0
    flagged = db.scalar(
        select(func.count()).where(ServiceRequest.location_flag == importer.PLACEHOLDER_FLAG)
    )
    assert flagged == expected["placeholder"]
    hours = sla.processing_hours(db, city)
    assert len(hours) == 6078
    assert statistics.median(hours) == pytest.approx(expected["median"], abs=1e-6)

    # Re-importing the same file stores nothing new.
    again = importer.import_file(db, CLI_ACTOR, city, path)
    assert (again.stored, again.already_stored) == (0, 7528)


def test_january_service_levels(db: Session, real_data: Path) -> None:
    city = _boston(db)
    importer.import_file(db, CLI_ACTOR, city, _january(real_data))
    rows = sla.monthly(db, city, dt.date(2015, 1, 1))
    whole = next(r for r in rows if r.district == sla.CITY_WIDE)
    assert whole.received == 7528
    closed_in_jan = [h for h in whole.hours]
    assert whole.closed == len(closed_in_jan) > 0
    assert whole.median_hours == pytest.approx(statistics.median(closed_in_jan))
    # Everything received in January and not closed by its end is the backlog.
    assert whole.backlog == whole.received - whole.closed
    assert whole.closed_late_share is not None and 0 < whole.closed_late_share < 1
    assert whole.top_types and whole.top_types[0][1] >= whole.top_types[-1][1]
    unassigned = next(r for r in rows if r.district == "unassigned")
    assert unassigned.received == 7528


def test_dry_run_stores_nothing(db: Session, real_data: Path) -> None:
    city = _boston(db)
    report = importer.import_file(db, CLI_ACTOR, city, _january(real_data), dry_run=True)
    assert report.stored == 7528 and report.service_types_created > 100
    assert db.scalar(select(func.count()).select_from(ServiceRequest)) == 0
    assert db.scalar(select(func.count()).select_from(ServiceType)) == 0


def test_broken_file_is_refused_whole(db: Session, real_data: Path, tmp_path: Path) -> None:
    city = _boston(db)
    lines = _january(real_data).read_text(encoding="utf-8").splitlines()
    broken = lines[:50]
    broken[10] = broken[10].replace("/2015 ", "/2015x ", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(broken) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="nothing was stored") as info:
        importer.import_file(db, CLI_ACTOR, city, bad)
    assert any("line 11" in e for e in info.value.details["errors"])
    assert db.scalar(select(func.count()).select_from(ServiceRequest)) == 0
