"""Load indicator packs and definition files, and check them whole: every error names the indicator
code and the field, and all errors of a file are reported together.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from citymeter.datafiles import read_yaml
from citymeter.errors import InvalidInput, NotFound
from citymeter.indicators.formula import Catalogue, Formula, FormulaError, compile_formula
from citymeter.indicators.schema import (
    CatalogueFile,
    IndicatorDefinition,
    MetricSpec,
    Pack,
    Theme,
)
from citymeter.indicators.units import UnitError, conflict, parse_unit

PACKS_PACKAGE = "citymeter.indicators.packs"
CATALOGUE_FILE = "catalogue.yaml"


@dataclass(frozen=True)
class LoadedPack:
    """A checked pack: its definitions with compiled formulas and its theme tree."""

    pack: Pack
    indicators: tuple[IndicatorDefinition, ...]
    formulas: Mapping[str, Formula]
    catalogue: Catalogue
    parents: Mapping[str, str | None] = field(default_factory=dict)

    def indicator(self, code: str) -> IndicatorDefinition:
        for definition in self.indicators:
            if definition.code == code:
                return definition
        raise NotFound(f"The pack {self.pack.id} has no indicator {code!r}.")

    def theme_path(self, code: str) -> list[str]:
        """Codes from the tree's root down to the theme, e.g. [economy, ict]."""
        path = [code]
        while (parent := self.parents.get(path[0])) is not None:
            path.insert(0, parent)
        return path

    def themes(self) -> Iterator[tuple[Theme, int]]:
        def walk(nodes: list[Theme], depth: int) -> Iterator[tuple[Theme, int]]:
            for node in nodes:
                yield node, depth
                yield from walk(node.children, depth + 1)

        yield from walk(self.pack.themes, 0)


