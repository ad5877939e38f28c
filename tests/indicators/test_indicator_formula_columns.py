"""Formulas over whole columns settle every cell as the cell-by-cell evaluator does: the same
floats, the same missing cells, and the same cells handed back for an error message — zero
divisors, missing inputs on either side, coalesce options that fail, results that overflow."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from citymeter.indicators import evaluation
from citymeter.indicators.cells import InputValue
from citymeter.indicators.engine import _evaluate
from citymeter.indicators.formula import Catalogue, compile_formula

CATALOGUE = Catalogue(metrics={"a": "persons", "b": "persons", "c": "%", "d": "persons"})
# Each input takes each of these in turn (None: missing), so every combination is a cell.
CHOICES = (None, 0.0, -0.0, 3.0, 1e308, float("inf"))

FORMULAS = [
    "a / b * 100",
    "(a - d) / b + a / d",
    "b / (a - d)",
    "-a * 1e10 / b",
    "coalesce(a / b * 100, c)",
    "coalesce(a / (b - d) * 100, a / b * 100, c)",
    "coalesce(c, a / b * 100)",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_columns_settle_each_cell_as_the_cell_by_cell_evaluator(text: str) -> None:
    formula = compile_formula(text, "x", CATALOGUE)
    keys = formula.input_keys
    cells = list(itertools.product(CHOICES, repeat=len(keys)))
    columns = {
        key: evaluation.Column(
            np.array([0.0 if c[i] is None else c[i] for c in cells]),
            np.array([c[i] is not None for c in cells]),
        )
        for i, key in enumerate(keys)
    }
    result = evaluation.evaluate(formula.tree, columns, len(cells))
    for i, cell in enumerate(cells):
        used = {k: InputValue(v, 1, 0) for k, v in zip(keys, cell, strict=True) if v is not None}
        value, error = _evaluate(formula, used)
        if value is not None:
            assert result.ok[i] and result.values[i] == value, (text, cell)
        elif error is None:
            assert result.missing[i], (text, cell)
        else:
            assert result.unsettled[i], (text, cell, error)
