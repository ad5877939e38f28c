"""Import incidents from files. Format "fire-ems-log": a fire/EMS dispatch log (one row per call,
`incident_date` with the date only, unit timelines as text like "E1=14:02:11, M2=14:03:40" or NULL).

Each stage column's clock times are placed on the incident date; a column whose first time is
earlier than the first dispatch belongs to the next day (past midnight). A row with a broken time is
rejected with its reason and nothing of it is stored; a repeated incident number is stored once
and reported. The log has no coordinates: such incidents are stored without a location.
"""

from __future__ import annotations

import csv
import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.errors import InvalidInput
from citymeter.incidents.models import STAGES, Incident, IncidentType, IncidentUnitStage
from citymeter.incidents.service import _require_write, ensure_type, place_clock, status_from

FORMATS = ("fire-ems-log",)
STAGE_COLUMNS = {
    "Unit_Dispatch_Times": "dispatched",
    "Unit_Enroute_Times": "en_route",
    "Unit_Arrive_Times": "on_scene",
    "Unit_Clear_Times": "cleared",
}
REQUIRED = ("incident_num", "incident_date", "call_type", *STAGE_COLUMNS)


@dataclass
class Rejected:
    line: int
    number: str
    reason: str


@dataclass
class ImportSummary:
    batch: str
    rows: int = 0
    stored: int = 0
    stages: int = 0
    duplicates: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    without_location: int = 0
    units_out_of_order: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def category_of(call_type: str) -> str:
    text = call_type.upper()
    if "FIRE" in text or "SMOKE" in text or "ALARM" in text:
        return "fire"
    if "MVA" in text or "ACC" in text or "CRASH" in text:
        return "traffic_accident"
    if "GAS" in text:
        return "gas"
    if "FLOOD" in text or "WATER" in text:
        return "flood"
    if "RESC" in text:
        return "rescue"
    if text[:1].isdigit() or text.startswith("MED"):
        return "medical"  # MPDS determinant codes such as 33C2
    return "other"


def parse_clock_list(text: str) -> list[tuple[str, dt.time]]:
    """ "E1=14:02:11, M2=14:03:40" → [(E1, 14:02:11), (M2, 14:03:40)]; NULL or blank → []."""
    text = text.strip()
    if not text or text.upper() == "NULL":
        return []
    out = []
    for part in text.split(","):
        unit, sep, clock = part.strip().partition("=")
        if not sep or not unit.strip():
            raise ValueError(f"{part.strip()!r} is not UNIT=HH:MM:SS")
        try:
            out.append((unit.strip(), dt.time.fromisoformat(clock.strip())))
        except ValueError:
            raise ValueError(
                f"{part.strip()!r}: {clock.strip()!r} is not a time HH:MM:SS"
            ) from None
    return out


def parse_date(text: str) -> dt.date:
    day = text.strip().split(" ")[0]
    try:
        return dt.datetime.strptime(day, "%m/%d/%y").date()
    except ValueError:
        raise ValueError(f"incident_date {text.strip()!r} is not a date M/D/YY") from None


def _place_row(
    row: dict[str, str], day: dt.date, tz: dt.tzinfo
) -> list[tuple[str, str, dt.datetime]]:
    """(unit, stage, at) of one row; raises ValueError naming the broken field."""
    columns: dict[str, list[tuple[str, dt.time]]] = {}
    for column, stage in STAGE_COLUMNS.items():
        try:
            columns[stage] = parse_clock_list(row.get(column) or "")
        except ValueError as exc:
            raise ValueError(f"{column}: {exc}") from None
    first_dispatch: dt.datetime | None = None
    if columns["dispatched"]:
        first_dispatch = dt.datetime.combine(day, min(t for _, t in columns["dispatched"]), tz)
    placed: dict[tuple[str, str], dt.datetime] = {}
    for stage in STAGES:
        times = columns[stage]
        if not times:
            continue
        first = place_clock(day, min(t for _, t in times), first_dispatch, tz)
        shift = first.date() - day
        for unit, clock in times:
            at = dt.datetime.combine(day + shift, clock, tz)
            key = (unit, stage)
            if key not in placed or at < placed[key]:
                placed[key] = at
    return [(unit, stage, at) for (unit, stage), at in placed.items()]


