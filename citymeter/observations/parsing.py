"""Turning cell text into numbers, periods, sexes and age bands, the same way for every file."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

from citymeter.observations.mapping import NumberSpec

MISSING = None


class CellError(ValueError):
    """A cell that cannot be read; the message says why, for the rejected-row list."""


def number_parser(spec: NumberSpec) -> Callable[[Any], float | None]:
    """A function from a cell to a float, or None for a missing value."""
    missing = {m.strip().casefold() for m in spec.missing}
    thousands = spec.thousands_separator
    decimal = spec.decimal_separator
    # Statistics exports write most numbers like "195,101": a well-grouped number is recognised
    # by one C-level match instead of the general path below.
    grouped = (
        re.compile(
            rf"[+-]?\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+(?:{re.escape(decimal)}\d+)?"
        ).fullmatch
        if thousands
        else None
    )

    # A grouped number fails float() first; raising and catching that costs more than the
    # parse. Checking for the separator first is only safe where float() never accepts it.
    grouped_first = grouped is not None and thousands not in "._"

    def parse(cell: Any) -> float | None:
        if type(cell) is str:  # every CSV cell: checked first
            text = cell
        elif cell is None:
            return MISSING
        elif isinstance(cell, int | float) and not isinstance(cell, bool):
            value = float(cell)
            return MISSING if math.isnan(value) else value
        else:
            text = str(cell)
        if grouped_first and thousands in text and grouped(text):  # type: ignore[misc]
            cleaned = text.replace(thousands, "")
            return float(cleaned if decimal == "." else cleaned.replace(decimal, "."))
        try:
            # Fast path: a plain number like most cells of a long file.
            value = float(text)
        except ValueError:
            if grouped is not None and grouped(text):
                cleaned = text.replace(thousands, "")
                return float(cleaned if decimal == "." else cleaned.replace(decimal, "."))
            stripped = text.strip()
            if stripped.casefold() in missing:
                return MISSING
            cleaned = stripped.replace(thousands, "") if thousands else stripped
            if decimal != ".":
                cleaned = cleaned.replace(decimal, ".")
            try:
                value = float(cleaned)
            except ValueError:
                raise CellError(f"{stripped!r} is not a number") from None
            if not _well_grouped(stripped, thousands, decimal):
                raise CellError(f"{stripped!r} is not a number (misplaced separators)") from None
        if value - value != 0.0:  # NaN or ±inf, in one float operation
            return MISSING if math.isnan(value) else _raise_inf(text)
        return value

    return parse


def _raise_inf(text: str) -> float:
    raise CellError(f"{text.strip()!r} is not a finite number")


def _well_grouped(text: str, thousands: str, decimal: str) -> bool:
    if not thousands or thousands not in text:
        return True
    whole = text.split(decimal, 1)[0].lstrip("+-")
    groups = whole.split(thousands)
    return 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


_SEXES = {
    "total": "total",
    "t": "total",
    "all": "total",
    "persons": "total",
    "계": "total",
    "합계": "total",
    "전체": "total",
    "male": "male",
    "m": "male",
    "men": "male",
    "남": "male",
    "남자": "male",
    "female": "female",
    "f": "female",
    "women": "female",
    "여": "female",
    "여자": "female",
}


def normalise_sex(text: str) -> str:
    found = _SEXES.get(str(text).strip().casefold())
    if found is None:
        raise CellError(f"sex {text!r} is not one of total/male/female (or 계/남/여, T/M/F)")
    return found


_AGE_TOTAL = {"total", "all", "all ages", "계", "합계", "총인구수", "전체"}
_AGE_SINGLE = re.compile(r"^(\d{1,3})\s*(?:세|years?|yrs?)?$")
_AGE_OPEN = re.compile(r"^(\d{1,3})\s*(?:세)?\s*(?:\+|이상|and over|or over|plus)$")
_AGE_RANGE = re.compile(r"^(\d{1,3})\s*(?:세)?\s*(?:-|~|–|to)\s*(\d{1,3})\s*(?:세|years?)?$")


def normalise_age(text: str) -> str:
    """ "30세" → "30", "100세 이상" → "100+", "0~4세" → "0-4", "총인구수" → "total"."""
    cleaned = str(text).strip()
    lowered = cleaned.casefold()
    if lowered in _AGE_TOTAL:
        return "total"
    if match := _AGE_SINGLE.match(lowered):
        return str(int(match.group(1)))
    if match := _AGE_OPEN.match(lowered):
        return f"{int(match.group(1))}+"
    if match := _AGE_RANGE.match(lowered):
        low, high = int(match.group(1)), int(match.group(2))
        if high < low:
            raise CellError(f"age band {text!r} ends before it starts")
        return f"{low}-{high}"
    raise CellError(f"age band {text!r} is not a single age, a range or an open band like 65+")


_PERIOD_FORMS = (
    (re.compile(r"^(\d{4})$"), "y"),
    (re.compile(r"^(\d{4})\s*[-/.]?\s*[Qq]([1-4])$"), "q"),
    (re.compile(r"^(\d{4})[-/.](\d{1,2})$"), "m"),
    (re.compile(r"^(\d{4})(\d{2})$"), "m"),
    (re.compile(r"^(\d{4})\s*년\s*(\d{1,2})\s*월$"), "m"),
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"), "d"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "d"),
)


def period_start(
    grain: str,
    year: int,
    month: int | None = None,
    quarter: int | None = None,
    day: int | None = None,
) -> dt.date:
    """The first day of the period of `grain` that holds the given parts."""
    try:
        if grain == "year":
            return dt.date(year, 1, 1)
        if grain == "quarter":
            if quarter is None:
                if month is None:
                    raise CellError("a quarter needs a quarter or a month")
                quarter = (month - 1) // 3 + 1
            if not 1 <= quarter <= 4:
                raise CellError(f"quarter {quarter} is not 1–4")
            return dt.date(year, 3 * (quarter - 1) + 1, 1)
        if grain == "month":
            if month is None:
                raise CellError("a month period needs a month")
            return dt.date(year, month, 1)
        if month is None or day is None:
            raise CellError("a day period needs a month and a day")
        return dt.date(year, month, day)
    except ValueError as exc:
        if isinstance(exc, CellError):
            raise
        raise CellError(f"no such date: {exc}") from None


def parse_period(text: Any, grain: str) -> dt.date:
    """The start of the `grain` period named by text like 2015, 2025-04, 202504, 2015Q2."""
    if isinstance(text, dt.date):  # XLSX cells holding dates (datetime is a date too)
        return period_start(grain, text.year, text.month, None, text.day)
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    cleaned = str(text).strip()
    for pattern, form in _PERIOD_FORMS:
        match = pattern.match(cleaned)
        if match is None:
            continue
        parts = [int(g) for g in match.groups()]
        if form == "y":
            if grain != "year":
                raise CellError(f"period {cleaned!r} is a year, but the grain is {grain}")
            return period_start(grain, parts[0])
        if form == "q":
            if grain not in ("quarter", "year"):
                raise CellError(f"period {cleaned!r} is a quarter, but the grain is {grain}")
            return period_start(grain, parts[0], quarter=parts[1])
        if form == "m":
            if grain == "day":
                raise CellError(f"period {cleaned!r} is a month, but the grain is day")
            return period_start(grain, parts[0], month=parts[1])
        return period_start(grain, parts[0], parts[1], None, parts[2])
    raise CellError(f"period {cleaned!r} is not a date like 2015, 2015Q2, 2025-04 or 2025-04-30")
