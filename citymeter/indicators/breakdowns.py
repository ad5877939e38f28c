"""Breakdown selectors in formulas: `employed_persons[sex=female]`, `population[age_band>=65]`.

Age bands are labels in one shape ("total", "30", "0-4", "65+"); a selector is an age range, and a
band is selected when it lies wholly inside the range, so `age_band>=65` takes "65", "70-74" and
"100+" but never "60-69" or "total".
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

SEX_VALUES = ("total", "male", "female")
BREAKDOWN_DIMENSIONS = ("sex", "age_band")
AGE_OPERATORS = ("=", ">=", ">", "<=", "<")

_BAND = re.compile(r"^(\d{1,3})(?:-(\d{1,3})|(\+))?$")


@dataclass(frozen=True)
class AgeRange:
    """Ages lo … hi inclusive (hi may be infinite)."""

    lo: float = 0
    hi: float = math.inf

    def __str__(self) -> str:
        if math.isinf(self.hi):
            return f"{int(self.lo)}+"
        return f"{int(self.lo)}-{int(self.hi)}"

    def contains(self, band: AgeRange) -> bool:
        return band.lo >= self.lo and band.hi <= self.hi


def parse_band(label: str) -> AgeRange | None:
    """The age range of a band label; None for "total"."""
    if label == "total":
        return None
    match = _BAND.match(label.strip())
    if not match:
        raise ValueError(f"{label!r} is not an age band (use 30, 0-4, 65+ or total)")
    lo = int(match.group(1))
    if match.group(3):
        return AgeRange(lo, math.inf)
    hi = int(match.group(2)) if match.group(2) else lo
    if hi < lo:
        raise ValueError(f"age band {label!r} ends before it starts")
    return AgeRange(lo, hi)


def narrow(current: AgeRange, operator: str, value: str) -> AgeRange:
    """Intersect an age range with one condition such as `>= 65` or `= 15-64`."""
    if operator == "=":
        band = parse_band(value)
        if band is None:
            raise ValueError("age_band=total is the default; leave the selector out")
        lo, hi = band.lo, band.hi
    else:
        try:
            age = int(value)
        except ValueError:
            raise ValueError(
                f"age_band{operator} needs a whole number of years, not {value!r}"
            ) from None
        lo, hi = {
            ">=": (age, math.inf),
            ">": (age + 1, math.inf),
            "<=": (0, age),
            "<": (0, age - 1),
        }[operator]
    result = AgeRange(max(current.lo, lo), min(current.hi, hi))
    if result.lo > result.hi:
        raise ValueError(f"the age conditions select no age at all ({operator}{value})")
    return result


def select_age_bands(labels: list[str], wanted: AgeRange) -> list[str]:
    """The band labels lying inside `wanted`.

    Overlapping selected bands are an error: summing them would count people twice.
    """
    chosen = []
    for label in labels:
        band = parse_band(label)
        if band is not None and wanted.contains(band):
            chosen.append((band, label))
    chosen.sort(key=lambda item: (item[0].lo, item[0].hi))
    for (first, a), (second, b) in itertools.pairwise(chosen):
        if second.lo <= first.hi:
            raise ValueError(
                f"age bands {a!r} and {b!r} overlap; the data mixes two bandings "
                f"and the selection {wanted} would count people twice"
            )
    return [label for _, label in chosen]