def import_fire_ems_log(
    session: Session,
    viewer: Viewer,
    path: Path,
    *,
    tz: str = "UTC",
    dry_run: bool = False,
    source_id: int | None = None,
) -> ImportSummary:
    _require_write(viewer)
    started = time.perf_counter()
    zone = ZoneInfo(tz)
    summary = ImportSummary(batch=f"fire-ems-{uuid.uuid4().hex[:12]}", dry_run=dry_run)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(
                f"{path.name} is not a fire-ems-log file: missing columns {', '.join(missing)}."
            )
        incidents: list[dict[str, object]] = []
        stages: dict[str, list[tuple[str, str, dt.datetime]]] = {}
        seen: set[str] = set()
        known = set(session.scalars(select(Incident.number)))
        for line, row in enumerate(reader, start=2):
            summary.rows += 1
            number = (row.get("incident_num") or "").strip()
            if not number:
                summary.rejected.append(Rejected(line, "", "incident_num is empty"))
                continue
            if number in seen:
                summary.duplicates.append(number)
                continue
            if number in known:
                summary.rejected.append(Rejected(line, number, "already stored"))
                continue
            try:
                day = parse_date(row.get("incident_date") or "")
                timeline = _place_row(row, day, zone)
            except ValueError as exc:
                summary.rejected.append(Rejected(line, number, str(exc)))
                continue
            seen.add(number)
            by_unit: dict[str, list[tuple[int, dt.datetime]]] = {}
            for unit, stage, at in timeline:
                by_unit.setdefault(unit, []).append((STAGES.index(stage), at))
            if any(
                [at for _, at in sorted(v)] != sorted(at for _, at in v) for v in by_unit.values()
            ):
                summary.units_out_of_order += 1
            call_type = (row.get("call_type") or "").strip() or "UNKNOWN"
            incidents.append(
                {
                    "number": number,
                    "raw_call_type": call_type,
                    "reported_at": dt.datetime.combine(day, dt.time(0), zone),
                    "status": status_from([s for _, s, _ in timeline]),
                    "remarks": (row.get("disposition_remarks") or "").strip() or None,
                }
            )
            stages[number] = timeline
    summary.stored = len(incidents)
    summary.stages = sum(len(v) for v in stages.values())
    summary.without_location = len(incidents)
    if not dry_run and incidents:
        types: dict[str, IncidentType] = {}
        for code in sorted({str(i["raw_call_type"]) for i in incidents}):
            types[code] = ensure_type(session, code, category=category_of(code))
        session.execute(
            insert(Incident),
            [
                {
                    **i,
                    "type_id": types[str(i["raw_call_type"])].id,
                    "severity": types[str(i["raw_call_type"])].default_severity,
                    "reported_precision": "date",
                    "import_batch": summary.batch,
                    "source_id": source_id,
                }
                for i in incidents
            ],
        )
        ids = {
            number: pk
            for number, pk in session.execute(
                select(Incident.number, Incident.id).where(Incident.import_batch == summary.batch)
            ).tuples()
        }
        session.execute(
            insert(IncidentUnitStage),
            [
                {"incident_id": ids[number], "unit": unit, "stage": stage, "at": at}
                for number, timeline in stages.items()
                for unit, stage, at in timeline
            ],
        )
        audit.record(
            session,
            viewer,
            "incident.import",
            "incident_batch",
            summary.batch,
            {"file": path.name, "stored": summary.stored, "rejected": len(summary.rejected)},
        )
        session.flush()
    summary.seconds = time.perf_counter() - started
    return summary
