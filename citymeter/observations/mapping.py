"""The import mapping: a YAML file saying how the cells of a real file become observations.

The schema is strict (an unknown field is an error naming it) and checked when the file is loaded;
`docs/mappings.md` describes every field.
"""

from __future__ import annotations

import codecs
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from citymeter.datafiles import read_yaml_fields
from citymeter.errors import InvalidInput, NotFound
from citymeter.observations.models import GRAINS

SHIPPED_PACKAGE = "citymeter.observations.mappings"
PERIOD_CAPTURES = ("year", "quarter", "month", "day")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regex(pattern: str | None) -> str | None:
    if pattern is None:
        return None
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
    return pattern


class FileSpec(_Strict):
    """How to read the file."""

    format: Literal["csv", "xlsx"] = "csv"
    encoding: str = Field(
        default="auto",
        description="utf-8, utf-8-sig (BOM), cp949, euc-kr, … or auto (detect).",
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    line_ending: Literal["auto", "lf", "crlf", "cr"] = "auto"
    header_row: int = Field(default=1, ge=1, description="1-based row holding the headers.")
    sheet: str | None = Field(default=None, description="XLSX sheet name; default the first.")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        if value == "auto":
            return value
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (try utf-8, cp949 or auto)") from None
        return value


class NumberSpec(_Strict):
    """How to read a number."""

    thousands_separator: str = Field(default=",", max_length=1)
    decimal_separator: str = Field(default=".", min_length=1, max_length=1)
    missing: list[str] = Field(default_factory=lambda: ["", "NaN", "NA", "N/A", "-", ".."])
    invalid: Literal["fail", "reject"] = Field(
        default="fail",
        description="A cell that is neither a number nor a missing marker: fail the batch "
        "or reject the row (kept with its reason).",
    )

    @model_validator(mode="after")
    def _separators_differ(self) -> NumberSpec:
        if self.thousands_separator and self.thousands_separator == self.decimal_separator:
            raise ValueError("thousands_separator and decimal_separator must differ")
        return self


class AreaSpec(_Strict):
    """Which area a row is about."""

    match_by: Literal["code", "name"] = "code"
    column: str
    pattern: str | None = Field(
        default=None,
        description="Regex applied to the cell; the group named `code` (or `name`), else the "
        "first group, else the whole match, is the key.",
    )
    code_template: str | None = Field(
        default=None,
        description="Turns the key into the area code, with {key} for the key: '{key}00000' "
        "makes the 5-digit Korean district code 36110 the 10-digit 3611000000.",
    )
    # skip: rows of areas the city does not have are counted as skipped (a national file read
    # for one city); they are still listed as unmatched areas in the report.
    unknown: Literal["fail", "reject", "skip"] = "fail"
    skip: list[str] = Field(
        default_factory=list, description="Keys skipped on purpose (counted as skipped)."
    )
    skip_reason: str = "filtered out by the mapping"

    _check = field_validator("pattern")(_check_regex)

    @field_validator("code_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None and "{key}" not in value:
            raise ValueError("code_template needs {key} where the key goes, e.g. '{key}00000'")
        return value


class ColumnRef(_Strict):
    column: str


class PeriodSpec(_Strict):
    """When a value is about: a constant, a column, or captures of the header pattern."""

    grain: Literal["day", "month", "quarter", "year"]
    value: str | None = None
    column: str | None = None
    from_header: bool = False

    @model_validator(mode="after")
    def _exactly_one_source(self) -> PeriodSpec:
        given = [self.value is not None, self.column is not None, self.from_header]
        if sum(given) != 1:
            raise ValueError("give exactly one of value, column or from_header: true")
        return self


class ValueSpec(_Strict):
    """One measure: the cells of one column (or of every header matching a pattern)."""

    column: str | None = None
    header_pattern: str | None = None
    metric: str = Field(min_length=1, max_length=120)
    metric_name: str | None = None
    metric_names: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    unit: str = Field(min_length=1, max_length=40)
    visibility: Literal["public", "internal"] = "public"
    period: PeriodSpec
    sex: str | ColumnRef = "total"
    age_band: str | ColumnRef = "total"
    dims: dict[str, str] = Field(default_factory=dict)

    _check = field_validator("header_pattern")(_check_regex)

    @model_validator(mode="after")
    def _column_or_pattern(self) -> ValueSpec:
        if (self.column is None) == (self.header_pattern is None):
            raise ValueError("give exactly one of column or header_pattern")
        if self.period.from_header:
            if self.header_pattern is None:
                raise ValueError("period.from_header needs a header_pattern")
            groups = re.compile(self.header_pattern).groupindex
            if "year" not in groups:
                raise ValueError("period.from_header needs a (?P<year>…) group in header_pattern")
        return self


class Mapping(_Strict):
    version: Literal[1] = 1
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    source_note: str | None = Field(default=None, description="Where such files come from.")
    file: FileSpec = Field(default_factory=FileSpec)
    numbers: NumberSpec = Field(default_factory=NumberSpec)
    area: AreaSpec
    values: list[ValueSpec] = Field(min_length=1)


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field (check the spelling; docs/mappings.md lists the fields)"
    return f"{where}: {error['msg']}"


def parse_mapping(text: str, label: str = "the mapping") -> Mapping:
    """A mapping from YAML text; every problem becomes one line of an InvalidInput."""
    data = read_yaml_fields(text, label, "name, area, values")
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        errors = [_describe(err) for err in exc.errors()]
        raise InvalidInput(
            f"{label} is not a valid import mapping: " + "; ".join(errors[:5]),
            details={"errors": errors},
        ) from None


def shipped_mappings() -> dict[str, str]:
    """Name → YAML text of the mappings that ship with CityMeter."""
    found: dict[str, str] = {}
    for entry in resources.files(SHIPPED_PACKAGE).iterdir():
        if entry.name.endswith(".yaml"):
            found[entry.name.removesuffix(".yaml")] = entry.read_text(encoding="utf-8")
    return dict(sorted(found.items()))


def shipped_mapping(name: str) -> Mapping:
    """A mapping that ships with CityMeter, by name (never a path: safe for web requests)."""
    shipped = shipped_mappings()
    if name not in shipped:
        raise NotFound(
            f"No shipped mapping is named {name!r}; shipped: {', '.join(shipped) or 'none'}."
        )
    return parse_mapping(shipped[name], f"the mapping {name!r}")


def load_mapping(name_or_path: str) -> Mapping:
    """A shipped mapping by name, or a mapping file by path."""
    shipped = shipped_mappings()
    if name_or_path in shipped:
        return parse_mapping(shipped[name_or_path], f"the mapping {name_or_path!r}")
    path = Path(name_or_path)
    if path.is_file():
        return parse_mapping(path.read_text(encoding="utf-8"), f"the mapping {path.name}")
    raise NotFound(
        f"No mapping file at {name_or_path!r} and no shipped mapping of that name; "
        f"shipped: {', '.join(shipped) or 'none'}."
    )


__all__ = ["GRAINS", "PERIOD_CAPTURES", "Mapping", "ValueSpec", "load_mapping", "parse_mapping"]
