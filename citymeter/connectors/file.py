"""File import connector: a file, or every new or changed file of a watched folder (polled on the
source's schedule), read as entity readings (JSON, CSV, GeoJSON) or as statistics through an
observations mapping (CSV, XLSX — the same declarative mappings as `citymeter observations import`).

Files already read are remembered by content hash in the source's state, so a file is read once
unless it changes; a run with nothing new is "not modified".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from citymeter.accounts.permissions import Viewer
from citymeter.connectors.base import BaseConnector, ConnectorContext, ConnectorResult, Mode
from citymeter.connectors.records import (
    RecordMapping,
    csv_records,
    geojson_records,
    json_document,
    json_items,
    to_reading,
)
from citymeter.errors import InvalidInput, NotFound

FORMATS = ("json", "csv", "geojson", "xlsx")
_SUFFIX_FORMAT = {".json": "json", ".csv": "csv", ".geojson": "geojson", ".xlsx": "xlsx"}


class FileConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = Field(default=None, description="One file to read.")
    folder: str | None = Field(default=None, description="…or a folder to watch.")
    pattern: str = Field(default="*", description="Which files of the folder (glob).")
    format: Literal["auto", "json", "csv", "geojson", "xlsx"] = "auto"
    target: Literal["readings", "observations"] = "readings"
    mapping: str | None = Field(
        default=None, description="observations: a shipped mapping's name or a mapping file."
    )
    city: str | None = Field(default=None, description="City code (default: the only city).")
    readings: RecordMapping | None = Field(
        default=None,
        description="readings: which field holds what (not needed for JSON "
        "already shaped as readings).",
    )
    items: str | None = Field(default=None, description="JSON: path to the list of records.")
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    batch_size: int = Field(default=500, ge=1, le=50_000)

    @model_validator(mode="after")
    def _consistent(self) -> FileConfig:
        if (self.path is None) == (self.folder is None):
            raise ValueError("give exactly one of `path` (a file) or `folder` (a watched folder)")
        if self.target == "observations" and not self.mapping:
            raise ValueError("target `observations` needs a `mapping` (a shipped name or a file)")
        if self.target == "observations" and self.format in ("json", "geojson"):
            raise ValueError("observations are read from CSV or XLSX files")
        if self.target == "readings" and self.format == "xlsx":
            raise ValueError("readings are read from JSON, CSV or GeoJSON files")
        if self.target == "readings" and self.format in ("csv", "geojson") and not self.readings:
            raise ValueError(
                "CSV and GeoJSON readings need a `readings` mapping (type, id_field, time_field, "
                "attrs)"
            )
        return self


def parse_file_config(config: Mapping[str, Any]) -> FileConfig:
    try:
        return FileConfig.model_validate(dict(config))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"The file connector's config is not valid: {problems}") from None


def _format_of(path: Path, declared: str) -> str:
    if declared != "auto":
        return declared
    found = _SUFFIX_FORMAT.get(path.suffix.lower())
    if found is None:
        raise InvalidInput(
            f"Cannot tell the format of {path.name!r} from its name; set `format` "
            f"({', '.join(FORMATS)})."
        )
    return found


class FileConnector(BaseConnector):
    mode: ClassVar[Mode] = "poll"

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        parsed = parse_file_config(config)
        if parsed.target == "observations" and parsed.mapping:
            from citymeter.observations.mapping import load_mapping

            load_mapping(parsed.mapping)  # refuses an unknown or invalid mapping now, not later
        return parsed.model_dump(exclude_none=True, exclude_defaults=True)

    def run(self, ctx: ConnectorContext) -> ConnectorResult:
        config = parse_file_config(ctx.config)
        files = self._files(config)
        seen: dict[str, str] = dict(ctx.state.get("files") or {})
        result = ConnectorResult()
        read = 0
        for path in files:
            ctx.check()
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if seen.get(str(path)) == digest:
                continue
            if config.target == "observations":
                result.add(self._observations(ctx, config, path, data))
            else:
                result.add(self._readings(ctx, config, path, data))
            seen[str(path)] = digest
            read += 1
            # Remember each file as soon as it is stored, so a later failure does not re-read it.
            ctx.state["files"] = dict(seen)
        ctx.state["files"] = seen
        if read == 0:
            result.not_modified = True
            result.message = "no new or changed file"
        else:
            result.message = f"{read} file(s) read"
        return result

    def _files(self, config: FileConfig) -> list[Path]:
        if config.path is not None:
            path = Path(config.path)
            if not path.is_file():
                raise NotFound(f"There is no file at {config.path!r}.")
            return [path]
        folder = Path(config.folder or "")
        if not folder.is_dir():
            raise NotFound(f"There is no folder at {config.folder!r}.")
        return sorted(p for p in folder.glob(config.pattern) if p.is_file())

    def _readings(
        self, ctx: ConnectorContext, config: FileConfig, path: Path, data: bytes
    ) -> ConnectorResult:
        label = path.name
        fmt = _format_of(path, config.format)
        records: list[Any]
        if fmt == "csv":
            records = csv_records(data, label, config.delimiter)
        elif fmt == "geojson":
            records = list(geojson_records(json_document(data, label)))
        elif fmt == "json":
            records = json_items(json_document(data, label), config.items, label)
        else:
            raise InvalidInput(f"{label}: readings are read from JSON, CSV or GeoJSON files.")
        readings = [
            to_reading(r, config.readings) if isinstance(r, Mapping) else {"raw": r}
            for r in records
        ]
        result = ConnectorResult()
        for start in range(0, len(readings), config.batch_size):
            ctx.check()
            result.add(ctx.ingest_readings(readings[start : start + config.batch_size]))
        return result

    def _observations(
        self, ctx: ConnectorContext, config: FileConfig, path: Path, data: bytes
    ) -> ConnectorResult:
        from sqlalchemy import select

        from citymeter.observations.importer import import_file
        from citymeter.observations.mapping import load_mapping
        from citymeter.places import service as places
        from citymeter.sources.models import Source

        mapping = load_mapping(config.mapping or "")
        actor = Viewer(user_id=None, username=f"connector:{ctx.source_code}", role="data_steward")
        with ctx.session() as session:
            source_id = session.scalar(select(Source.id).where(Source.code == ctx.source_code))
            report = import_file(
                session,
                actor,
                data=data,
                file_name=path.name,
                mapping=mapping,
                city=places.get_city(session, config.city),
                source_id=source_id,
            )
        return ctx.counted(
            ConnectorResult(
                records_in=report.rows_read,
                accepted=report.rows_stored,
                rejected=report.rows_rejected,
                message=f"batch {report.batch_id}: {report.observations} observations",
            )
        )
