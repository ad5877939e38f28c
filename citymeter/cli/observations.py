"""`citymeter observations`: import statistics files, list batches and rejects, undo, query."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from citymeter.cli.common import CLI_ACTOR, console, handle_errors, open_session
from citymeter.errors import InvalidInput
from citymeter.observations import batches, importer, service
from citymeter.observations.mapping import load_mapping

app = typer.Typer(
    help="Import statistics files as observations; list batches and rejected rows; undo; query.",
    no_args_is_help=True,
)


def print_report(report: importer.ImportReport) -> None:
    title = "Dry run (nothing stored)" if report.dry_run else f"Batch {report.batch_id}"
    table = Table(title=f"{title}: {escape(report.file_name)}", show_header=False)
    table.add_row("mapping", report.mapping)
    table.add_row("city", report.city)
    table.add_row("encoding", str(report.encoding or "-"))
    table.add_row("rows read", f"{report.rows_read:,}")
    table.add_row("rows stored", f"{report.rows_stored:,}")
    table.add_row("rows rejected", f"{report.rows_rejected:,}")
    table.add_row("rows skipped", f"{report.rows_skipped:,}")
    verb = "would be" if report.dry_run else "were"
    table.add_row("observations", f"{report.observations:,}")
    table.add_row(f"  new or changed ({verb} written)", f"{report.written:,}")
    table.add_row("  unchanged", f"{report.unchanged:,}")
    table.add_row("missing values (not stored)", f"{report.missing_values:,}")
    console.print(table)
    for reason, count in report.rejected_by_reason.items():
        console.print(f"[yellow]Rejected[/] {count:,} row(s): {escape(reason)}")
    if report.unmatched_areas:
        console.print(
            "[yellow]Unmatched areas[/] (not in the city): " + ", ".join(report.unmatched_areas)
        )
    for reason, count in report.skipped_by_reason.items():
        console.print(f"Skipped {count:,} row(s): {escape(reason)}")
    for metric, areas in report.missing_by_metric.items():
        shown = ", ".join(dict.fromkeys(areas))
        console.print(f"Missing {metric}: {escape(shown)}")
    if report.previous_batches:
        shown = ", ".join(str(b) for b in report.previous_batches)
        console.print(f"This file was imported before (batch {shown}).")
    if report.rows_rejected and report.batch_id is not None:
        console.print(f"See them: citymeter observations rejects {report.batch_id}")


@app.command("import")
@handle_errors
def import_(
    file: Path = typer.Argument(..., help="The CSV or XLSX file."),
    mapping: str = typer.Option(
        ..., "--mapping", "-m", help="A shipped mapping's name or a mapping YAML file."
    ),
    city: str | None = typer.Option(None, "--city", help="City code (default: the only city)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read, check and count everything; store nothing."
    ),
) -> None:
    """Import FILE as one batch of observations, all or nothing."""
    parsed = load_mapping(mapping)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    # No refresh thread: the importer reads a big file in a forked process, which it does only
    # from a single-threaded caller; the bar is redrawn on each progress call instead.
    bar = Progress(*columns, console=console, transient=True, auto_refresh=False)
    with bar, open_session() as session:
        task = bar.add_task(f"Importing {file.name}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=max(total, done), refresh=True)

        report = importer.import_path(
            session,
            CLI_ACTOR,
            path=file,
            mapping=parsed,
            city_code=city,
            dry_run=dry_run,
            progress=advance,
        )
    print_report(report)


@app.command("batches")
@handle_errors
def list_batches(limit: int = typer.Option(50, "--limit", help="How many, newest first.")) -> None:
    """List load batches, newest first."""
    with open_session() as session:
        rows = batches.list_batches(session, limit=limit)
        table = Table(
            "id",
            "status",
            "file",
            "mapping",
            "read",
            "stored",
            "rejected",
            "skipped",
            "started (UTC)",
        )
        for b in rows:
            table.add_row(
                str(b.id),
                b.status,
                escape(b.file_name or "-"),
                escape(b.mapping_name or "-"),
                f"{b.rows_read:,}",
                f"{b.stored:,}",
                f"{b.rejected:,}",
                f"{b.skipped:,}",
                b.started_at.strftime("%Y-%m-%d %H:%M"),
            )
    console.print(table)


@app.command("rejects")
@handle_errors
def list_rejects(
    batch_id: int = typer.Argument(..., help="The batch (see `observations batches`)."),
    limit: int = typer.Option(500, "--limit"),
) -> None:
    """List the rows a batch rejected, with the reason and the raw row."""
    with open_session() as session:
        rows = batches.list_rejects(session, batch_id, limit=limit)
        table = Table("row", "reason", "raw")
        for r in rows:
            raw = r.raw if len(r.raw) <= 80 else r.raw[:77] + "…"
            table.add_row(str(r.row_number or "-"), escape(r.reason), escape(raw))
    if not rows:
        console.print(f"Batch {batch_id} rejected no rows.")
        return
    console.print(table)


@app.command("undo")
@handle_errors
def undo(batch_id: int = typer.Argument(..., help="The batch to undo.")) -> None:
    """Remove what a batch stored and put back the values it replaced."""
    with open_session() as session:
        counts = batches.undo_batch(session, CLI_ACTOR, batch_id)
    console.print(
        f"Batch {batch_id} undone: {counts['removed']:,} observation(s) removed, "
        f"{counts['restored']:,} put back to their earlier value."
    )


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} {value!r} is not a date like 2025-04-01.") from None


@app.command("query")
@handle_errors
def query(
    metric: str | None = typer.Option(None, "--metric"),
    city: str | None = typer.Option(None, "--city"),
    area: str | None = typer.Option(None, "--area", help="Area code."),
    level: str | None = typer.Option(None, "--level", help="city, district, neighbourhood, …"),
    period_from: str | None = typer.Option(None, "--from", help="First period start (date)."),
    period_to: str | None = typer.Option(None, "--to", help="Last period start (date)."),
    grain: str | None = typer.Option(None, "--grain"),
    sex: str | None = typer.Option(None, "--sex", help="total, male or female."),
    age_band: str | None = typer.Option(None, "--age", help="total, 30, 0-4, 65+ …"),
    limit: int = typer.Option(50, "--limit"),
) -> None:
    """Show stored observations."""
    with open_session() as session:
        rows, total = service.query_observations(
            session,
            CLI_ACTOR,
            metric=metric,
            city=city,
            area_code=area,
            level=level,
            period_from=_date(period_from, "--from"),
            period_to=_date(period_to, "--to"),
            grain=grain,
            sex=sex,
            age_band=age_band,
            limit=limit,
        )
    table = Table(
        "metric",
        "area",
        "period",
        "sex",
        "age",
        "dims",
        "value",
        "unit",
        title=f"{len(rows):,} of {total:,} observation(s)",
    )
    for r in rows:
        table.add_row(
            r.metric,
            escape(f"{r.area_code} {r.area_name}"),
            f"{r.period_start} ({r.grain})",
            r.sex,
            r.age_band,
            escape(r.dims),
            f"{r.value:,.6g}",
            escape(r.unit),
        )
    console.print(table)
