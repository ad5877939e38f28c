"""`citymeter metrics`: the registry of measured quantities and their units."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.cli.common import CLI_ACTOR, console, handle_errors, open_session
from citymeter.observations import service

app = typer.Typer(help="Register and list metrics (code, names, unit).", no_args_is_help=True)


@app.command("add")
@handle_errors
def add(
    code: str = typer.Argument(..., help="Stable code, e.g. resident_population."),
    name: str = typer.Option(..., "--name", help="Name shown to people."),
    unit: str = typer.Option(..., "--unit", help="persons, %, GBP, µg/m³ …"),
    description: str | None = typer.Option(None, "--description"),
    name_ko: str | None = typer.Option(None, "--name-ko", help="Korean name."),
    internal: bool = typer.Option(False, "--internal", help="Hide from the public."),
) -> None:
    """Register a metric."""
    with open_session() as session:
        metric = service.add_metric(
            session,
            CLI_ACTOR,
            code=code,
            name=name,
            unit=unit,
            names={"ko": name_ko} if name_ko else None,
            description=description,
            visibility="internal" if internal else "public",
        )
        console.print(f"Metric {metric.code} ({metric.unit}) added.")


@app.command("list")
@handle_errors
def list_() -> None:
    """List metrics."""
    with open_session() as session:
        rows = service.list_metrics(session, CLI_ACTOR)
        table = Table("code", "name", "unit", "visibility")
        for m in rows:
            table.add_row(m.code, escape(m.name), escape(m.unit), m.visibility)
    console.print(table)
