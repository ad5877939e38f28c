"""Units of indicator inputs and results: parse a declared unit, derive a formula's unit, compare.

A unit is a product of base dimensions with integer exponents and a scale: a value `v` in the unit
means the quantity `v × scale` in base units. So "%" is the dimensionless unit with scale 0.01, and
"per 100,000 persons" is persons⁻¹ with scale 1e-5. Counts of events (homicides, fires, cases) are
dimensionless, which is what makes "homicides per 100,000 persons" the same unit as
"per 100,000 persons"; persons, households, dwellings and jobs keep their own dimensions so that
adding persons to households is an error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

Dims = tuple[tuple[str, int], ...]


class UnitError(ValueError):
    """A unit that cannot be read, or two units that cannot be combined."""


def _dims(mapping: dict[str, int]) -> Dims:
    return tuple(sorted((k, v) for k, v in mapping.items() if v))


@dataclass(frozen=True)
class Unit:
    dims: Dims = ()
    scale: float = 1.0

    @property
    def dimensionless(self) -> bool:
        return not self.dims

    def __mul__(self, other: Unit) -> Unit:
        merged = dict(self.dims)
        for name, power in other.dims:
            merged[name] = merged.get(name, 0) + power
        return Unit(_dims(merged), self.scale * other.scale)

    def __truediv__(self, other: Unit) -> Unit:
        return self * other.inverse()

    def inverse(self) -> Unit:
        return Unit(tuple((k, -v) for k, v in self.dims), 1.0 / self.scale)

    def times_number(self, factor: float) -> Unit:
        """The unit of `value × factor` read as the same quantity: `ratio × 100` is in %."""
        return Unit(self.dims, self.scale / factor)

    def same_as(self, other: Unit) -> bool:
        return self.dims == other.dims and math.isclose(self.scale, other.scale, rel_tol=1e-9)

    def same_kind(self, other: Unit) -> bool:
        return self.dims == other.dims

    def __str__(self) -> str:
        return describe(self)


DIMENSIONLESS = Unit()

# Every atom a declared unit may use: the dimensions and the scale to base units.
_L = "length"
ATOMS: dict[str, Unit] = {}


def _atom(names: str, dims: dict[str, int] | None = None, scale: float = 1.0) -> None:
    unit = Unit(_dims(dims or {}), scale)
    for name in names.split("|"):
        ATOMS[name] = unit


_atom(
    "1|ratio|count|counts|events|incidents|cases|homicides|fires|deaths|complaints|requests"
    "|items|vehicles|trees|beds|buildings|businesses|students|patents|visits|trips|sensors"
    "|stations|points|doctors|nurses|physicians|places|seats|connections|users|devices|services"
    "|companies|firms|births|datasets"
)
_atom("%|percent", None, 0.01)
_atom("‰|permille", None, 0.001)
_atom("ppm", None, 1e-6)
_atom("ppb", None, 1e-9)
_atom(
    "persons|person|people|population|residents|inhabitants|members|capita|woman|women",
    {"person": 1},
)
_atom("households|household", {"household": 1})
_atom("dwellings|dwelling", {"dwelling": 1})
_atom("jobs|job", {"job": 1})
_atom("installations|installation", {"installation": 1})
_atom("m|metre|metres", {_L: 1})
_atom("km|kilometre|kilometres", {_L: 1}, 1e3)
_atom("m2|m²", {_L: 2})
_atom("km2|km²", {_L: 2}, 1e6)
_atom("ha|hectare|hectares", {_L: 2}, 1e4)
_atom("m3|m³", {_L: 3})
_atom("l|L|litre|litres", {_L: 3}, 1e-3)
_atom("kg", {"mass": 1})
_atom("g", {"mass": 1}, 1e-3)
_atom("mg", {"mass": 1}, 1e-6)
_atom("µg|μg|ug", {"mass": 1}, 1e-9)
_atom("t|tonne|tonnes", {"mass": 1}, 1e3)
_atom("kgCO2e", {"co2e": 1})
_atom("tCO2e", {"co2e": 1}, 1e3)
_atom("s|second|seconds", {"time": 1})
_atom("min|minute|minutes", {"time": 1}, 60)
_atom("h|hour|hours", {"time": 1}, 3600)
_atom("day|days", {"time": 1}, 86400)
_atom("year|years", {"time": 1}, 365.25 * 86400)
_atom("kWh", {"energy": 1})
_atom("MWh", {"energy": 1}, 1e3)
_atom("GWh", {"energy": 1}, 1e6)
_atom("kW", {"energy": 1, "time": -1}, 1 / 3600)
_atom("MW", {"energy": 1, "time": -1}, 1e3 / 3600)
_atom("Mbit|Mb", {"data": 1}, 1e6)
_atom("dB|dB(A)", {"decibel": 1})
_atom("°C", {"temperature": 1})
_atom("score|index", {"score": 1})
for _currency in ("KRW", "GBP", "USD", "EUR"):
    _atom(_currency, {f"money_{_currency}": 1})

# How a derived unit is shown when it equals one of these (first match wins).
DISPLAY = (
    "ratio", "%", "‰", "per 1,000", "per 10,000", "per 100,000",
    "persons", "households", "dwellings", "jobs", "installations",
    "per 1,000 persons", "per 10,000 persons", "per 100,000 persons",
    "persons per household", "µg/m³", "ppb", "s", "min", "h", "days", "years",
    "kWh", "MWh", "kWh per person", "tCO2e", "tCO2e per person", "t", "kg per person",
    "l per person per day", "m² per person", "km", "km²", "KRW", "GBP", "USD", "EUR",
    "jobs per 1,000 persons", "dB(A)", "°C", "score",
)  # fmt: skip

_NUMBER = re.compile(r"^\d{1,3}(,\d{3})+$|^\d+(\.\d+)?$")
_EXPONENT = re.compile(r"^(.+?)(?:\^(-?\d)|([²³]))$")


def _read_number(text: str) -> float | None:
    return float(text.replace(",", "")) if _NUMBER.match(text) else None


def _read_term(words: list[str], where: str) -> Unit:
    """`100,000 persons`, `kg`, `µg/m³`: a product of atoms with an optional factor."""
    unit = DIMENSIONLESS
    for word in words:
        number = _read_number(word)
        if number is not None:
            if number == 0:
                raise UnitError(f"{where}: a unit cannot be scaled by 0")
            unit = unit.times_number(1 / number)
            continue
        for index, part in enumerate(word.split("/")):
            atom = _read_atom(part, where)
            unit = unit * (atom if index == 0 else atom.inverse())
    return unit


def _read_atom(text: str, where: str) -> Unit:
    if text in ATOMS:
        return ATOMS[text]
    match = _EXPONENT.match(text)
    if match and match.group(1) in ATOMS:
        power = int(match.group(2)) if match.group(2) else {"²": 2, "³": 3}[match.group(3)]
        base = ATOMS[match.group(1)]
        result = DIMENSIONLESS
        for _ in range(abs(power)):
            result = result * (base if power > 0 else base.inverse())
        return result
    raise UnitError(f"{where}: unknown unit {text!r} (known: {', '.join(sorted(ATOMS)[:30])}, …)")


def parse_unit(text: str) -> Unit:
    """Read a declared unit: `persons`, `%`, `per 100,000 persons`, `µg/m³`, `l per person per day`.

    `per` divides; a number before an atom scales it (`per 1,000 persons`). A leading `per` means
    a count per the rest.
    """
    where = f"unit {text!r}"
    words = text.strip().split()
    if not words:
        raise UnitError("a unit is required (persons, %, µg/m³, per 100,000 persons, …)")
    groups: list[list[str]] = [[]]
    for word in words:
        if word == "per":
            groups.append([])
        else:
            groups[-1].append(word)
    if any(not group for group in groups[1:]):
        raise UnitError(f"{where}: 'per' must be followed by a unit")
    unit = _read_term(groups[0], where)
    for group in groups[1:]:
        unit = unit / _read_term(group, where)
    return unit


def _display_table() -> list[tuple[str, Unit]]:
    return [(name, parse_unit(name)) for name in DISPLAY]


_DISPLAY_UNITS = _display_table()


def describe(unit: Unit) -> str:
    """A readable name: a known display name, else base dimensions with a factor."""
    for name, known in _DISPLAY_UNITS:
        if known.same_as(unit):
            return name
    top = "·".join(name if p == 1 else f"{name}^{p}" for name, p in unit.dims if p > 0)
    bottom = "·".join(name if p == -1 else f"{name}^{-p}" for name, p in unit.dims if p < 0)
    text = top or "1"
    if bottom:
        text += f"/{bottom}"
    if not math.isclose(unit.scale, 1.0):
        text += f" ×{unit.scale:g}"
    return text


def conflict(derived: Unit, declared_text: str) -> str | None:
    """Why a formula's derived unit does not match the declared one, or None when it does."""
    declared = parse_unit(declared_text)
    if derived.same_as(declared):
        return None
    if derived.same_kind(declared):
        factor = derived.scale / declared.scale
        hint = " (multiply the ratio by 100 for %)" if derived.scale == 1 and factor == 100 else ""
        return (
            f"the formula gives {describe(derived)} but the unit is {declared_text!r}: "
            f"the value would be off by a factor of {factor:g}{hint}"
        )
    return f"the formula gives {describe(derived)}, which is not {declared_text!r}"
