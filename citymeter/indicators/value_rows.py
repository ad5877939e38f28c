"""Computed values written as `indicator_value` rows, with their provenance, in bulk.

Hundreds of thousands of rows go through the driver's executemany with the statement compiled
once: the columns are converted here (dates through the dialect's own bind processors, the
provenance serialised with `json.dumps` as the JSON type would), not row by row by SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, Table, insert

from citymeter.indicators.cells import CellSpace
from citymeter.indicators.models import IndicatorValue
from citymeter.indicators.rollups import QUALITY, Block
from citymeter.indicators.schema import IndicatorDefinition

_CHUNK = 10_000
_TABLE = cast(Table, IndicatorValue.__table__)
_COLUMNS = (
    "pack", "code", "definition_version", "city_id", "area_id", "grain", "period_start", "sex",
    "age_band", "value", "unit", "quality", "input_count", "min_count", "provenance",
    "computed_at",
)  # fmt: skip


def _processor(connection: Connection, column: str) -> Callable[[Any], Any]:
    dialect = connection.dialect
    kind = _TABLE.c[column].type.dialect_impl(dialect)
    process = kind.bind_processor(dialect)
    return process if process is not None else (lambda value: value)


class Writer:
    """Rows for one pack and city, inserted a chunk at a time."""

    def __init__(self, connection: Connection, pack: str, city_id: int) -> None:
        self.connection = connection
        self.pack = pack
        self.city_id = city_id
        self.written = 0
        self.rows: list[tuple[Any, ...] | dict[str, Any]] = []
        compiled = insert(_TABLE).compile(dialect=connection.dialect, column_keys=list(_COLUMNS))
        self.sql = str(compiled)
        names = compiled.positiontup
        # The order the driver wants the parameters in (None: by name).
        self.order = None if names is None else [_COLUMNS.index(n) for n in names]
        self.date = _processor(connection, "period_start")
        self.computed_at = _processor(connection, "computed_at")(dt.datetime.now(dt.UTC))

    def add(
        self,
        definition: IndicatorDefinition,
        block: Block,
        personal: set[str],
        counted: set[str],
        space: CellSpace,
    ) -> None:
        inputs = [
            (k, c.values.tolist(), c.observations.tolist(),
             c.batches.tolist(), c.present.tolist())
            for k, c in block.inputs.items()
        ]  # fmt: skip
        input_count = np.zeros(len(block), np.int64)
        for column in block.inputs.values():
            input_count += np.where(column.present, column.observations, 0)
        min_count = _min_count(block, counted)
        personal_list = sorted(personal)
        dates: dict[dt.date, Any] = {}
        rule = definition.rollup
        fixed = (self.pack, definition.code, definition.version, self.city_id)
        for i, (cell, value, quality, periods, rolled, count, least) in enumerate(
            zip(
                space.cells(block.keys),
                block.values.tolist(),
                block.quality.tolist(),
                block.periods.tolist(),
                block.rolled.tolist(),
                input_count.tolist(),
                min_count,
                strict=True,
            )
        ):
            provenance: dict[str, Any] = {
                "inputs": {
                    key: {"value": values[i], "observations": observations[i], "batch": batches[i]}
                    for key, values, observations, batches, present in inputs
                    if present[i]
                },
                "batches": sorted(
                    {batches[i] for _, _, _, batches, present in inputs if present[i]} - {0}
                ),
            }
            if rolled:
                provenance["rollup"] = rule
                provenance["periods"] = periods
            if personal_list:
                provenance["personal"] = personal_list
            day = dates.get(cell.period_start)
            if day is None:
                day = dates[cell.period_start] = self.date(cell.period_start)
            row = (
                *fixed, cell.area_id, cell.grain, day, cell.sex, cell.age_band, value,
                definition.unit, QUALITY[quality], count, least, json.dumps(provenance),
                self.computed_at,
            )  # fmt: skip
            self._append(row)

    def _append(self, row: tuple[Any, ...]) -> None:
        if self.order is None:
            self.rows.append(dict(zip(_COLUMNS, row, strict=True)))
        else:
            self.rows.append(tuple(row[i] for i in self.order))
        if len(self.rows) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            self.connection.exec_driver_sql(self.sql, self.rows)
            self.written += len(self.rows)
            self.rows = []

    def close(self) -> None:
        self._flush()


def _min_count(block: Block, counted: set[str]) -> list[float | None]:
    """Per cell, the smallest value among its inputs counting people (None: none of them)."""
    least = np.full(len(block), np.inf)
    has = np.zeros(len(block), np.bool_)
    for key, column in block.inputs.items():
        if key in counted:
            least = np.where(column.present, np.minimum(least, column.values), least)
            has |= column.present
    return [v if h else None for v, h in zip(least.tolist(), has.tolist(), strict=True)]
