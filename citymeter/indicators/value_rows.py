"""Computed values written as `indicator_value` rows, with their provenance, in bulk.

Hundreds of thousands of rows go through the driver's executemany with the statement compiled
once: the columns are converted here (dates through the dialect's own bind processors, the
provenance serialised with `json.dumps` as the JSON type would), not row by row by SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
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
        self.rows: list[Any] = []  # tuples in the driver's order, or dicts by name
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
        size = len(block)
        input_count = np.zeros(size, np.int64)
        for column in block.inputs.values():
            input_count += np.where(column.present, column.observations, 0)
        areas, grains, starts, sexes, bands = space.columns(block.keys)
        dates = {day: self.date(day) for day in set(starts)}
        columns: dict[str, Iterable[Any]] = {
            "pack": repeat(self.pack, size),
            "code": repeat(definition.code, size),
            "definition_version": repeat(definition.version, size),
            "city_id": repeat(self.city_id, size),
            "area_id": areas,
            "grain": grains,
            "period_start": [dates[day] for day in starts],
            "sex": sexes,
            "age_band": bands,
            "value": block.values.tolist(),
            "unit": repeat(definition.unit, size),
            "quality": [QUALITY[q] for q in block.quality.tolist()],
            "input_count": input_count.tolist(),
            "min_count": _min_count(block, counted),
            "provenance": provenance_texts(block, definition.rollup, sorted(personal)),
            "computed_at": repeat(self.computed_at, size),
        }
        if self.order is None:
            self.rows.extend(
                dict(zip(_COLUMNS, row, strict=True))
                for row in zip(*(columns[c] for c in _COLUMNS), strict=True)
            )
        else:
            order = [_COLUMNS[i] for i in self.order]
            self.rows.extend(zip(*(columns[c] for c in order), strict=True))
        while len(self.rows) >= _CHUNK:
            self._flush(_CHUNK)

    def _flush(self, size: int | None = None) -> None:
        chunk, self.rows = self.rows[:size], self.rows[len(self.rows) if size is None else size :]
        if chunk:
            self.connection.exec_driver_sql(self.sql, chunk)
            self.written += len(chunk)

    def close(self) -> None:
        self._flush()


def provenance_texts(block: Block, rule: str, personal: list[str]) -> list[str]:
    """Each cell's provenance as JSON text, the same text `json.dumps` makes of
    {"inputs": {key: {"value", "observations", "batch"}}, "batches": [...], "rollup", "periods",
    "personal"} but assembled from per-input fragments instead of one dict per cell."""
    finite = all(
        bool(np.isfinite(c.values[c.present]).all()) for c in block.inputs.values()
    )  # repr() of a float is its JSON text only when it is finite
    if not finite:
        return [json.dumps(p) for p in _provenance_dicts(block, rule, personal)]
    size = len(block)
    fragments: list[list[str | None]] = []
    for key, column in block.inputs.items():
        head = json.dumps(key) + ': {"value": '
        fragments.append(
            [
                f'{head}{v!r}, "observations": {o}, "batch": {b}}}' if p else None
                for v, o, b, p in zip(
                    column.values.tolist(),
                    column.observations.tolist(),
                    column.batches.tolist(),
                    column.present.tolist(),
                    strict=True,
                )
            ]
        )
    latest = np.zeros((size, max(len(block.inputs), 1)), np.int64)
    for i, column in enumerate(block.inputs.values()):
        latest[:, i] = np.where(column.present, column.batches, 0)
    latest.sort(axis=1)
    batch_texts: dict[tuple[int, ...], str] = {}
    tail = f', "personal": {json.dumps(personal)}' if personal else ""
    rolled_tail = f', "rollup": {json.dumps(rule)}, "periods": '
    texts = []
    for i, (batches, rolled, periods) in enumerate(
        zip(map(tuple, latest.tolist()), block.rolled.tolist(), block.periods.tolist(), strict=True)
    ):
        batch_text = batch_texts.get(batches)
        if batch_text is None:
            batch_text = batch_texts[batches] = json.dumps(sorted(set(batches) - {0}))
        inputs = ", ".join(f for f in (frags[i] for frags in fragments) if f is not None)
        rollup = f"{rolled_tail}{periods}" if rolled else ""
        texts.append(f'{{"inputs": {{{inputs}}}, "batches": {batch_text}{rollup}{tail}}}')
    return texts


def _provenance_dicts(block: Block, rule: str, personal: list[str]) -> Iterator[dict[str, Any]]:
    inputs = [
        (k, c.values.tolist(), c.observations.tolist(), c.batches.tolist(), c.present.tolist())
        for k, c in block.inputs.items()
    ]
    for i, (rolled, periods) in enumerate(
        zip(block.rolled.tolist(), block.periods.tolist(), strict=True)
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
        if personal:
            provenance["personal"] = personal
        yield provenance


def _min_count(block: Block, counted: set[str]) -> list[float | None]:
    """Per cell, the smallest value among its inputs counting people (None: none of them)."""
    least = np.full(len(block), np.inf)
    has = np.zeros(len(block), np.bool_)
    for key, column in block.inputs.items():
        if key in counted:
            least = np.where(column.present, np.minimum(least, column.values), least)
            has |= column.present
    return [v if h else None for v, h in zip(least.tolist(), has.tolist(), strict=True)]
