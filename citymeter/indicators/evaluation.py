"""A formula evaluated over whole columns: one numpy operation per node instead of one Python
call per node and cell.

Each cell ends in one of three states, settled in the order Python evaluated a cell before: the
left operand first, a missing input stops there (the cell is incomplete), a zero divisor stops
there (an error). Cells in the third state, and results that are not finite, are handed back to
the cell-by-cell evaluator, which words the error with the indicator code and the inputs; that is
rare, so the vectorized path settles nearly every cell and the results are the same floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from citymeter.indicators.cells import Flags, Floats
from citymeter.indicators.formula import (
    Aggregate,
    Binary,
    FormulaError,
    MetricRef,
    Node,
    Number,
    Unary,
)


@dataclass
class Column:
    """One input over the cells: its values and where it is present."""

    values: Floats
    present: Flags


@dataclass
class Evaluated:
    values: Floats
    ok: Flags  # a finite value
    missing: Flags  # an input is missing: no value, no error
    # neither: an error (or a non-finite value) for the cell-by-cell path to word

    @property
    def unsettled(self) -> Flags:
        return ~self.ok & ~self.missing


def evaluate(node: Node, inputs: Mapping[str, Column], size: int) -> Evaluated:
    """The formula's values over `size` cells, from input columns keyed by input key."""
    with np.errstate(all="ignore"):
        result = _node(node, inputs, size)
        finite = np.isfinite(result.values)
    return Evaluated(result.values, result.ok & finite, result.missing)


def _node(node: Node, inputs: Mapping[str, Column], size: int) -> Evaluated:
    if isinstance(node, Number):
        return Evaluated(
            np.full(size, node.value, np.float64), np.ones(size, np.bool_), np.zeros(size, np.bool_)
        )
    if isinstance(node, Unary):
        inner = _node(node.operand, inputs, size)
        return Evaluated(-inner.values, inner.ok, inner.missing)
    if isinstance(node, Binary):
        return _binary(node, inputs, size)
    if isinstance(node, Aggregate) and node.function.name == "coalesce":
        return _coalesce(node, inputs, size)
    if isinstance(node, MetricRef | Aggregate):
        column = inputs.get(node.key)
        if column is None:
            return Evaluated(
                np.zeros(size, np.float64), np.zeros(size, np.bool_), np.ones(size, np.bool_)
            )
        return Evaluated(column.values, column.present, ~column.present)
    raise FormulaError("?", f"cannot evaluate {node!r}")


def _binary(node: Binary, inputs: Mapping[str, Column], size: int) -> Evaluated:
    left = _node(node.left, inputs, size)
    right = _node(node.right, inputs, size)
    # The right operand is only reached when the left one has a value.
    missing = left.missing | (left.ok & right.missing)
    ok = left.ok & right.ok
    a, b = left.values, right.values
    if node.op == "+":
        values = a + b
    elif node.op == "-":
        values = a - b
    elif node.op == "*":
        values = a * b
    else:
        ok = ok & (b != 0)  # Python raised ZeroDivisionError for 0.0 and -0.0 alike
        values = np.divide(a, b, out=np.zeros(size, np.float64), where=ok)
    return Evaluated(values, ok, missing)


def _coalesce(node: Aggregate, inputs: Mapping[str, Column], size: int) -> Evaluated:
    """The first option that is not missing; an option with an error is taken, error and all."""
    values = np.zeros(size, np.float64)
    ok = np.zeros(size, np.bool_)
    remaining = np.ones(size, np.bool_)
    for expr in node.exprs:
        option = _node(expr, inputs, size)
        taken = remaining & option.ok
        values[taken] = option.values[taken]
        ok |= taken
        remaining &= option.missing
    return Evaluated(values, ok, remaining)
