"""The fire/EMS dispatch log importer: the real file's figures, duplicates, broken times."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.incidents import importer, service
from citymeter.incidents.models import Incident, IncidentUnitStage

HEADER = (
    "fdid,incident_num,incident_date,call_type,Unit_Dispatch_Times,Unit_Enroute_Times,"
    "Unit_Arrive_Times,Unit_Clear_Times,disposition_remarks\n"
)


def write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "log.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def counts(db: Session) -> tuple[int, int]:
    return (
        int(db.scalar(select(func.count()).select_from(Incident)) or 0),
        int(db.scalar(select(func.count()).select_from(IncidentUnitStage)) or 0),
    )


def test_real_log_figures(db: Session, real_data: Path) -> None:
    path = real_data / "fire_ems_dispatch" / "rvfd-calls-for-service-2010-2020.csv"
    started = time.perf_counter()
    summary = importer.import_fire_ems_log(db, SYSTEM_VIEWER, path)
    elapsed = time.perf_counter() - started
    assert summary.rows == 19_520
    assert summary.stored == 19_513
    assert len(summary.duplicates) == 7
    assert summary.rejected == []
    assert summary.without_location == 19_513
    rt = service.response_summary(db, batch=summary.batch)
    assert rt.incidents == 19_513
    assert rt.median_s == 604
    assert rt.mean_s is not None and round(rt.mean_s, 1) == 753.2
    # Stored once per number: the four repeated rows with both times are counted once.
    assert rt.with_both == 15_433
    print(f"imported {summary.rows} rows in {elapsed:.2f} s ({summary.rows / elapsed:.0f} rows/s)")
    assert db.scalar(select(func.count()).where(Incident.lat.is_not(None))) == 0


def test_past_midnight_arrival_and_repeated_number(db: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '1,A1,5/1/24 0:00,FIRE,"E1=23:58:00, M2=23:59:30",NULL,E1=00:06:00,E1=01:10:00,',
        "1,A1,5/1/24 0:00,FIRE,E1=10:00:00,NULL,NULL,NULL,",
    )
    summary = importer.import_fire_ems_log(db, SYSTEM_VIEWER, path)
    assert (summary.stored, summary.duplicates) == (1, ["A1"])
    incident = service.get_incident(db, "A1")
    assert service.response_times(db, incident).dispatch_to_arrival_s == 480
    cleared = [s for s in service.timeline_of(db, incident) if s.stage == "cleared"]
    assert cleared[0].at.day == 2
    assert incident.status == "cleared"


def test_broken_time_rejects_the_whole_row(db: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "1,B1,5/1/24 0:00,MEDLE,E1=10:00:00,NULL,E1=10:07:00,NULL,",
        '1,B2,5/1/24 0:00,MEDLE,"E1=10:00:00, M2=25:61:00",NULL,E1=10:09:00,NULL,',
        "1,B3,not a date,MEDLE,E1=10:00:00,NULL,NULL,NULL,",
    )
    summary = importer.import_fire_ems_log(db, SYSTEM_VIEWER, path)
    assert summary.stored == 1
    reasons = {r.number: r.reason for r in summary.rejected}
    assert "Unit_Dispatch_Times" in reasons["B2"] and "25:61:00" in reasons["B2"]
    assert "not a date" in reasons["B3"]
    assert counts(db) == (1, 2)
    again = importer.import_fire_ems_log(db, SYSTEM_VIEWER, path)
    assert again.stored == 0 and any(r.reason == "already stored" for r in again.rejected)


def test_dry_run_stores_nothing(db: Session, tmp_path: Path) -> None:
    path = write(tmp_path, "1,C1,5/1/24 0:00,FIRE,E1=10:00:00,NULL,NULL,NULL,")
    summary = importer.import_fire_ems_log(db, SYSTEM_VIEWER, path, dry_run=True)
    assert summary.stored == 1
    assert counts(db) == (0, 0)
