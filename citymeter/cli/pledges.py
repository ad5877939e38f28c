"""`citymeter pledges`: the mayor's pledges, their progress and status."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.accounts.permissions import PUBLIC_VIEWER
from citymeter.cli.common import CLI_ACTOR, console, handle_errors, open_session
from citymeter.errors import InvalidInput
from citymeter.indicators import pledges

app = typer.Typer(help="Mayoral pledges: list, show, add, update.", no_args_is_help=True)

_CITY = typer.Option(..., "--city", help="City code.")
_STATUS = {
    "achieved": "[green]achieved[/]",
    "on_track": "[green]on track[/]",
    "at_risk": "[yellow]at risk[/]",
    "off_track": "[red]off track[/]",
    "no_data": "[dim]no data[/]",
}


def _date(text: str | None, label: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label} {text!r} is not a date (YYYY-MM-DD).") from None


def _milestones(items: list[str]) -> list[dict[str, Any]]:
    """`2026-12-31:Half way:62.5` → due, title, optional target value."""
    found = []
    for item in items:
        parts = item.split(":")
        if len(parts) < 2:
            raise InvalidInput(
                f"Milestone {item!r}: write DUE:TITLE[:TARGET], e.g. 2026-12-31:Half way:62.5"
            )
        entry: dict[str, Any] = {"due": parts[0], "title": parts[1]}
        if len(parts) > 2 and parts[2]:
            try:
                entry["target_value"] = float(parts[2])
            except ValueError:
                raise InvalidInput(f"Milestone {item!r}: {parts[2]!r} is not a number.") from None
        found.append(entry)
    return found


@app.command("list")
@handle_errors
def list_(city: str = _CITY) -> None:
    """The pledge board: every public pledge with progress and status."""
    with open_session() as session:
        views = pledges.board(session, PUBLIC_VIEWER, city)
        summary = pledges.board_summary(views)
    table = Table(
        "no.",
        "pledge",
        "department",
        "measure",
        "baseline",
        "latest",
        "target",
        "progress",
        "status",
    )
    for v in views:
        p = v.progress
        table.add_row(
            v.number, escape(v.title_ko or v.title_en or ""), escape(v.owner_department),
            v.indicator_codes[0], f"{v.baseline_value:g}",
            "—" if p.value is None else f"{p.value:.4g}", f"{v.target_value:g} by {v.target_date}",
            "—" if p.progress is None else f"{p.progress:.0f} % (expected {p.expected:.0f} %)",
            _STATUS[p.status],
        )  # fmt: skip
    console.print(table)
    console.print(", ".join(f"{k.replace('_', ' ')}: {n}" for k, n in summary.items() if n))


@app.command("show")
@handle_errors
def show(number: str = typer.Argument(..., help="Pledge number."), city: str = _CITY) -> None:
    """One pledge: progress, milestones and status history."""
    with open_session() as session:
        v = pledges.view(session, pledges.get_pledge(session, PUBLIC_VIEWER, city, number))
    p = v.progress
    console.print(
        f"[bold]{escape(v.number)}[/] {escape(v.title_ko or '')} {escape(v.title_en or '')}"
    )
    console.print(
        f"department: {escape(v.owner_department)}; indicators: {', '.join(v.indicator_codes)}"
    )
    console.print(
        f"baseline {v.baseline_value:g} ({v.baseline_date}) → target {v.target_value:g} "
        f"({v.target_date}) [{escape(v.unit)}]", highlight=False,
    )  # fmt: skip
    latest = "no value yet" if p.value is None else f"{p.value:.4g} as of {p.as_of}"
    shown = "—" if p.progress is None else f"{p.progress:.0f} %"
    console.print(
        f"latest: {latest}; progress {shown}, expected {p.expected:.0f} %: {_STATUS[p.status]}"
    )
    for m in v.milestones:
        mark = "✓" if m["reached"] else "·"
        target = "" if m["target_value"] is None else f" (target {m['target_value']:g})"
        console.print(f"  {mark} {m['due']} {escape(m['title'])}{target}")
    table = Table("assessed", "as of", "value", "progress", "status", "note")
    for h in v.history:
        table.add_row(
            h["assessed_at"].strftime("%Y-%m-%d %H:%M"), str(h["as_of"] or "—"),
            "—" if h["value"] is None else f"{h['value']:.4g}",
            "—" if h["progress"] is None else f"{h['progress']:.0f} %",
            _STATUS[h["status"]], escape(h["note"] or ""),
        )  # fmt: skip
    console.print(table)


@app.command("add")
@handle_errors
def add(
    number: str = typer.Argument(..., help="Pledge number, e.g. 1-3."),
    city: str = _CITY,
    indicator: list[str] = typer.Option(
        ..., "--indicator", help="Indicator code; the first is the measure."
    ),
    department: str = typer.Option(..., "--department", help="Owner department."),
    baseline: float = typer.Option(..., "--baseline", help="Baseline value."),
    baseline_date: str = typer.Option(..., "--baseline-date", help="YYYY-MM-DD"),
    target: float = typer.Option(..., "--target", help="Target value."),
    target_date: str = typer.Option(..., "--target-date", help="YYYY-MM-DD"),
    title_ko: str | None = typer.Option(None, "--title-ko"),
    title_en: str | None = typer.Option(None, "--title-en"),
    pack: str = typer.Option("administration", "--pack"),
    milestone: list[str] = typer.Option([], "--milestone", help="DUE:TITLE[:TARGET], repeatable."),
    internal: bool = typer.Option(False, "--internal", help="Hide from the public board."),
) -> None:
    """Add a pledge."""
    with open_session() as session:
        pledge = pledges.add_pledge(
            session, CLI_ACTOR, city=city, number=number, owner_department=department,
            indicator_codes=indicator, baseline_value=baseline,
            baseline_date=_date(baseline_date, "--baseline-date") or dt.date.min,
            target_value=target, target_date=_date(target_date, "--target-date") or dt.date.min,
            title_ko=title_ko, title_en=title_en, pack=pack,
            visibility="internal" if internal else "public", milestones=_milestones(milestone),
        )  # fmt: skip
        status = pledge.history[-1].status
    console.print(f"Pledge {escape(number)} added: {_STATUS[status]}.")


@app.command("update")
@handle_errors
def update(
    number: str = typer.Argument(..., help="Pledge number."),
    city: str = _CITY,
    title_ko: str | None = typer.Option(None, "--title-ko"),
    title_en: str | None = typer.Option(None, "--title-en"),
    department: str | None = typer.Option(None, "--department"),
    target: float | None = typer.Option(None, "--target"),
    target_date: str | None = typer.Option(None, "--target-date"),
    baseline: float | None = typer.Option(None, "--baseline"),
    baseline_date: str | None = typer.Option(None, "--baseline-date"),
    note: str | None = typer.Option(None, "--note", help="Why, kept in the history."),
) -> None:
    """Change a pledge; the change and the new status go into its history."""
    with open_session() as session:
        pledge = pledges.update_pledge(
            session, CLI_ACTOR, city=city, number=number, note=note, title_ko=title_ko,
            title_en=title_en, owner_department=department, target_value=target,
            target_date=_date(target_date, "--target-date"), baseline_value=baseline,
            baseline_date=_date(baseline_date, "--baseline-date"),
        )  # fmt: skip
        status = pledge.history[-1].status
    console.print(f"Pledge {escape(number)} updated: {_STATUS[status]}.")
