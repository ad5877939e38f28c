"""Import historical service requests from files (format "boston-311": City of Boston 311 exports).

All or nothing: a file with rows that cannot be read is refused with the reasons, and nothing is
stored. Data-quality quirks that do not make a row unreadable are kept and counted in the report:
placeholder coordinates (flagged, not located), closes before opens (kept as they are), rows
without a neighbourhood. Imported rows get no status-change history (the file has only the
opening and closing times, which the request itself keeps).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.complaints.models import MAX_DESCRIPTION, ServiceRequest, ServiceType
from citymeter.errors import InvalidInput
from citymeter.places import locator as places_locator
from citymeter.places.models import City

FORMATS = ("boston-311",)
BOSTON_PLACEHOLDER = (42.3594, -71.0587)
PLACEHOLDER_FLAG = "placeholder coordinate"
OUTSIDE_FLAG = "outside the city's areas"
_BOSTON_COLUMNS = ("CASE_ENQUIRY_ID", "OPEN_DT", "CLOSED_DT", "CASE_STATUS", "TYPE")
_CHUNK = 5000


@dataclass
class ImportReport:
    rows: int = 0
    stored: int = 0
    already_stored: int = 0
    closed: int = 0
    open: int = 0
    placeholder_coordinates: int = 0
    closed_before_opened: int = 0
    without_neighbourhood: int = 0
    located: int = 0
    outside_city: int = 0
    service_types_created: int = 0
    batch: str = ""
    dry_run: bool = False
    seconds: float = 0.0
    top_types: list[tuple[str, int]] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "would store" if self.dry_run else "stored"
        return [
            f"{self.rows} rows read, {verb} {self.stored} "
            f"({self.already_stored} already stored) in {self.seconds:.1f} s",
            f"closed {self.closed}, open {self.open}",
            f"service types created: {self.service_types_created}",
            f"placeholder coordinates (flagged, not located): {self.placeholder_coordinates}",
            f"closed before opened (kept as they are): {self.closed_before_opened}",
            f"without a neighbourhood: {self.without_neighbourhood}",
            f"located in an area: {self.located}; outside the city's areas: {self.outside_city}",
        ]


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120] or "other"


class _Times:
    """Boston local times like "01/05/2015 09:13:44 AM", to UTC (memoised: many repeat)."""

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone
        self._cache: dict[str, dt.datetime] = {}

    def __call__(self, text: str) -> dt.datetime | None:
        text = text.strip()
        if not text:
            return None
        hit = self._cache.get(text)
        if hit is None:
            local = dt.datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p")
            hit = local.replace(tzinfo=self._zone).astimezone(dt.UTC)
            self._cache[text] = hit
        return hit


def _float(text: str) -> float | None:
    text = text.strip()
    return float(text) if text else None


def _zipcode(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        return f"{int(float(text)):05d}"
    except ValueError:
        return text[:16]


def _read_boston(path: Path, zone: ZoneInfo) -> tuple[list[dict[str, Any]], list[str]]:
    times = _Times(zone)
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _BOSTON_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(
                f"{path.name} is not a boston-311 file: it lacks the columns {', '.join(missing)}."
            )
        for line, raw in enumerate(reader, start=2):
            try:
                status = raw["CASE_STATUS"].strip().lower()
                if status not in ("open", "closed"):
                    raise ValueError(f"CASE_STATUS {raw['CASE_STATUS']!r} is not Open or Closed")
                requested = times(raw["OPEN_DT"])
                if requested is None:
                    raise ValueError("OPEN_DT is empty")
                closed = times(raw["CLOSED_DT"]) if status == "closed" else None
                case_id = raw["CASE_ENQUIRY_ID"].strip()
                if not case_id:
                    raise ValueError("CASE_ENQUIRY_ID is empty")
                rows.append(
                    {
                        "service_request_id": case_id,
                        "type": raw["TYPE"].strip() or "Other",
                        "group": raw.get("SUBJECT", "").strip(),
                        "department": raw.get("Department", "").strip() or None,
                        "status": status,
                        "status_notes": raw.get("CLOSURE_REASON", "").strip() or None,
                        "description": (raw.get("CASE_TITLE") or "").strip()[:MAX_DESCRIPTION]
                        or None,
                        "requested_at": requested,
                        "updated_at": closed or requested,
                        "expected_at": times(raw.get("TARGET_DT", "")),
                        "closed_at": closed,
                        "address": raw.get("Location", "").strip() or None,
                        "address_id": (
                            str(int(float(raw["Property_ID"])))
                            if raw.get("Property_ID", "").strip()
                            else None
                        ),
                        "zipcode": _zipcode(raw.get("LOCATION_ZIPCODE", "")),
                        "lat": _float(raw.get("LATITUDE", "")),
                        "long": _float(raw.get("LONGITUDE", "")),
                        "source_area": raw.get("neighborhood", "").strip() or None,
                        "source_id": raw.get("Source", "").strip() or None,
                    }
                )
            except (ValueError, KeyError) as exc:
                errors.append(f"line {line}: {exc}")
    return rows, errors


def import_file(
    session: Session,
    actor: Viewer,
    city: City,
    path: Path,
    *,
    file_format: str = "boston-311",
    dry_run: bool = False,
) -> ImportReport:
    started = time.perf_counter()
    if file_format not in FORMATS:
        raise InvalidInput(f"Unknown format {file_format!r}; known: {', '.join(FORMATS)}.")
    if not path.is_file():
        raise InvalidInput(f"There is no file {path}.")
    rows, errors = _read_boston(path, ZoneInfo(city.timezone))
    if errors:
        raise InvalidInput(
            f"{path.name}: {len(errors)} rows cannot be read; nothing was stored.",
            details={"errors": errors},
        )
    report = ImportReport(rows=len(rows), dry_run=dry_run, batch=uuid.uuid4().hex[:16])
    existing = set(
        session.scalars(
            select(ServiceRequest.service_request_id).where(ServiceRequest.city_id == city.id)
        )
    )
    services = {
        s.service_code: s
        for s in session.scalars(select(ServiceType).where(ServiceType.city_id == city.id))
    }
    try:
        locator: places_locator.AreaLocator | None = places_locator.cached_locator(session, city)
    except InvalidInput:
        locator = None  # no boundaries: requests are stored without an area
    type_counts: Counter[str] = Counter()
    fresh: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        if row["service_request_id"] in existing or row["service_request_id"] in seen:
            report.already_stored += 1
            continue
        seen.add(row["service_request_id"])
        fresh.append(row)
        type_counts[row["type"]] += 1
        if row["status"] == "closed":
            report.closed += 1
            if row["closed_at"] is not None and row["closed_at"] < row["requested_at"]:
                report.closed_before_opened += 1
        else:
            report.open += 1
        if row["source_area"] is None:
            report.without_neighbourhood += 1
        row["location_flag"] = None
        if (row["lat"], row["long"]) == BOSTON_PLACEHOLDER:
            report.placeholder_coordinates += 1
            row["location_flag"] = PLACEHOLDER_FLAG
            row["lat"] = row["long"] = None
    report.top_types = type_counts.most_common(10)
    report.stored = len(fresh)
    _locate(locator, fresh, report)
    new_types = sorted({slug(t) for t in type_counts} - set(services))
    report.service_types_created = len(new_types)
    if dry_run:
        report.seconds = time.perf_counter() - started
        return report
    names = {slug(r["type"]): r for r in fresh}
    for code in new_types:
        first = names[code]
        service = ServiceType(
            city_id=city.id,
            service_code=code,
            name=first["type"],
            description="",
            group=first["group"],
            keywords="",
            has_metadata=False,
            kind="realtime",
            target_hours=None,
            department=first["department"] or "",
            attributes=[],
        )
        session.add(service)
        services[code] = service
    session.flush()
    values = []
    for row in fresh:
        code = slug(row.pop("type"))
        row.pop("group")
        row.update(
            city_id=city.id,
            service_type_id=services[code].id,
            service_code=code,
            import_batch=report.batch,
            attributes={},
        )
        values.append(row)
    # Core's executemany, not the ORM's bulk insert: the ORM splits rows into a statement per run
    # of rows with the same empty fields (many here), and spent more than the inserts themselves.
    table = cast(Table, ServiceRequest.__table__)
    connection = session.connection()
    for start in range(0, len(values), _CHUNK):
        connection.execute(insert(table), values[start : start + _CHUNK])
    report.seconds = time.perf_counter() - started
    audit.record(
        session,
        actor,
        "complaints.import",
        "city",
        city.id,
        {"file": path.name, "batch": report.batch, "stored": report.stored},
    )
    return report


def _locate(
    locator: places_locator.AreaLocator | None, rows: list[dict[str, Any]], report: ImportReport
) -> None:
    for row in rows:
        row["area_id"] = row["district_id"] = None
    if locator is None:
        return
    pointed = [r for r in rows if r["lat"] is not None and r["long"] is not None]
    found = locator.locate_many([r["lat"] for r in pointed], [r["long"] for r in pointed])
    for row, where in zip(pointed, found, strict=True):
        if where is None:
            report.outside_city += 1
            row["location_flag"] = OUTSIDE_FLAG
            continue
        report.located += 1
        district = where.at_level("district")
        row["area_id"] = where.area.id
        row["district_id"] = district.id if district else None
