"""`citymeter frameworks`: list, show and validate frameworks; score a sheet against one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from citymeter.assessment import loader, scoring
from citymeter.assessment.schema import Framework, Group, LevelScale
from citymeter.cli.common import console, handle_errors
from citymeter.errors import InvalidInput

app = typer.Typer(
    help="Assessment frameworks: the shipped ones or a certification body's own file.",
    no_args_is_help=True,
)

FRAMEWORK_ARG = typer.Argument(..., help="A shipped framework id or the path of a framework file.")


@app.command("list")
@handle_errors
def list_() -> None:
    """List the frameworks that ship with CityMeter."""
    table = Table("id", "name", "version", "kind", "items", "scored elements")
    for fw in loader.list_frameworks():
        table.add_row(
            fw.id,
            escape(fw.name),
            fw.version,
            fw.kind,
            str(len(list(fw.all_items()))),
            str(len(fw.scored_elements())),
        )
    console.print(table)


def _group_tree(node: Tree, group: Group) -> None:
    branch = node.add(f"[bold]{escape(group.name)}[/] ({group.id})" + _mark(group.reconstructed))
    for child in group.groups:
        _group_tree(branch, child)
    for item in group.items:
        points = f", {item.max_points:g} pts" if item.max_points is not None else ""
        leaf = branch.add(f"{escape(item.name)} ({item.id}{points})" + _mark(item.reconstructed))
        if item.sub_indicators:
            leaf.add(f"{len(item.sub_indicators)} sub-indicators")


def _mark(reconstructed: bool) -> str:
    return " [yellow]reconstructed[/]" if reconstructed else ""


@app.command("show")
@handle_errors
def show(framework: str = FRAMEWORK_ARG) -> None:
    """Show a framework: source, structure, scale and rules."""
    fw = loader.load_framework(framework)
    console.print(f"[bold]{escape(fw.name)}[/] — {fw.id} v{fw.version} ({fw.kind})")
    console.print(f"Source ({fw.source.basis}): {escape(fw.source.note.strip())}")
    if fw.principles:
        console.print("Principles: " + ", ".join(escape(p.name) for p in fw.principles))
    tree = Tree("Structure")
    for group in fw.groups:
        _group_tree(tree, group)
    console.print(tree)
    if isinstance(fw.scale, LevelScale):
        table = Table("level", "label", "descriptor")
        for level in fw.scale.levels:
            table.add_row(level.code, level.label, escape(level.descriptor))
        console.print(table)
    else:
        console.print(f"Scale: {fw.scale.type}, {fw.max_points():g} points in all")
    for line in _rules(fw):
        console.print(line)


def _rules(fw: Framework) -> list[str]:
    lines = [f"Aggregation: {fw.aggregation.method}"]
    if fw.kind == "maturity":
        lines[0] += f"; overall level: {fw.aggregation.overall_level}"
    lines += [f"Gate: every item ≥ {g.min_level}" for g in fw.aggregation.gates if g.items is None]
    line = fw.pass_line()
    if line is not None:
        lines.append(f"Pass line: {line:g} points")
    for band in fw.grade_bands:
        floor = fw.grade_band_floor(band)
        flags = ("certified" if band.certified else "not certified") + (
            ", default cut-off" if band.default else ""
        )
        lines.append(f"Grade {band.grade}: from {floor:g} points ({flags})")
    for cls in fw.eligibility.classes:
        lines.append(f"Class {cls.id}: {escape(cls.name)}")
    c = fw.committee
    lines.append(
        f"Committee: {c.aggregation}"
        + (f" (trim {c.trim_share:g} each end)" if c.aggregation == "trimmed_mean" else "")
        + f", disagreement above {c.disagreement_threshold:g}"
        + (" % of max" if c.disagreement_unit == "percent_of_max" else "")
    )
    lines.append("Stages: " + " → ".join(escape(s.name) for s in fw.stages))
    if fw.certificate:
        cert = fw.certificate
        lines.append(
            f"Certificate: {cert.validity_years} years, renewal by {cert.renewal}"
            + (
                f", surveillance every {cert.surveillance_every_months} months"
                if cert.surveillance_every_months
                else ""
            )
            + (
                f", request due {cert.renewal_notice_months} months before expiry"
                if cert.renewal_notice_months is not None
                else ""
            )
        )
    return lines


@app.command("validate")
@handle_errors
def validate(path: Path = typer.Argument(..., help="A framework YAML file.")) -> None:
    """Check a framework file; every problem is listed with the element it concerns."""
    fw = loader.load_framework_file(path)
    console.print(
        f"{path.name} is a valid framework: {fw.id} v{fw.version} ({fw.kind}), "
        f"{len(list(fw.all_items()))} items, {len(fw.scored_elements())} scored elements."
    )


def _read_sheet(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Cannot read the score sheet {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path.name} must map element ids to levels or points.")
    return {str(k): v for k, v in data.items()}


def _measure(kpi_id: str, entry: Any) -> scoring.KpiMeasure | None:
    if entry is None:
        return None
    try:
        return scoring.KpiMeasure(float(entry["value"]), float(entry["target"]))
    except (TypeError, KeyError, ValueError):
        raise InvalidInput(
            f"{kpi_id}: give {{value: …, target: …}} with two numbers, or null if not reported."
        ) from None


@app.command("score")
@handle_errors
def score(
    framework: str = FRAMEWORK_ARG,
    sheet: Path = typer.Argument(
        ...,
        help="YAML mapping element id → level/points (benchmark: id → {value, target} or null).",
    ),
    population: int | None = typer.Option(None, "--population", help="Assign a population class."),
    gaps: bool = typer.Option(False, "--gaps", help="Also print the improvement roadmap."),
) -> None:
    """Score a sheet of decided levels or points against a framework."""
    fw = loader.load_framework(framework)
    values = _read_sheet(sheet)
    if fw.kind == "maturity":
        m = scoring.maturity_result(fw, values)
        verdict = "PASS" if m.passed else "FAIL"
        console.print(
            f"Overall level {m.overall_level.code} ({m.overall_level.label}), "
            f"average {m.average:.2f}: {verdict}"
        )
        for failing in m.failing:
            console.print(f"  - {escape(failing.reason)}")
    elif fw.kind == "points":
        p = scoring.points_result(fw, values, population)
        grade = f"grade {p.grade.grade}" if p.grade else "no grade"
        verdict = "CERTIFIED" if p.certified else "NOT CERTIFIED"
        console.print(
            f"{p.total:g} of {p.max_total:g} points ({p.percent:.1f} %), {grade}: {verdict}"
        )
        if p.population_class:
            console.print(f"Class: {escape(p.population_class.name)}")
        for area in p.areas:
            console.print(f"  {escape(area.name)}: {area.points:g} / {area.max_points:g}")
    else:
        b = scoring.benchmark_result(fw, {k: _measure(k, v) for k, v in values.items()})
        table = Table("dimension / sub-dimension", "earned", "possible", "%")
        for row in b.groups:
            percent = f"{row.percent:.1f}" if row.percent is not None else "—"
            table.add_row(escape(row.name), str(row.earned), str(row.possible), percent)
        console.print(table)
        console.print(f"{len(b.kpi_points)} KPIs reported, {len(b.not_reported)} not reported.")
    if gaps:
        roadmap = Table("item", "now", "next", "what separates them")
        for step in scoring.gap_analysis(fw, values):
            roadmap.add_row(
                escape(step.item_name) + (" [red]blocking[/]" if step.blocking else ""),
                step.current,
                step.next or "—",
                escape(step.gap),
            )
        console.print(roadmap)
