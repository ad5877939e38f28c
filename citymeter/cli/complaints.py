"""`citymeter complaints`: import historical requests, list service types, service levels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citymeter.cli.common import CLI_ACTOR, console, handle_errors, open_session
from citymeter.complaints import importer, service, sla
from citymeter.errors import InvalidInput
from citymeter.places import service as places

app = typer.Typer(help="Civil complaints (Open311 service requests).", no_args_is_help=True)
CityOption = Annotated[str | None, typer.Option("--city", help="City code (default: the only one)")]


@app.command("import")
@handle_errors
def import_file(
    file: Annotated[Path, typer.Argument(help="The file of historical requests (.csv or .csv.gz)")],
    file_format: Annotated[
        str, typer.Option("--format", help=f"One of {', '.join(importer.FORMATS)}")
    ] = "boston-311",
    city: CityOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and count; store nothing")
    ] = False,
) -> None:
    """Import a file of historical service requests (all or nothing); prints its data quirks."""
    with open_session() as session:
        target = places.get_city(session, city)
        report = importer.import_file(
            session, CLI_ACTOR, target, file, file_format=file_format, dry_run=dry_run
        )
    for line in report.lines():
        console.print(line)


@app.command("services")
@handle_errors
def services(city: CityOption = None) -> None:
    """List the city's service types."""
    with open_session() as session:
        target = places.get_city(session, city)
        table = Table("code", "name", "group", "target hours", "department")
        for s in service.list_services(session, target):
            hours = f"{s.target_hours:g}" if s.target_hours else "-"
            table.add_row(s.service_code, s.name, s.group, hours, s.department)
    console.print(table)


def _hours(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


@app.command("sla")
@handle_errors
def service_levels(
    month: Annotated[str, typer.Option("--month", help="The month, like 2015-01")],
    city: CityOption = None,
) -> None:
    """Service levels per district for one month: received, closed, backlog, hours, late share."""
    try:
        chosen = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InvalidInput(f"--month {month!r} is not a month like 2015-01.") from None
    with open_session() as session:
        target = places.get_city(session, city)
        rows = sla.monthly(session, target, chosen)
    table = Table(
        "district", "received", "closed", "backlog", "median h", "mean h", "late %", "top type"
    )
    for f in rows:
        share = f.closed_late_share
        table.add_row(
            f.district,
            str(f.received),
            str(f.closed),
            str(f.backlog),
            _hours(f.median_hours),
            _hours(f.mean_hours),
            f"{share * 100:.1f}" if share is not None else "-",
            f"{f.top_types[0][0]} ({f.top_types[0][1]})" if f.top_types else "-",
        )
    console.print(table)
