"""Cells as integers and input tables as columns, so that the engine works on whole arrays.

A cell (area, grain, period, sex, age band) packs into one int64: the area as an index into the
run's `CellSpace`, the period as its date ordinal, the grain, sex and band as small codes. Sorting
the keys sorts cells by area, grain, period, sex, band; a table is a sorted array of keys with the
input's value, observation count and latest batch beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]

# Bit layout of a key, low to high: band (10 bits), sex (3), period ordinal (22), grain (3), area.
_BAND_BITS, _SEX_BITS, _PERIOD_BITS, _GRAIN_BITS = 10, 3, 22, 3
_SEX_SHIFT = _BAND_BITS
_PERIOD_SHIFT = _SEX_SHIFT + _SEX_BITS
_GRAIN_SHIFT = _PERIOD_SHIFT + _PERIOD_BITS
_AREA_SHIFT = _GRAIN_SHIFT + _GRAIN_BITS
_AREA_LIMIT = 1 << (63 - _AREA_SHIFT)


def ordered_sums(groups: Ints, weights: Floats | Ints, size: int) -> Floats:
    """Per group, the sum of its weights added one by one in the order given, from 0.0 (so a
    sum equals Python's `sum` over the same values in the same order, to the last bit)."""
    return np.bincount(groups, weights=weights, minlength=size).astype(np.float64, copy=False)


def distinct(values: Ints) -> Ints:
    """The sorted distinct values (a sort, cheaper than np.unique's hashing on these keys)."""
    ordered = np.sort(values, kind="stable")
    keep = np.ones(len(ordered), np.bool_)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def member_of(values: Ints, sorted_set: Ints) -> Flags:
    """Whether each value is in `sorted_set` (sorted, distinct)."""
    if not len(sorted_set):
        return np.zeros(len(values), np.bool_)
    at = np.searchsorted(sorted_set, values)
    at[at >= len(sorted_set)] = 0
    found: Flags = sorted_set[at] == values
    return found


# Area ids, grains, period starts, sexes and bands of some cells.
CellColumns = tuple[list[int], list[str], list[dt.date], list[str], list[str]]


class Cell(NamedTuple):
    area_id: int
    grain: str
    period_start: dt.date
    sex: str
    age_band: str


class InputValue(NamedTuple):
    value: float
    observations: int  # how many stored observations make up the value
    batch: int  # the latest load batch among them (0: unknown)


class _Codes:
    """Small integer codes for the labels of one cell part, fixed ones first."""

    def __init__(self, what: str, bits: int, fixed: Sequence[str]) -> None:
        self.what = what
        self.limit = 1 << bits
        self.labels: list[str] = []
        self.index: dict[str, int] = {}
        for label in fixed:
            self.code(label)

    def code(self, label: str) -> int:
        found = self.index.get(label)
        if found is None:
            if len(self.labels) >= self.limit:
                raise ValueError(f"more than {self.limit} distinct {self.what} values in one run")
            found = self.index[label] = len(self.labels)
            self.labels.append(label)
        return found


class CellSpace:
    """The codes of one engine run: every table of a run packs its cells the same way."""

    def __init__(self) -> None:
        self.area_ids: list[int] = []
        self._area_index: dict[int, int] = {}
        self.grains = _Codes("grain", _GRAIN_BITS, ("day", "month", "quarter", "year"))
        self.sexes = _Codes("sex", _SEX_BITS, ("total", "male", "female"))
        self.bands = _Codes("age band", _BAND_BITS, ("total",))

    def area(self, area_id: int) -> int:
        found = self._area_index.get(area_id)
        if found is None:
            if len(self.area_ids) >= _AREA_LIMIT:
                raise ValueError("too many areas in one run")
            found = self._area_index[area_id] = len(self.area_ids)
            self.area_ids.append(area_id)
        return found

    def areas(self, area_ids: Iterable[int]) -> Ints:
        code = self.area
        return np.fromiter((code(a) for a in area_ids), dtype=np.int64)

    def pack(self, area: Ints, grain: Ints, period: Ints, sex: Ints, band: Ints) -> Ints:
        return (
            (area << _AREA_SHIFT)
            | (grain << _GRAIN_SHIFT)
            | (period << _PERIOD_SHIFT)
            | (sex << _SEX_SHIFT)
            | band
        )

    @staticmethod
    def area_of(keys: Ints) -> Ints:
        return keys >> _AREA_SHIFT

    @staticmethod
    def grain_of(keys: Ints) -> Ints:
        return (keys >> _GRAIN_SHIFT) & ((1 << _GRAIN_BITS) - 1)

    @staticmethod
    def period_of(keys: Ints) -> Ints:
        return (keys >> _PERIOD_SHIFT) & ((1 << _PERIOD_BITS) - 1)

    @staticmethod
    def sex_of(keys: Ints) -> Ints:
        return (keys >> _SEX_SHIFT) & ((1 << _SEX_BITS) - 1)

    @staticmethod
    def band_of(keys: Ints) -> Ints:
        return keys & ((1 << _BAND_BITS) - 1)

    @staticmethod
    def with_sex_band(keys: Ints, sex: Ints | int, band: Ints | int) -> Ints:
        """The keys with their sex and band replaced."""
        return (keys >> _PERIOD_SHIFT << _PERIOD_SHIFT) | (np.int64(sex) << _SEX_SHIFT) | band

    @staticmethod
    def with_grain_period(keys: Ints, grain: int, period: Ints) -> Ints:
        """The keys with their grain and period replaced."""
        low = keys & ((1 << _PERIOD_SHIFT) - 1)
        area = keys >> _AREA_SHIFT << _AREA_SHIFT
        return area | (np.int64(grain) << _GRAIN_SHIFT) | (period << _PERIOD_SHIFT) | low

    def columns(
        self, keys: Ints
    ) -> tuple[list[int], list[str], list[dt.date], list[str], list[str]]:
        """Area ids, grains, period starts, sexes and bands of some keys, as Python lists."""
        periods, which = np.unique(self.period_of(keys), return_inverse=True)
        days = np.array([None, *(dt.date.fromordinal(p) for p in periods.tolist())], object)[1:]

        def labels(codes: Ints, names: Sequence[object]) -> list[Any]:
            return np.array(list(names) or [None], object)[codes].tolist()  # type: ignore[no-any-return]

        return (
            labels(self.area_of(keys), self.area_ids),
            labels(self.grain_of(keys), self.grains.labels),
            days[which.reshape(-1)].tolist(),
            labels(self.sex_of(keys), self.sexes.labels),
            labels(self.band_of(keys), self.bands.labels),
        )


@dataclass
class ColumnTable:
    """One input's values by cell: keys sorted and unique, the other columns beside them."""

    keys: Ints
    values: Floats
    observations: Ints
    batches: Ints

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def empty(cls) -> ColumnTable:
        return cls(
            np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.int64),
            np.empty(0, np.int64),
        )  # fmt: skip

    @classmethod
    def sorted_from(
        cls, keys: Ints, values: Floats, observations: Ints, batches: Ints
    ) -> ColumnTable:
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], values[order], observations[order], batches[order])

    @classmethod
    def from_cells(cls, table: Mapping[Cell, InputValue], space: CellSpace) -> ColumnTable:
        """A table of a resolver that builds cells one by one (entities, records)."""
        if not table:
            return cls.empty()
        cells = list(table)
        keys = space.pack(
            space.areas(c.area_id for c in cells),
            np.array([space.grains.code(c.grain) for c in cells], np.int64),
            np.array([c.period_start.toordinal() for c in cells], np.int64),
            np.array([space.sexes.code(c.sex) for c in cells], np.int64),
            np.array([space.bands.code(c.age_band) for c in cells], np.int64),
        )
        parts = list(table.values())
        return cls.sorted_from(
            keys,
            np.array([float(p.value) for p in parts], np.float64),
            np.array([p.observations for p in parts], np.int64),
            np.array([p.batch for p in parts], np.int64),
        )

    def aligned(self, keys: Ints) -> tuple[Floats, Ints, Ints, Flags]:
        """Values, observations and batches at `keys` (zeros where absent), and where present."""
        if not len(self.keys):
            none = np.zeros(len(keys), np.int64)
            return np.zeros(len(keys), np.float64), none, none, np.zeros(len(keys), np.bool_)
        at = np.searchsorted(self.keys, keys)
        at[at >= len(self.keys)] = 0
        present = self.keys[at] == keys
        return self.values[at], self.observations[at], self.batches[at], present
