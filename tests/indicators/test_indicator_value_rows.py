"""Provenance text assembled from per-input fragments is exactly what `json.dumps` makes of the
provenance dict, for present and missing inputs, roll-ups, internal inputs and odd floats."""

from __future__ import annotations

import json

import numpy as np

from citymeter.indicators.rollups import Block, InputColumns
from citymeter.indicators.value_rows import _provenance_dicts, provenance_texts


def _block(values: list[float]) -> Block:
    n = len(values)
    return Block(
        np.arange(n, dtype=np.int64),
        np.ones(n),
        np.zeros(n, np.int64),
        np.array([1, 3, 12, 1][:n], np.int64),
        np.array([False, True, True, False][:n]),
        {
            'employed_persons[sex="female"]': InputColumns(
                np.array(values), np.array([1, 3, 12, 2][:n]), np.array([4, 0, 7, 2][:n]),
                np.array([True, True, False, True][:n]),
            ),
            "working_age_population": InputColumns(
                np.array([0.1, 1e-7, 2.5e20, -0.0][:n]), np.array([1, 1, 1, 1][:n]),
                np.array([4, 5, 0, 9][:n]), np.array([True, False, True, True][:n]),
            ),
        },
    )  # fmt: skip


def test_fragments_make_the_text_json_dumps_makes() -> None:
    block = _block([330.0, 1 / 3, 1e300, 12.75])
    for personal in ([], ["employed_persons"]):
        expected = [json.dumps(p) for p in _provenance_dicts(block, "recompute", personal)]
        assert provenance_texts(block, "recompute", personal) == expected
    assert json.loads(expected[1])["inputs"] == {
        'employed_persons[sex="female"]': {"value": 1 / 3, "observations": 3, "batch": 0}
    }
    assert json.loads(expected[0])["batches"] == [4]


def test_values_that_are_not_finite_still_make_valid_provenance() -> None:
    block = _block([float("inf"), 1.0, 2.0, float("nan")])
    texts = provenance_texts(block, "sum", [])
    assert texts == [json.dumps(p) for p in _provenance_dicts(block, "sum", [])]
    assert "Infinity" in texts[0]
