"""Open data: the live datasets (one per entity type) as the public sees them, exported as CSV,
JSON or XLSX. Only public entities are read, whoever asks: open data is the public view."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER
from citymeter.entities.service import count_entities, query_entities
from citymeter.entities.types import EntityType, all_entity_types, find_entity_type
from citymeter.errors import InvalidInput, NotFound
from citymeter.indicators.export import MEDIA_TYPES

FORMATS = ("csv", "json", "xlsx")
MAX_ENTITIES = 100_000
FIXED = ("id", "type", "lat", "lon", "observed_at")


@dataclass(frozen=True)
class Dataset:
    type: str
    description: str
    entities: int
    attributes: tuple[str, ...]


def datasets(session: Session) -> list[Dataset]:
    """Every entity type with at least one public entity, and how many."""
    counts = count_entities(session, PUBLIC_VIEWER)
    known = {t.name: t for t in all_entity_types()}
    out = []
    for name in sorted(counts):
        spec = known.get(name)
        out.append(
            Dataset(
                name,
                spec.description if spec else "",
                counts[name],
                tuple(spec.attributes) if spec else (),
            )
        )
    return out


def _attribute_names(spec: EntityType | None, rows: list[dict[str, Any]]) -> list[str]:
    names = list(spec.attributes) if spec else []
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)
    return names


def export_dataset(session: Session, entity_type: str, fmt: str) -> tuple[bytes, str]:
    """The public entities of one type; one row each, attribute values in columns."""
    if fmt not in FORMATS:
        raise InvalidInput(f"Format {fmt!r} is not one of {', '.join(FORMATS)}.")
    spec = find_entity_type(entity_type)
    found, total = query_entities(session, PUBLIC_VIEWER, types=[entity_type], limit=MAX_ENTITIES)
    if spec is None and total == 0:
        raise NotFound(f"There is no public dataset {entity_type!r}.")
    values = [
        {name: (attr or {}).get("value") for name, attr in e.attributes.items()} for e in found
    ]
    columns = _attribute_names(spec, values)
    records = []
    for entity, attrs in zip(found, values, strict=True):
        record: dict[str, Any] = {
            "id": entity.entity_id,
            "type": entity.type,
            "lat": entity.lat,
            "lon": entity.lon,
            "observed_at": entity.observed_at.isoformat() if entity.observed_at else None,
        }
        record.update({c: attrs.get(c) for c in columns})
        records.append(record)
    header = list(FIXED) + columns
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False, indent=1).encode(), MEDIA_TYPES["json"]

    def cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return value

    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = entity_type[:31]
        sheet.append(header)
        for record in records:
            sheet.append([cell(record[h]) for h in header])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue(), MEDIA_TYPES["xlsx"]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for record in records:
        writer.writerow([cell(record[h]) for h in header])
    return text.getvalue().encode(), MEDIA_TYPES["csv"]
