"""Month → quarter → year roll-ups of an indicator's values, over whole columns.

A roll-up groups the finer values by their coarser period; each input is merged as the mean of
its values over the members that have it (observations summed, the latest batch kept) and the
value follows the definition's rule: `sum` (scaled up when periods are missing), `mean`, `last`,
or `recompute` (the formula on the merged inputs). Sums run member by member in period order, as
Python's `sum` did, so the floats are the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from citymeter.indicators import evaluation
from citymeter.indicators.cells import CellSpace, Flags, Floats, Ints, ordered_sums
from citymeter.indicators.formula import Formula

GRAIN_ORDER = {"day": 0, "month": 1, "quarter": 2, "year": 3}
SUB_PERIODS = {("month", "quarter"): 3, ("month", "year"): 12, ("quarter", "year"): 4}
QUALITY = ("measured", "extrapolated", "unknown")
MEASURED, EXTRAPOLATED, UNKNOWN = range(3)


@dataclass
class InputColumns:
    """One input over a block's cells, as stored in the provenance."""

    values: Floats
    observations: Ints
    batches: Ints
    present: Flags

    def take(self, rows: Ints | Flags) -> InputColumns:
        return InputColumns(
            self.values[rows], self.observations[rows], self.batches[rows], self.present[rows]
        )


@dataclass
class Block:
    """Values of one indicator at some cells, with quality, roll-up size and inputs."""

    keys: Ints
    values: Floats
    quality: Ints  # index into QUALITY
    periods: Ints  # how many finer periods a roll-up merged (1: computed directly)
    rolled: Flags
    inputs: dict[str, InputColumns] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, rows: Ints | Flags) -> Block:
        return Block(
            self.keys[rows], self.values[rows], self.quality[rows], self.periods[rows],
            self.rolled[rows], {k: c.take(rows) for k, c in self.inputs.items()},
        )  # fmt: skip

    @classmethod
    def concat(cls, blocks: list[Block]) -> Block:
        keys = list(blocks[0].inputs)
        return cls(
            np.concatenate([b.keys for b in blocks]),
            np.concatenate([b.values for b in blocks]),
            np.concatenate([b.quality for b in blocks]),
            np.concatenate([b.periods for b in blocks]),
            np.concatenate([b.rolled for b in blocks]),
            {
                k: InputColumns(
                    np.concatenate([b.inputs[k].values for b in blocks]),
                    np.concatenate([b.inputs[k].observations for b in blocks]),
                    np.concatenate([b.inputs[k].batches for b in blocks]),
                    np.concatenate([b.inputs[k].present for b in blocks]),
                )
                for k in keys
            },
        )


def first_wins(blocks: list[Block]) -> Block:
    """The blocks merged; where several have a cell, the earliest block's value is kept."""
    merged = Block.concat(blocks)
    _, first = np.unique(merged.keys, return_index=True)
    return merged.take(first)


def period_start(start: dt.date, grain: str) -> dt.date:
    """The start of the quarter or year containing `start` (other grains: `start` itself)."""
    if grain == "quarter":
        return start.replace(month=(start.month - 1) // 3 * 3 + 1, day=1)
    if grain == "year":
        return start.replace(month=1, day=1)
    return start


def _last_sub_period(start: dt.date, grain: str) -> dt.date:
    months = 3 if grain == "quarter" else 12
    month = start.month + months - 1
    return dt.date(start.year, month, 1)


def roll_up(
    fine: Block, fine_grain: str, grain: str, rule: str, formula: Formula, space: CellSpace
) -> Block:
    """The values of `fine` (all at `fine_grain`) rolled up to `grain`."""
    if not len(fine):
        return fine
    expected = SUB_PERIODS[(fine_grain, grain)]
    periods = CellSpace.period_of(fine.keys)
    distinct, which = np.unique(periods, return_inverse=True)
    starts = [period_start(dt.date.fromordinal(p), grain) for p in distinct.tolist()]
    coarse = np.array([s.toordinal() for s in starts], np.int64)[which]
    targets = CellSpace.with_grain_period(fine.keys, space.grains.code(grain), coarse)
    groups, group = np.unique(targets, return_inverse=True)
    size = len(groups)
    order = np.lexsort((periods, group))  # members of a group in period order
    members = group[order]
    count = np.bincount(group, minlength=size)
    complete = count == expected
    inputs = {k: _merged(c, order, members, size) for k, c in fine.inputs.items()}
    values: Floats
    if rule == "sum":
        values = ordered_sums(members, fine.values[order], size)
        values = values * (expected / count)
        kept = np.ones(size, np.bool_)
    elif rule == "mean":
        values = ordered_sums(members, fine.values[order], size) / count
        kept = np.ones(size, np.bool_)
    elif rule == "last":
        last = np.flatnonzero(np.r_[members[1:] != members[:-1], True])
        values = fine.values[order][last]
        last_start = periods[order][last]
        due = np.array(
            [_last_sub_period(s, grain).toordinal() for s in starts], np.int64
        )  # per distinct fine period: the coarse period's last sub-period
        group_due = np.zeros(size, np.int64)
        group_due[group] = due[which]
        complete = last_start >= group_due
        kept = np.ones(size, np.bool_)
    else:
        columns = {k: evaluation.Column(c.values, c.present) for k, c in inputs.items()}
        result = evaluation.evaluate(formula.tree, columns, size)
        values, kept = result.values, result.ok
    base = np.zeros(size, np.int64)
    np.maximum.at(base, group, fine.quality)
    quality = np.where(complete, base, EXTRAPOLATED)
    quality[base == UNKNOWN] = UNKNOWN
    block = Block(groups, values, quality, count, np.ones(size, np.bool_), inputs)
    return block.take(kept)


def _merged(column: InputColumns, order: Ints, members: Ints, size: int) -> InputColumns:
    """The input over the groups: the mean of its values where members have it."""
    present = column.present[order]
    rows = order[present]
    groups = members[present]
    have = np.bincount(groups, minlength=size)
    total = ordered_sums(groups, column.values[rows], size)
    with np.errstate(all="ignore"):
        mean = np.where(have > 0, total / np.maximum(have, 1), 0.0)
    observations = ordered_sums(groups, column.observations[rows], size)
    latest = np.zeros(size, np.int64)
    np.maximum.at(latest, groups, column.batches[rows])
    return InputColumns(mean, observations.astype(np.int64), latest, have > 0)
