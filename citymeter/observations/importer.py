"""Import one file into observations through a mapping: one batch, all or nothing.

Every row read ends up stored, rejected (kept with its reason) or skipped (on purpose, with a
reason): rows_read = rows_stored + rows_rejected + rows_skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.errors import InvalidInput, NotFound
from citymeter.observations import bulk, parallel, service
from citymeter.observations.bulk import CompactRow, ObservationKeys, Series
from citymeter.observations.keys import PeriodKey
from citymeter.observations.mapping import PERIOD_CAPTURES, Mapping, ValueSpec
from citymeter.observations.models import LoadBatch, RejectedRecord
from citymeter.observations.parsing import (
    CellError,
    normalise_age,
    normalise_sex,
    number_parser,
    parse_period,
    period_start,
)
from citymeter.observations.reading import Table, normalise_header, read_table
from citymeter.places import service as places
from citymeter.places.models import Area, City

UNKNOWN_AREA = "area not in the city"
INVALID_CELL = "unreadable cell"
LIST_LIMIT = 200  # names listed per kind in a summary; counts are always complete

Progress = Callable[[int, int], None]  # (rows done, estimated total)


@dataclass
class ImportReport:
    mapping: str
    file_name: str
    city: str
    dry_run: bool
    batch_id: int | None = None
    encoding: str | None = None
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    observations: int = 0
    written: int = 0
    unchanged: int = 0
    missing_values: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    unmatched_areas: list[str] = field(default_factory=list)
    missing_by_metric: dict[str, list[str]] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    previous_batches: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Column:
    """One value column of the file, resolved: where the cell is and what it means."""

    index: int
    header: str
    metric_id: int
    metric_code: str
    unit: str
    grain: str
    period: dt.date | None  # fixed by the mapping or the header; else read from period_column
    period_column: int | None
    sex: str | int  # a normalised constant, or the index of the column holding it
    age_band: str | int
    dims: str


@dataclass
class _Issue:
    row_number: int
    category: str
    detail: str
    raw: Sequence[Any]


class _AreaMatcher:
    """Finds a row's area by code or name among the city's areas."""

    def __init__(self, session: Session, city: City, mapping: Mapping) -> None:
        spec = mapping.area
        self.by = spec.match_by
        self.pattern = re.compile(spec.pattern) if spec.pattern else None
        self.skip = set(spec.skip)
        self.template = spec.code_template
        self.lookup: dict[str, int | None] = {}
        areas = session.execute(
            select(Area.id, Area.code, Area.name, Area.names, Area.valid_from)
            .where(Area.city_id == city.id)
            # The latest version of an area wins (boundaries change; codes stay).
            .order_by(Area.valid_from.asc().nulls_first(), Area.id)
        ).all()
        for area_id, code, name, names, _ in areas:
            if self.by == "code":
                self.lookup[code] = area_id
                continue
            for label in {name, *(names or {}).values()}:
                key = label.strip().casefold()
                previous = self.lookup.get(key, area_id)
                # Two different areas sharing a name cannot be told apart by name.
                self.lookup[key] = area_id if previous == area_id else None

    def key(self, cell: Any) -> str | None:
        text = "" if cell is None else str(cell).strip()
        if self.pattern is not None:
            match = self.pattern.search(text)
            if match is None:
                return None
            groups = match.groupdict()
            if self.by in groups and groups[self.by] is not None:
                text = groups[self.by]
            elif match.groups():
                text = match.group(1)
            else:
                text = match.group(0)
            text = text.strip()
        if self.by == "name":
            return text.casefold()
        if self.template is not None and text:
            return self.template.replace("{key}", text)
        return text


def _resolve_columns(
    session: Session, table: Table, mapping: Mapping, label: str
) -> tuple[list[_Column], list[str]]:
    columns: list[_Column] = []
    metric_codes: list[str] = []
    headers = table.headers
    index_of = {h: i for i, h in reversed(list(enumerate(headers)))}

    def column_index(name: str, what: str) -> int:
        wanted = normalise_header(name)
        if wanted not in index_of:
            shown = ", ".join(repr(h) for h in headers[:12])
            raise InvalidInput(
                f"{label} has no column {name!r} ({what}); its headers begin: {shown}."
            )
        return index_of[wanted]

    for number, spec in enumerate(mapping.values):
        where = f"values[{number}]"
        metric = service.ensure_metric(
            session,
            None,
            code=spec.metric,
            name=spec.metric_name or spec.metric,
            names=spec.metric_names,
            unit=spec.unit,
            description=spec.description,
            visibility=spec.visibility,
        )
        if spec.metric not in metric_codes:
            metric_codes.append(spec.metric)
        matches: list[tuple[int, dict[str, str]]] = []
        if spec.column is not None:
            matches.append((column_index(spec.column, f"{where}.column"), {}))
        else:
            assert spec.header_pattern is not None
            pattern = re.compile(spec.header_pattern)
            for index, header in enumerate(headers):
                match = pattern.fullmatch(header)
                if match is not None:
                    captured = {k: v for k, v in match.groupdict().items() if v is not None}
                    matches.append((index, captured))
            if not matches:
                shown = ", ".join(repr(h) for h in headers[:8])
                raise InvalidInput(
                    f"{where}.header_pattern {spec.header_pattern!r} matches no header of "
                    f"{label} (a pattern must match a whole header); headers begin: {shown}."
                )
        for index, captured in matches:
            columns.append(
                _plan_column(spec, index, headers[index], captured, metric.id, where, column_index)
            )
    return columns, metric_codes


def _plan_column(
    spec: ValueSpec,
    index: int,
    header: str,
    captured: dict[str, str],
    metric_id: int,
    where: str,
    column_index: Callable[[str, str], int],
) -> _Column:
    period: dt.date | None = None
    period_column: int | None = None
    try:
        if spec.period.from_header:
            parts = {k: int(captured[k]) for k in PERIOD_CAPTURES if k in captured}
            period = period_start(spec.period.grain, **parts)
        elif spec.period.value is not None:
            period = parse_period(spec.period.value, spec.period.grain)
        else:
            assert spec.period.column is not None
            period_column = column_index(spec.period.column, f"{where}.period.column")
        sex: str | int
        age: str | int
        if "sex" in captured:
            sex = normalise_sex(captured["sex"])
        elif isinstance(spec.sex, str):
            sex = normalise_sex(spec.sex)
        else:
            sex = column_index(spec.sex.column, f"{where}.sex.column")
        if "age" in captured:
            age = normalise_age(captured["age"])
        elif isinstance(spec.age_band, str):
            age = normalise_age(spec.age_band)
        else:
            age = column_index(spec.age_band.column, f"{where}.age_band.column")
    except CellError as exc:
        raise InvalidInput(f"{where}, header {header!r}: {exc}.") from None
    extra = {k: v for k, v in captured.items() if k not in (*PERIOD_CAPTURES, "sex", "age")}
    dims = ";".join(f"{k}={v}" for k, v in sorted({**spec.dims, **extra}.items()))
    return _Column(
        index=index,
        header=header,
        metric_id=metric_id,
        metric_code=spec.metric,
        unit=spec.unit,
        grain=spec.period.grain,
        period=period,
        period_column=period_column,
        sex=sex,
        age_band=age,
        dims=dims,
    )


@dataclass
class _Outcome:
    """What reading a file found besides its rows; a reader in a child process sends it back."""

    counts: tuple[int, int, int, int]  # rows read, rows stored, observations, missing values
    rejected: list[_Issue]
    fatal: list[_Issue]
    skipped: Counter[str]
    unmatched: dict[str, None]
    missing: dict[str, list[str]]


# Per value column: index, column, period number or None, period column (-1: none), period
# numbers by period text for the column's grain, series number or None.
_Plan = tuple[int, _Column, int | None, int, dict[Any, int], int | None]


class _Run:
    """The state of one import while its rows stream through."""

    def __init__(
        self,
        session: Session,
        table: Table,
        mapping: Mapping,
        columns: list[_Column],
        matcher: _AreaMatcher,
        report: ImportReport,
        city: City,
        source_id: int | None,
        progress: Progress | None,
    ) -> None:
        self.session = session
        self.table = table
        self.mapping = mapping
        self.columns = columns
        self.matcher = matcher
        self.report = report
        self.city_name = city.name  # a plain str: the reader may run in a forked child
        self.source_id = source_id
        self.progress = progress
        self.keys = ObservationKeys()
        self.rejected: list[_Issue] = []
        self.fatal: list[_Issue] = []
        self.skipped: Counter[str] = Counter()
        self.unmatched: dict[str, None] = {}
        self.missing: dict[str, list[str]] = {}

    def chunks(self) -> Generator[list[CompactRow], None, None]:
        """The observations of the file, a chunk at a time, as numbers (see `bulk`).

        After the first fatal issue nothing more is yielded, but the file is read to the end so
        that the message lists every issue.
        """
        mapping, keys = self.mapping, self.keys
        parse_number = number_parser(mapping.numbers)
        area_column = self._area_column()
        areas: dict[str, int] = {}  # area cell text -> area id, for cells seen before
        unknown_fails = mapping.area.unknown == "fail"
        invalid_fails = mapping.numbers.invalid == "fail"
        plan = self._plan()
        series_of: dict[tuple[Any, ...], int] = {}
        progress, every = self.progress, 5000
        row_number = before_first = self.table.first_row_number - 1
        rows_stored = observations = missing_values = 0
        chunk: list[CompactRow] = []
        for raw in self.table.rows:
            row_number += 1
            if progress is not None and (row_number - before_first) % every == 0:
                progress(self.table.position(), self.table.estimated_rows)
            if not any(raw) and all(c is None or c == "" for c in raw):
                self.skipped["blank row"] += 1
                continue
            width = len(raw)
            cell = raw[area_column] if area_column < width else None
            area_id = areas.get(cell) if type(cell) is str else None
            if area_id is None:
                area_id = self._match_area(cell, row_number, raw, unknown_fails)
                if area_id is None:
                    continue
                if type(cell) is str:
                    areas[cell] = area_id
            mark = len(chunk)
            try:
                for index, col, period_no, period_column, periods, series_no in plan:
                    try:
                        value = parse_number(raw[index] if index < width else None)
                    except CellError as exc:
                        raise CellError(f"column {col.header!r}: {exc}") from None
                    if value is None:
                        missing_values += 1
                        names = self.missing.setdefault(col.metric_code, [])
                        if len(names) < LIST_LIMIT:
                            names.append(str(cell).strip())
                        continue
                    if period_no is None:
                        text = raw[period_column]
                        period_no = periods.get(text)
                        if period_no is None:
                            start = parse_period(text, col.grain)
                            period_no = keys.period(PeriodKey(col.grain, start))
                            periods[text] = period_no
                    if series_no is None:
                        sex = col.sex if isinstance(col.sex, str) else raw[col.sex]
                        age = col.age_band if isinstance(col.age_band, str) else raw[col.age_band]
                        series_no = series_of.get((index, sex, age))
                        if series_no is None:
                            series_no = self._series(col, normalise_sex(sex), normalise_age(age))
                            series_of[(index, sex, age)] = series_no
                    chunk.append((area_id, period_no, series_no, value))
            except (CellError, IndexError) as exc:
                del chunk[mark:]
                detail = str(exc) if isinstance(exc, CellError) else "the row is too short"
                issue = _Issue(row_number, INVALID_CELL, detail, raw)
                (self.fatal if invalid_fails else self.rejected).append(issue)
                continue
            if len(chunk) == mark:
                self.skipped["no values in the row (all missing)"] += 1
                continue
            rows_stored += 1
            observations += len(chunk) - mark
            if len(chunk) >= service.CHUNK_ROWS:
                if not self.fatal:
                    yield chunk
                chunk = []
        report = self.report
        report.rows_read = row_number - before_first
        report.rows_stored, report.observations = rows_stored, observations
        report.missing_values = missing_values
        if not self.fatal:
            yield chunk
        if progress is not None:
            progress(self.table.position(), self.table.estimated_rows)

    def outcome(self) -> _Outcome:
        report = self.report
        counts = (report.rows_read, report.rows_stored, report.observations, report.missing_values)
        issues = (self.rejected, self.fatal, self.skipped)
        return _Outcome(counts, *issues, self.unmatched, self.missing)

    def adopt(self, outcome: _Outcome) -> None:
        report = self.report
        (report.rows_read, report.rows_stored, report.observations, report.missing_values) = (
            outcome.counts
        )
        self.rejected, self.fatal, self.skipped = outcome.rejected, outcome.fatal, outcome.skipped
        self.unmatched, self.missing = outcome.unmatched, outcome.missing

    def _plan(self) -> list[_Plan]:
        """Per value column: its index, and its period and series numbers when the mapping or
        the header fixes them (None: read from the row, period text looked up per grain)."""
        plan: list[_Plan] = []
        periods_of_grain: dict[str, dict[Any, int]] = {}
        for col in self.columns:
            period_no = (
                None if col.period is None else self.keys.period(PeriodKey(col.grain, col.period))
            )
            period_column = -1 if col.period_column is None else col.period_column
            series_no = None
            if isinstance(col.sex, str) and isinstance(col.age_band, str):
                series_no = self._series(col, col.sex, col.age_band)
            periods = periods_of_grain.setdefault(col.grain, {})
            plan.append((col.index, col, period_no, period_column, periods, series_no))
        return plan

    def _series(self, col: _Column, sex: str, age_band: str) -> int:
        series = Series(col.metric_id, col.unit, sex, age_band, col.dims, self.source_id)
        return self.keys.series_number(series)

    def _match_area(
        self, cell: Any, row_number: int, raw: Sequence[Any], unknown_fails: bool
    ) -> int | None:
        """The area a row's cell names, or None when the row is skipped or rejected for it."""
        mapping, area_of = self.mapping, self.matcher.lookup
        key = self.matcher.key(cell)
        if key in self.matcher.skip:
            self.skipped[mapping.area.skip_reason] += 1
            return None
        area_id = area_of.get(key) if key is not None else None
        if area_id is not None:
            return area_id
        shown = str(cell).strip() if key is None else key
        self.unmatched[shown] = None
        detail = (
            f"{shown!r} names two or more areas of {self.city_name}"
            if key is not None and key in area_of
            else f"{shown!r} is not an area of {self.city_name}"
            if key is not None
            else f"{shown!r} does not match the area pattern"
        )
        if mapping.area.unknown == "skip":
            self.skipped[f"area not in {self.city_name}"] += 1
            return None
        issue = _Issue(row_number, UNKNOWN_AREA, detail, raw)
        (self.fatal if unknown_fails else self.rejected).append(issue)
        return None

    def check_columns(self) -> None:
        """Raise InvalidInput when the file lacks the area column (chunks() needs it)."""
        self._area_column()

    def _area_column(self) -> int:
        wanted = normalise_header(self.mapping.area.column)
        try:
            return self.table.headers.index(wanted)
        except ValueError:
            shown = ", ".join(repr(h) for h in self.table.headers[:12])
            raise InvalidInput(
                f"The file has no area column {self.mapping.area.column!r}; "
                f"its headers begin: {shown}."
            ) from None


