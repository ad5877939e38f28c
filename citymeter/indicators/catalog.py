"""Browse the shipped packs: summaries, filtered lists and one definition described for people."""

from __future__ import annotations

from dataclasses import dataclass

from citymeter.errors import InvalidInput, NotFound
from citymeter.indicators.formula import render
from citymeter.indicators.loader import LoadedPack, all_shipped, load_pack
from citymeter.indicators.schema import IndicatorDefinition, SdgLink


@dataclass(frozen=True)
class PackSummary:
    id: str
    version: int
    name: str
    indicators: int
    themes: int


@dataclass(frozen=True)
class IndicatorRow:
    pack: str
    code: str
    name: str
    unit: str
    theme: str
    sdg: str


def pack_summaries() -> list[PackSummary]:
    return [
        PackSummary(
            p.pack.id, p.pack.version, p.pack.names.en, len(p.indicators), len(list(p.themes()))
        )
        for p in all_shipped()
    ]


def _sdg_text(link: SdgLink) -> str:
    return (link.indicator or link.target or str(link.goal)) + (
        "" if link.mapping == "official" else "?"
    )


def _matches_sdg(definition: IndicatorDefinition, wanted: str) -> bool:
    for link in definition.sdg:
        for value in (str(link.goal), link.target, link.indicator):
            if value == wanted:
                return True
    return False


def list_indicators(
    *, pack: str | None = None, theme: str | None = None, sdg: str | None = None
) -> list[IndicatorRow]:
    """Definitions of one pack or all shipped packs; theme matches any level of the tree."""
    packs = [load_pack(pack)] if pack else all_shipped()
    if theme and not any(theme in p.parents for p in packs):
        raise NotFound(f"No pack has the theme {theme!r}.")
    if sdg is not None and not sdg.replace(".", "").isalnum():
        raise InvalidInput(
            f"{sdg!r} is not an SDG goal, target or indicator (e.g. 11, 11.6, 11.6.2)."
        )
    rows = []
    for loaded in packs:
        for definition in loaded.indicators:
            if theme and theme not in loaded.theme_path(definition.theme):
                continue
            if sdg and not _matches_sdg(definition, sdg):
                continue
            rows.append(
                IndicatorRow(
                    loaded.pack.id,
                    definition.code,
                    definition.names.en,
                    definition.unit,
                    definition.theme,
                    ", ".join(_sdg_text(s) for s in definition.sdg),
                )
            )
    return rows


def find_indicator(code: str, pack: str | None = None) -> tuple[LoadedPack, IndicatorDefinition]:
    packs = [load_pack(pack)] if pack else all_shipped()
    found = [(p, d) for p in packs for d in p.indicators if d.code == code]
    if not found:
        raise NotFound(
            f"No indicator {code!r}"
            + (f" in the pack {pack}." if pack else " in the shipped packs.")
        )
    return found[0]


def describe_indicator(code: str, pack: str | None = None) -> list[str]:
    """Lines describing one definition for a person."""
    loaded, d = find_indicator(code, pack)
    formula = loaded.formulas[d.code]
    others = [
        p.pack.id
        for p in all_shipped()
        if p is not loaded and any(i.code == code for i in p.indicators)
    ]
    lines = [
        f"{d.code} — {d.names.en}" + (f" ({d.names.ko})" if d.names.ko else ""),
        f"pack: {loaded.pack.id} v{loaded.pack.version}; definition version {d.version}"
        + (f"; also in {', '.join(others)}" if others else ""),
        f"theme: {' › '.join(loaded.theme_path(d.theme))}"
        + (f"; category: {d.category}" if d.category else ""),
        f"unit: {d.unit}; direction: {d.direction}"
        + (f" {list(d.target_range)}" if d.target_range else "")
        + f"; periodicity: {d.periodicity}; roll-up: {d.rollup}; visibility: {d.visibility}",
        f"formula: {d.formula}",
        f"  reads as: {render(formula.tree)}  [{formula.unit}]",
        "inputs: " + ", ".join(formula.input_keys),
    ]
    if d.description:
        lines.insert(1, d.description)
    breakdowns = [name for name in ("sex", "age_band") if getattr(d.breakdowns, name)]
    areas = ", ".join(d.breakdowns.area_levels)
    lines.append(f"breakdowns: {', '.join(breakdowns) or 'none'}; areas: {areas}")
    if d.standard:
        lines.append(
            f"standard: {d.standard.name}" + (f" {d.standard.clause}" if d.standard.clause else "")
        )
    if d.core is not None:
        lines.append(f"core: {'yes' if d.core else 'no'}")
    if d.tier:
        lines.append(
            f"tier: {d.tier}"
            + (f"; benchmark target: {d.benchmark_target:g}" if d.benchmark_target else "")
        )
    for link in d.sdg:
        where = link.indicator or link.target or f"goal {link.goal}"
        lines.append(f"SDG {where} ({link.mapping})")
    if d.reconstructed:
        lines.append("reconstructed from public descriptions, not the standard's text")
    return lines
