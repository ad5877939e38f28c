"""Import suggestions from a CSV file (an e-participation portal's export) through a column
mapping. All or nothing: every row is checked first; one bad row stores none, and every reject
is reported with its line and reason."""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.errors import InvalidInput
from citymeter.places.models import City
from citymeter.suggestions import service
from citymeter.suggestions.service import NewSuggestion

# Our field -> the default CSV column; `--map field=column` changes one.
DEFAULT_MAPPING: dict[str, str] = {
    "title": "title",
    "body": "body",
    "category": "category",
    "lat": "lat",
    "lon": "lon",
    "area_code": "area_code",
    "created_at": "created_at",
    "author_name": "author_name",
    "author_contact": "author_contact",
    "external_id": "id",
}
REQUIRED = ("title", "body")


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    stored: int = 0
    batch: str = ""
    rejected: list[Reject] = field(default_factory=list)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`["title=제목", "body=내용"]` over the defaults."""
    mapping = dict(DEFAULT_MAPPING)
    for pair in pairs:
        ours, sep, theirs = pair.partition("=")
        if not sep or ours.strip() not in DEFAULT_MAPPING or not theirs.strip():
            raise InvalidInput(
                f"A mapping is field=column with a field among {', '.join(DEFAULT_MAPPING)}; "
                f"{pair!r} is not."
            )
        mapping[ours.strip()] = theirs.strip()
    return mapping


def _float(text: str, name: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{name} {text!r} is not a number.") from None


def _time(text: str, zone: ZoneInfo) -> dt.datetime | None:
    if not text.strip():
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"created_at {text!r} is not an ISO date or date-time.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


def read_rows(
    path: Path, mapping: dict[str, str], zone: ZoneInfo
) -> tuple[list[tuple[int, NewSuggestion]], list[Reject], int]:
    """Parsed rows (with their line numbers), rejects, and the number of rows read."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from None
    with handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        missing = [mapping[f] for f in REQUIRED if mapping[f] not in columns]
        if missing:
            raise InvalidInput(
                f"{path.name} has no column {', '.join(map(repr, missing))}; its columns are "
                f"{', '.join(sorted(columns)) or 'none'}. Map yours with --map title=<column>."
            )
        parsed: list[tuple[int, NewSuggestion]] = []
        rejects: list[Reject] = []
        count = 0
        for count, row in enumerate(reader, start=1):
            line = count + 1  # the header is line 1

            def cell(name: str, row: dict[str, str] = row) -> str:
                column = mapping[name]
                return (row.get(column) or "").strip() if column in columns else ""

            try:
                parsed.append(
                    (
                        line,
                        NewSuggestion(
                            title=cell("title"),
                            body=cell("body"),
                            category=cell("category") or "other",
                            lat=_float(cell("lat"), "lat"),
                            lon=_float(cell("lon"), "lon"),
                            area_code=cell("area_code") or None,
                            author_name=cell("author_name") or None,
                            author_contact=cell("author_contact") or None,
                            external_id=cell("external_id") or None,
                            created_at=_time(cell("created_at"), zone),
                        ),
                    )
                )
            except InvalidInput as exc:
                rejects.append(Reject(line, exc.message))
    return parsed, rejects, count


def import_csv(
    session: Session,
    viewer: Viewer,
    city: City,
    path: Path,
    *,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Check every row, then store them all, or none if any row is rejected."""
    zone = ZoneInfo(city.timezone)
    rows, rejects, count = read_rows(path, mapping or dict(DEFAULT_MAPPING), zone)
    report = ImportReport(rows=count, batch=f"suggestions-{uuid.uuid4().hex[:10]}")
    for line, new in rows:
        try:
            service.check(session, city, new)
        except InvalidInput as exc:
            rejects.append(Reject(line, exc.message))
    report.rejected = sorted(rejects, key=lambda r: r.line)
    if report.rejected or dry_run:
        return report
    for _, new in rows:
        service.submit(session, viewer, city, new, channel="import", batch=report.batch)
    report.stored = len(rows)
    audit.record(
        session,
        viewer,
        "suggestion.import",
        "suggestion_batch",
        report.batch,
        {"file": path.name, "stored": report.stored},
    )
    return report