def _raw_text(raw: Sequence[Any]) -> str:
    return json.dumps(["" if c is None else str(c) for c in raw], ensure_ascii=False)[:4000]


def _fail_message(run: _Run, city: City, label: str) -> InvalidInput:
    fatal = run.fatal
    categories = Counter(issue.category for issue in fatal)
    lines = [f"row {i.row_number}: {i.detail}" for i in fatal[:LIST_LIMIT]]
    if categories.get(UNKNOWN_AREA):
        keys = list(run.unmatched)
        head = (
            f"{categories[UNKNOWN_AREA]} row(s) of {label} name areas that {city.name} does not "
            f"have: {', '.join(keys[:20])}. Add the areas, or set area.unknown: reject in the "
            "mapping to store the other rows and list these."
        )
    else:
        head = (
            f"{categories[INVALID_CELL]} row(s) of {label} hold unreadable cells, first: "
            f"{fatal[0].detail} (row {fatal[0].row_number}). Fix the file, or set "
            "numbers.invalid: reject in the mapping to store the other rows and list these."
        )
    return InvalidInput(head + " Nothing was stored.", details={"errors": lines})


def import_file(
    session: Session,
    actor: Viewer,
    *,
    data: bytes,
    file_name: str,
    mapping: Mapping,
    city: City,
    dry_run: bool = False,
    source_id: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import `data` into `city` as one batch. Fails as a whole (store unchanged) or succeeds."""
    label = file_name or "the file"
    report = ImportReport(
        mapping=mapping.name, file_name=file_name, city=city.code, dry_run=dry_run
    )
    sha256 = hashlib.sha256(data).hexdigest()
    table = read_table(data, mapping.file, label)
    report.encoding = table.encoding
    report.previous_batches = list(
        session.scalars(
            select(LoadBatch.id).where(
                LoadBatch.file_sha256 == sha256,
                LoadBatch.city_id == city.id,
                LoadBatch.status == "done",
            )
        )
    )
    savepoint = session.begin_nested()
    try:
        columns, report.metrics = _resolve_columns(session, table, mapping, label)
        matcher = _AreaMatcher(session, city, mapping)
        batch = service.open_batch(
            session,
            city_id=city.id,
            source_id=source_id,
            file_name=file_name,
            file_sha256=sha256,
            mapping_name=mapping.name,
            created_by_id=actor.user_id,
        )
        run = _Run(session, table, mapping, columns, matcher, report, city, source_id, progress)
        # A file without the area column fails here, in this process, before a reader is forked.
        run.check_columns()
        estimate = table.estimated_rows * len(columns)
        chunks = parallel.chunks(run) if parallel.worth_it(estimate) else run.chunks()
        try:
            report.written = bulk.write_observations(session, batch, run.keys, chunks)
        finally:
            chunks.close()  # a forked reader stops now, not when the traceback is freed
        if run.fatal:
            raise _fail_message(run, city, label)
        report.unchanged = report.observations - report.written
        report.rows_rejected = len(run.rejected)
        report.rows_skipped = sum(run.skipped.values())
        report.rejected_by_reason = dict(Counter(i.category for i in run.rejected))
        report.skipped_by_reason = dict(run.skipped)
        report.unmatched_areas = list(run.unmatched)[:LIST_LIMIT]
        report.missing_by_metric = run.missing
        session.add_all(
            RejectedRecord(
                batch_id=batch.id,
                row_number=issue.row_number,
                reason=f"{issue.category}: {issue.detail}"[:500],
                raw=_raw_text(issue.raw),
            )
            for issue in run.rejected
        )
        summary = report.as_dict()
        service.close_batch(
            session,
            batch,
            rows_read=report.rows_read,
            stored=report.written,
            rejected=report.rows_rejected,
            skipped=report.rows_skipped,
            summary=summary,
        )
        if dry_run:
            savepoint.rollback()
            return report
        report.batch_id = batch.id
        batch.summary = report.as_dict()
        audit.record(
            session,
            actor,
            "observations.import",
            "load_batch",
            batch.id,
            {
                "file": file_name,
                "sha256": sha256,
                "mapping": mapping.name,
                "rows_read": report.rows_read,
                "written": report.written,
                "rejected": report.rows_rejected,
            },
        )
        savepoint.commit()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    return report


def import_path(
    session: Session,
    actor: Viewer,
    *,
    path: Path,
    mapping: Mapping,
    city_code: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a file on disk (the CLI's door)."""
    if not path.is_file():
        raise NotFound(f"There is no file at {str(path)!r}.")
    city = places.get_city(session, city_code)
    return import_file(
        session,
        actor,
        data=path.read_bytes(),
        file_name=path.name,
        mapping=mapping,
        city=city,
        dry_run=dry_run,
        progress=progress,
    )
