"""Exports of indicator values: CSV, XLSX, JSON, and an SDG-data-friendly CSV with the
disaggregation columns of the UN SDG global database (Sex, Age, Nature)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from openpyxl import Workbook

from citymeter.errors import InvalidInput
from citymeter.indicators.schema import IndicatorDefinition, SdgLink
from citymeter.indicators.service import ValueView

FORMATS = ("csv", "xlsx", "json", "sdg-csv")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "sdg-csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COLUMNS = (
    "pack", "code", "city", "area_code", "area_name", "area_level", "grain", "period_start",
    "sex", "age_band", "value", "unit", "quality", "suppressed", "definition_version",
)  # fmt: skip
SDG_COLUMNS = (
    "Goal", "Target", "Indicator", "SDGMapping", "SeriesCode", "SeriesDescription",
    "GeoAreaCode", "GeoAreaName", "Level", "TimePeriod", "Frequency", "Value", "Units", "Sex",
    "Age", "Nature", "Footnote",
)  # fmt: skip
_SEX = {"total": "_T", "male": "M", "female": "F"}
_NATURE = {"measured": "C", "estimated": "E", "extrapolated": "M", "unknown": "NA"}


def _row(view: ValueView) -> list[object]:
    return [
        view.pack, view.code, view.city, view.area_code, view.area_name, view.area_level,
        view.grain, view.period_start.isoformat(), view.sex, view.age_band,
        "" if view.value is None else view.value, view.unit, view.quality,
        view.suppressed or "", view.definition_version,
    ]  # fmt: skip


def sdg_age(band: str) -> str:
    """SDG age codes: total → _T, 15-19 → Y15T19, 85+ → Y_GE85, 30 → Y30."""
    if band == "total":
        return "_T"
    if band.endswith("+"):
        return f"Y_GE{band[:-1]}"
    if "-" in band:
        lo, hi = band.split("-", 1)
        return f"Y{lo}T{hi}"
    return f"Y{band}"


def _time(view: ValueView) -> str:
    start = view.period_start
    if view.grain == "year":
        return str(start.year)
    if view.grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


def render(
    views: Sequence[ValueView], fmt: str, definition: IndicatorDefinition
) -> tuple[bytes, str]:
    """The export's bytes and media type."""
    if fmt not in FORMATS:
        raise InvalidInput(f"Format {fmt!r} is not one of {', '.join(FORMATS)}.")
    if fmt == "json":
        data = [dict(zip(COLUMNS, _row(v), strict=True)) for v in views]
        for item in data:
            if item["value"] == "":
                item["value"] = None
            if item["suppressed"] == "":
                item["suppressed"] = None
        return json.dumps(data, ensure_ascii=False, indent=1).encode(), MEDIA_TYPES[fmt]
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = definition.code[:31]
        sheet.append(list(COLUMNS))
        for view in views:
            sheet.append(_row(view))
        out = io.BytesIO()
        book.save(out)
        return out.getvalue(), MEDIA_TYPES[fmt]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    if fmt == "csv":
        writer.writerow(COLUMNS)
        writer.writerows(_row(v) for v in views)
        return text.getvalue().encode(), MEDIA_TYPES[fmt]
    writer.writerow(SDG_COLUMNS)
    links: list[SdgLink | None] = list(definition.sdg) or [None]
    for view in views:
        for link in links:
            writer.writerow(
                [
                    link.goal if link else "", (link.target or "") if link else "",
                    (link.indicator or "") if link else "", link.mapping if link else "",
                    view.code, definition.names.en, view.area_code, view.area_name,
                    view.area_level, _time(view), view.grain,
                    "" if view.value is None else view.value, view.unit,
                    _SEX.get(view.sex, view.sex), sdg_age(view.age_band),
                    _NATURE.get(view.quality, "NA"),
                    f"suppressed: {view.suppressed}" if view.suppressed else "",
                ]
            )  # fmt: skip
    return text.getvalue().encode(), MEDIA_TYPES[fmt]