def _describe(error: Mapping[str, Any], raw: Any, prefix: str = "") -> str:
    """`indicator employment_rate: unit: field required` from a pydantic error location."""
    loc = list(error["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] == "indicators" and isinstance(loc[1], int):
        code = _raw_code(raw.get("indicators") if isinstance(raw, dict) else None, loc[1])
        where = f"indicator {code}: "
        loc = loc[2:]
    elif loc and isinstance(loc[0], int) and isinstance(raw, list):
        where = f"indicator {_raw_code(raw, loc[0])}: "
        loc = loc[1:]
    path = ".".join(str(part) for part in loc) or "(top level)"
    message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
    return f"{prefix}{where}{path}: {message}"


def _raw_code(items: Any, index: int) -> str:
    if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
        return str(items[index].get("code", f"#{index + 1}"))
    return f"#{index + 1}"


@cache
def shipped_catalogue() -> CatalogueFile:
    text = resources.files(PACKS_PACKAGE).joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    try:
        return CatalogueFile.model_validate(read_yaml(text, CATALOGUE_FILE))
    except ValidationError as exc:
        errors = [_describe(e, None) for e in exc.errors()]
        raise InvalidInput(f"{CATALOGUE_FILE} is invalid", details={"errors": errors}) from None


def _catalogue(extra: Mapping[str, MetricSpec], errors: list[str]) -> Catalogue:
    shared = shipped_catalogue()
    metrics = {code: spec.unit for code, spec in shared.metrics.items()}
    for code, spec in extra.items():
        if code in metrics and not parse_unit(metrics[code]).same_as(parse_unit(spec.unit)):
            errors.append(
                f"metrics.{code}: unit {spec.unit!r} differs from the catalogue's {metrics[code]!r}"
            )
        metrics.setdefault(code, spec.unit)
    return Catalogue(metrics, shared.entities, shared.records)


def check_definition(
    definition: IndicatorDefinition, catalogue: Catalogue
) -> tuple[Formula | None, list[str]]:
    """Compile the formula and check unit, breakdowns and SDG links; errors name code and field."""
    code = definition.code
    errors: list[str] = []
    try:
        parse_unit(definition.unit)
    except UnitError as exc:
        errors.append(f"indicator {code}: unit: {exc}")
        return None, errors
    try:
        formula = compile_formula(definition.formula, code, catalogue)
    except FormulaError as exc:
        errors.append(f"indicator {code}: formula: {exc.problem}" + (
            f" (at position {exc.position + 1})" if exc.position is not None else ""))  # fmt: skip
        return None, errors
    problem = conflict(formula.unit, definition.unit)
    if problem:
        errors.append(f"indicator {code}: unit: {problem}")
    refs = formula.metric_refs
    for dimension in ("sex", "age_band"):
        if getattr(definition.breakdowns, dimension):
            if not refs:
                errors.append(
                    f"indicator {code}: breakdowns.{dimension}: the formula reads no metric "
                    f"observations, so it cannot be broken down by {dimension}"
                )
            pinned = [r.key for r in refs if (r.sex if dimension == "sex" else r.ages) is not None]
            if pinned:
                errors.append(
                    f"indicator {code}: breakdowns.{dimension}: the formula already pins "
                    f"{dimension} in {', '.join(pinned)}"
                )
    if definition.rollup == "sum" and formula.unit.scale != 1.0 and not formula.unit.dims:
        errors.append(f"indicator {code}: rollup: a share or rate cannot be summed over periods")
    return formula, errors


def _theme_parents(themes: list[Theme], errors: list[str]) -> dict[str, str | None]:
    parents: dict[str, str | None] = {}

    def walk(nodes: list[Theme], parent: str | None) -> None:
        for node in nodes:
            if node.code in parents:
                errors.append(f"themes: the code {node.code!r} is used twice in the theme tree")
            parents[node.code] = parent
            walk(node.children, node.code)

    walk(themes, None)
    return parents


def _read_indicator_list(raw: Any, label: str, errors: list[str]) -> list[IndicatorDefinition]:
    items = raw if isinstance(raw, list) else [raw]
    found: list[IndicatorDefinition] = []
    for index, item in enumerate(items):
        try:
            found.append(IndicatorDefinition.model_validate(item))
        except ValidationError as exc:
            code = _raw_code(items, index)
            errors.extend(
                _describe({**e, "loc": ("indicators", index, *e["loc"])}, {"indicators": items})
                for e in exc.errors()
            )
            if code.startswith("#"):
                errors.append(f"{label}: entry {index + 1} has no code")
    return found


def parse_pack(text: str, label: str = "the pack", base: Path | None = None) -> LoadedPack:
    """Check a pack's YAML text whole; raise InvalidInput listing every error."""
    raw = read_yaml(text, label)
    if not isinstance(raw, dict):
        raise InvalidInput(f"{label} must be a YAML mapping with id, names, themes and indicators.")
    errors: list[str] = []
    try:
        pack = Pack.model_validate(raw)
    except ValidationError as exc:
        errors = [_describe(e, raw) for e in exc.errors()]
        raise InvalidInput(
            f"{label} is invalid ({len(errors)} errors)", details={"errors": errors}
        ) from None
    indicators = list(pack.indicators)
    for name in pack.indicator_files:
        path = (base or Path.cwd()) / name
        if not path.is_file():
            errors.append(f"indicator_files: {name} not found")
            continue
        indicators += _read_indicator_list(read_yaml(path.read_text("utf-8"), name), name, errors)
    catalogue = _catalogue(pack.metrics, errors)
    parents = _theme_parents(pack.themes, errors)
    categories = {c.code for c in pack.categories}
    seen: set[str] = set()
    formulas: dict[str, Formula] = {}
    for definition in indicators:
        code = definition.code
        if code in seen:
            errors.append(f"indicator {code}: code: used twice in the pack")
        seen.add(code)
        if definition.theme not in parents:
            errors.append(
                f"indicator {code}: theme: {definition.theme!r} is not a theme of the pack"
            )
        if categories and definition.category not in categories:
            errors.append(
                f"indicator {code}: category: {definition.category!r} is not a category of the pack"
            )
        if pack.uses_core_flag and definition.core is None:
            errors.append(
                f"indicator {code}: core: this pack marks every indicator core: true or false"
            )
        if pack.uses_tiers and definition.tier is None:
            errors.append(
                f"indicator {code}: tier: this pack gives every indicator a tier (core or advanced)"
            )
        formula, problems = check_definition(definition, catalogue)
        errors.extend(problems)
        if formula is not None:
            formulas[code] = formula
    codes = {d.code for d in indicators}
    for check in pack.checks:
        for metric in (check.metric, check.limit_metric):
            if metric is not None and metric not in catalogue.metrics:
                errors.append(f"checks.{check.code}: unknown metric {metric!r}")
        if check.indicator is not None and check.indicator not in codes:
            errors.append(f"checks.{check.code}: the pack has no indicator {check.indicator!r}")
    if not indicators:
        errors.append("indicators: the pack has no indicators")
    if errors:
        raise InvalidInput(f"{label} is invalid ({len(errors)} errors)", details={"errors": errors})
    return LoadedPack(pack, tuple(indicators), formulas, catalogue, parents)


def parse_definitions(
    text: str, label: str = "the file"
) -> list[tuple[IndicatorDefinition, Formula]]:
    """Check a file of one indicator definition (or a list) against the shared catalogue."""
    raw = read_yaml(text, label)
    errors: list[str] = []
    if not isinstance(raw, dict | list):
        raise InvalidInput(f"{label} must hold an indicator definition or a list of them.")
    definitions = _read_indicator_list(raw, label, errors)
    catalogue = _catalogue({}, errors)
    checked = []
    for definition in definitions:
        formula, problems = check_definition(definition, catalogue)
        errors.extend(problems)
        if formula is not None:
            checked.append((definition, formula))
    if errors:
        raise InvalidInput(f"{label} is invalid ({len(errors)} errors)", details={"errors": errors})
    return checked


def validate_file(path: Path) -> str:
    """Validate a pack or a definition file; a summary line, or InvalidInput with every error."""
    if not path.is_file():
        raise NotFound(f"No file at {path}.")
    text = path.read_text(encoding="utf-8")
    raw = read_yaml(text, path.name)
    if isinstance(raw, dict) and ("indicators" in raw or "themes" in raw):
        loaded = parse_pack(text, path.name, path.parent)
        pack = loaded.pack
        count = len(loaded.indicators)
        return f"{path.name}: pack {pack.id} v{pack.version}, {count} indicators, valid."
    checked = parse_definitions(text, path.name)
    return f"{path.name}: {len(checked)} indicator definition(s), valid."


def shipped_pack_files() -> dict[str, Path]:
    """Pack id → file of the packs shipped with CityMeter."""
    folder = resources.files(PACKS_PACKAGE)
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml") and entry.name != CATALOGUE_FILE:
            found[entry.name.removesuffix(".yaml")] = Path(str(entry))
    return dict(sorted(found.items()))


@cache
def shipped_pack(pack_id: str) -> LoadedPack:
    files = shipped_pack_files()
    if pack_id not in files:
        raise NotFound(f"No indicator pack {pack_id!r}; shipped packs: {', '.join(files)}.")
    path = files[pack_id]
    return parse_pack(path.read_text(encoding="utf-8"), path.name, path.parent)


def load_pack(name_or_path: str) -> LoadedPack:
    """A shipped pack by id, or a pack file by path."""
    if name_or_path in shipped_pack_files():
        return shipped_pack(name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        shipped = ", ".join(shipped_pack_files())
        raise NotFound(f"No shipped pack or file {name_or_path!r}; shipped packs: {shipped}.")
    return parse_pack(path.read_text(encoding="utf-8"), path.name, path.parent)


def all_shipped() -> list[LoadedPack]:
    return [shipped_pack(pack_id) for pack_id in shipped_pack_files()]
