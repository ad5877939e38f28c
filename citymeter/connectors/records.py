"""Turning the records of a file or an API (CSV rows, JSON objects, GeoJSON features) into entity
readings, through a small declarative field mapping shared by the file and HTTP pull connectors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from citymeter.errors import InvalidInput


class RecordMapping(BaseModel):
    """Which field of a record holds what. A record with none of this is taken as a reading as is
    ({"type", "id" or "entity_id", "observed_at", "attrs", "location"})."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str | None = Field(default=None, description="Entity type of every record.")
    type_field: str | None = Field(default=None, description="…or the field holding it.")
    id_field: str = Field(description="Field with the entity's local id (or its URN).")
    time_field: str = Field(description="Field with the observation time (ISO 8601, with zone).")
    attrs: dict[str, str] = Field(
        description="Attribute name → field holding its value; a list means same names."
    )
    lat_field: str | None = None
    lon_field: str | None = None
    name_field: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _attrs_list(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("attrs"), list):
            data = dict(data)
            data["attrs"] = {str(name): str(name) for name in data["attrs"]}
        return data

    @model_validator(mode="after")
    def _one_type(self) -> RecordMapping:
        if (self.type is None) == (self.type_field is None):
            raise ValueError("give exactly one of `type` (a constant) or `type_field`")
        if (self.lat_field is None) != (self.lon_field is None):
            raise ValueError("give both `lat_field` and `lon_field`, or neither")
        return self


def parse_record_mapping(raw: Any, where: str) -> RecordMapping | None:
    if raw is None:
        return None
    try:
        return RecordMapping.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or where}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"The {where} mapping is not valid: {problems}") from None


def _number(value: Any) -> Any:
    """CSV cells are text: "41" → 41, "3.5" → 3.5, "" → None; other text stays text."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return value


def field_value(record: Mapping[str, Any], path: str) -> Any:
    """A field, or a dotted path into nested objects ("properties.pm10")."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def to_reading(record: Mapping[str, Any], mapping: RecordMapping | None) -> dict[str, Any]:
    """One record as a reading. Nothing is checked here: ingest checks it and dead-letters it."""
    if mapping is None:
        return dict(record)
    ident = field_value(record, mapping.id_field)
    reading: dict[str, Any] = {
        "type": mapping.type or field_value(record, mapping.type_field or ""),
        "observed_at": field_value(record, mapping.time_field),
        "attrs": {
            name: _number(field_value(record, column))
            for name, column in mapping.attrs.items()
            if _number(field_value(record, column)) is not None
        },
    }
    if isinstance(ident, str) and ident.startswith("urn:"):
        reading["entity_id"] = ident
    else:
        reading["id"] = None if ident is None else str(ident)
    if mapping.lat_field and mapping.lon_field:
        lat = _number(field_value(record, mapping.lat_field))
        lon = _number(field_value(record, mapping.lon_field))
        if lat is not None and lon is not None:
            reading["location"] = {"lat": lat, "lon": lon}
    if mapping.name_field:
        name = field_value(record, mapping.name_field)
        if name is not None:
            reading["name"] = str(name)
    return reading


def csv_records(data: bytes, label: str, delimiter: str = ",") -> list[dict[str, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{label} is not UTF-8 text.") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [dict(row) for row in reader if any((v or "").strip() for v in row.values())]


def json_document(data: bytes, label: str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{label} is not valid JSON: {exc}") from None


def json_items(document: Any, items_path: str | None, label: str) -> list[Any]:
    """The list of records inside a JSON document: the document itself, or at `items_path`."""
    found = field_value(document, items_path) if items_path else document
    if isinstance(found, Mapping) and found.get("type") == "FeatureCollection":
        return list(geojson_records(found))
    if not isinstance(found, list):
        where = f" at {items_path!r}" if items_path else ""
        raise InvalidInput(
            f"{label} has no list of records{where}; set `items` to the path of the list "
            '(e.g. "data.items").'
        )
    return found


def geojson_records(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Each feature's properties, with `lat`/`lon` from a Point geometry."""
    for feature in document.get("features") or []:
        if not isinstance(feature, Mapping):
            continue
        record = dict(feature.get("properties") or {})
        geometry = feature.get("geometry") or {}
        if geometry.get("type") == "Point":
            coordinates = geometry.get("coordinates") or []
            if len(coordinates) >= 2:
                record.setdefault("lon", coordinates[0])
                record.setdefault("lat", coordinates[1])
        if feature.get("id") is not None:
            record.setdefault("id", feature["id"])
        yield record
