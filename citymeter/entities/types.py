"""Entity types as data: one YAML file per type in entity_types/, checked by a schema at load time.

A type names the attributes an entity of it may carry, each with a kind (number, text, bool,
relationship), a unit and an allowed range. Anything else is refused at ingest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from citymeter.errors import InvalidInput, NotFound

TYPES_PACKAGE = "citymeter.entities"
TYPES_FOLDER = "entity_types"
AttributeKind = Literal["number", "text", "bool", "relationship"]

# Attributes every entity may carry whatever its type (NGSI-LD's own "name" and "description").
COMMON_ATTRIBUTES = ("name", "description")


class AttributeSpec(BaseModel):
    """One attribute of an entity type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: AttributeKind
    unit: str | None = None
    # UN/CEFACT common code, as NGSI-LD's unitCode expects (GQ = µg/m³, 59 = ppm, KMH, P1 = %).
    unit_code: str | None = None
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = Field(default=None, description="Allowed text values.")
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> AttributeSpec:
        if self.kind != "number" and (self.min is not None or self.max is not None):
            raise ValueError("only number attributes have a min/max range")
        if self.kind != "number" and (self.unit or self.unit_code):
            raise ValueError("only number attributes have a unit")
        if self.values is not None and self.kind != "text":
            raise ValueError("only text attributes list allowed values")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def check(self, name: str, value: Any) -> str | None:
        """Why `value` is not acceptable for this attribute, or None when it is."""
        if self.kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"attribute {name!r} needs a number, not {_describe(value)}"
            if not math.isfinite(value):
                return f"attribute {name!r} must be a finite number"
            if self.min is not None and value < self.min:
                return f"attribute {name!r} = {value} is below its allowed minimum {self.min:g}"
            if self.max is not None and value > self.max:
                return f"attribute {name!r} = {value} is above its allowed maximum {self.max:g}"
        elif self.kind == "bool":
            if not isinstance(value, bool):
                return f"attribute {name!r} needs true or false, not {_describe(value)}"
        elif self.kind == "relationship":
            if not isinstance(value, str) or ":" not in value:
                return f"attribute {name!r} needs the URN of another entity, not {_describe(value)}"
        else:
            if not isinstance(value, str):
                return f"attribute {name!r} needs text, not {_describe(value)}"
            if self.values is not None and value not in self.values:
                return f"attribute {name!r} = {value!r} is not one of {', '.join(self.values)}"
        return None


class EntityType(BaseModel):
    """One entity type file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]+$")
    version: int = Field(ge=1)
    source: str = Field(min_length=10, description="Where the type's shape comes from.")
    description: str = ""
    default_visibility: Literal["public", "internal"] = "public"
    attributes: dict[str, AttributeSpec]

    @model_validator(mode="after")
    def _names(self) -> EntityType:
        for attr in self.attributes:
            if attr in COMMON_ATTRIBUTES or attr in {"id", "type", "location", "observedAt"}:
                raise ValueError(f"attribute name {attr!r} is reserved")
        return self

    def attribute(self, name: str) -> AttributeSpec | None:
        if name in self.attributes:
            return self.attributes[name]
        if name in COMMON_ATTRIBUTES:
            return _TEXT
        return None

    @property
    def numeric_attributes(self) -> tuple[str, ...]:
        return tuple(n for n, spec in self.attributes.items() if spec.kind == "number")


_TEXT = AttributeSpec(kind="text")

# Why a value is not acceptable for one attribute, or None.
AttributeCheck = Callable[[Any], str | None]
_CHECKS: dict[int, tuple[EntityType, dict[str, AttributeCheck]]] = {}


def attribute_checks(entity_type: EntityType) -> dict[str, AttributeCheck]:
    """A check per attribute an entity of this type may carry (the common ones included), for
    checking values in bulk: the usual value (a finite number in range, a free text) passes in a
    couple of type tests, and anything else gets `AttributeSpec.check` and its message."""
    hit = _CHECKS.get(id(entity_type))
    if hit is not None and hit[0] is entity_type:
        return hit[1]
    specs = [*entity_type.attributes.items(), *((n, _TEXT) for n in COMMON_ATTRIBUTES)]
    checks = {name: _compiled(name, spec) for name, spec in specs}
    _CHECKS[id(entity_type)] = (entity_type, checks)
    return checks


def _compiled(name: str, spec: AttributeSpec) -> AttributeCheck:
    def slow(value: Any) -> str | None:
        return spec.check(name, value)

    if spec.kind == "number":
        low = -math.inf if spec.min is None else spec.min
        high = math.inf if spec.max is None else spec.max

        def number(value: Any) -> str | None:
            kind = type(value)  # exactly int or float: a bool is refused by the slow path
            # NaN fails the range test; an infinity the second one.
            if (kind is float or kind is int) and low <= value <= high and abs(value) < math.inf:
                return None
            return slow(value)

        return number
    if spec.kind == "text" and spec.values is None:

        def text(value: Any) -> str | None:
            return None if type(value) is str else slow(value)

        return text
    return slow


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"[:80]


def load_entity_type(path: Path | Any) -> EntityType:
    """Parse and check one entity type file; errors name the file and the field."""
    label = getattr(path, "name", str(path))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        entity_type = EntityType.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise InvalidInput(f"Entity type file {label} is not valid: {exc}") from None
    if label.endswith(".yaml") and label != f"{entity_type.name}.yaml":
        raise InvalidInput(f"Entity type file {label} must be named {entity_type.name}.yaml.")
    return entity_type


def type_files() -> list[Any]:
    folder = resources.files(TYPES_PACKAGE) / TYPES_FOLDER
    return sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)


@cache
def _registry() -> dict[str, EntityType]:
    types: dict[str, EntityType] = {}
    for file in type_files():
        entity_type = load_entity_type(file)
        types[entity_type.name] = entity_type
    return types


def all_entity_types() -> list[EntityType]:
    """Every built-in entity type, by name."""
    return [t for _, t in sorted(_registry().items())]


def get_entity_type(name: str) -> EntityType:
    """The entity type called `name`; NotFound names the known ones."""
    entity_type = _registry().get(name)
    if entity_type is None:
        known = ", ".join(sorted(_registry()))
        raise NotFound(f"Unknown entity type {name!r}; known types: {known}.")
    return entity_type


def find_entity_type(name: str) -> EntityType | None:
    return _registry().get(name)


def known_type_names() -> list[str]:
    return sorted(_registry())
