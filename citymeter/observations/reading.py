"""Reading a statistics file into a header and rows: encodings, line endings, CSV and XLSX."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from charset_normalizer import from_bytes

from citymeter.errors import InvalidInput
from citymeter.observations.mapping import FileSpec

_LINE_ENDINGS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}
_KOREAN_LEGACY = {"cp949", "euc_kr", "euc-kr", "uhc", "ms949", "johab"}


@dataclass
class Table:
    """The headers (normalised) and an iterator over the data rows of one file."""

    headers: list[str]
    rows: Iterator[Sequence[Any]]
    # The 1-based line or row number of the first data row, and an estimate of the row count
    # (for progress bars).
    first_row_number: int
    estimated_rows: int
    # Rows consumed so far (lines for CSV, so approximate when a cell spans lines).
    position: Callable[[], int]
    encoding: str | None = None


def normalise_header(header: object) -> str:
    """Trim a header and join the lines of a header that spans several lines."""
    text = "" if header is None else str(header)
    text = text.lstrip("\ufeff")
    return "".join(part.strip() for part in text.splitlines()).strip()


def _guess(data: bytes) -> str | None:
    best = from_bytes(data[:200_000]).best()
    return None if best is None else str(best.encoding)


def decode(data: bytes, declared: str, label: str) -> tuple[str, str]:
    """The text of `data` and the encoding used; refuse a file that does not decode as declared."""
    if declared == "auto":
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            guess = _guess(data)
            if guess is None:
                raise InvalidInput(
                    f"{label}: could not tell the encoding; set file.encoding in the mapping "
                    "(e.g. utf-8 or cp949)."
                ) from None
            return data.decode(guess), guess
    codec = codecs.lookup(declared).name
    if codec == "utf-8":
        codec = "utf-8-sig"  # a BOM is never part of the data
    if codec.replace("-", "_") in _KOREAN_LEGACY and _is_utf8_with_non_ascii(data):
        raise InvalidInput(
            f"{label} is UTF-8, not {declared}: set file.encoding to utf-8 (or auto) "
            "in the mapping."
        )
    try:
        return data.decode(codec), declared
    except UnicodeDecodeError as exc:
        guess = _guess(data)
        hint = f"; it looks like {guess} — set file.encoding: {guess}" if guess else ""
        raise InvalidInput(
            f"{label} does not decode as {declared} (byte {exc.start}){hint} "
            "(or file.encoding: auto)."
        ) from None


def _is_utf8_with_non_ascii(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_line_ending(text: str, expected: str, label: str) -> None:
    if expected == "auto":
        return
    match = re.search(r"\r\n|\r|\n", text)
    if match is None:
        return
    found = {"\n": "lf", "\r\n": "crlf", "\r": "cr"}[match.group()]
    if found != expected:
        raise InvalidInput(
            f"{label} has {found.upper()} line endings, not {expected.upper()}: set "
            f"file.line_ending: {found} (or auto) in the mapping."
        )


def read_csv(data: bytes, spec: FileSpec, label: str) -> Table:
    text, encoding = decode(data, spec.encoding, label)
    _check_line_ending(text, spec.line_ending, label)
    # csv recognises \n, \r\n and a bare \r as the end of a row.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=spec.delimiter)
    headers: list[str] | None = None
    for _ in range(spec.header_row):
        headers = next(reader, None)
        if headers is None:
            raise InvalidInput(f"{label} has no header row {spec.header_row}; it is too short.")
    assert headers is not None
    separators = max(text.count("\n"), text.count("\r"))
    table = Table(
        headers=[normalise_header(h) for h in headers],
        rows=reader,
        first_row_number=reader.line_num + 1,
        estimated_rows=max(separators - reader.line_num + 1, 0),
        position=lambda: reader.line_num,
        encoding=encoding,
    )
    return table


def read_xlsx(data: bytes, spec: FileSpec, label: str) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign file
        raise InvalidInput(f"{label} is not a readable XLSX workbook ({exc}).") from None
    if spec.sheet is not None and spec.sheet not in workbook.sheetnames:
        raise InvalidInput(
            f"{label} has no sheet {spec.sheet!r}; sheets: {', '.join(workbook.sheetnames)}."
        )
    sheet = workbook[spec.sheet] if spec.sheet is not None else workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    headers: Sequence[Any] | None = None
    for _ in range(spec.header_row):
        headers = next(rows, None)
        if headers is None:
            raise InvalidInput(f"{label} has no header row {spec.header_row}; it is too short.")
    assert headers is not None
    consumed = [spec.header_row]

    def counted() -> Iterator[Sequence[Any]]:
        for row in rows:
            consumed[0] += 1
            yield row
        workbook.close()

    table = Table(
        headers=[normalise_header(h) for h in headers],
        rows=counted(),
        first_row_number=spec.header_row + 1,
        estimated_rows=max((sheet.max_row or 0) - spec.header_row, 0),
        position=lambda: consumed[0],
    )
    return table


def read_table(data: bytes, spec: FileSpec, label: str) -> Table:
    if spec.format == "xlsx":
        return read_xlsx(data, spec, label)
    return read_csv(data, spec, label)
