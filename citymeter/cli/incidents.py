"""`citymeter incidents`: import dispatch logs, list and show incidents, check alert rules."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.cli.common import CLI_ACTOR, console, handle_errors, open_session
from citymeter.errors import InvalidInput
from citymeter.incidents import alerts as alert_rules
from citymeter.incidents import importer, service

app = typer.Typer(help="Incidents: import, list, show, alerts.", no_args_is_help=True)


@app.command("import")
@handle_errors
def import_file(
    file: Path,
    format: str = typer.Option(..., "--format", help="File format: fire-ems-log."),
    tz: str = typer.Option("UTC", help="Time zone of the file's local times."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and count; store nothing."),
) -> None:
    """Import incidents from a file."""
    if format not in importer.FORMATS:
        raise InvalidInput(f"Unknown format {format!r}; known: {', '.join(importer.FORMATS)}.")
    with open_session() as session:
        summary = importer.import_fire_ems_log(session, CLI_ACTOR, file, tz=tz, dry_run=dry_run)
        rt = None if dry_run else service.response_summary(session, batch=summary.batch)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    verb = "Would store" if dry_run else "Stored"
    console.print(
        f"{verb} {summary.stored:,} incidents with {summary.stages:,} unit stages from "
        f"{summary.rows:,} rows in {summary.seconds:.1f} s ({summary.rows_per_s:,.0f} rows/s); "
        f"batch {summary.batch}."
    )
    console.print(
        f"{summary.without_location:,} incidents have no location: the file has no coordinates."
    )
    if summary.duplicates:
        console.print(
            f"{len(summary.duplicates)} repeated incident numbers stored once: "
            + ", ".join(summary.duplicates)
        )
    if summary.units_out_of_order:
        console.print(
            f"{summary.units_out_of_order:,} incidents have a unit whose stage times go backwards "
            "in the log (stored as given)."
        )
    if summary.rejected:
        console.print(f"[red]{len(summary.rejected):,} rows rejected:[/]")
        for r in summary.rejected[:50]:
            console.print(f"  line {r.line} ({escape(r.number)}): {escape(r.reason)}")
    if rt is not None and rt.with_both:
        console.print(
            f"Dispatch to first arrival over {rt.with_both:,} incidents: median "
            f"{rt.median_s:.0f} s, mean {rt.mean_s:.1f} s."
        )


@app.command("list")
@handle_errors
def list_incidents(
    type: str | None = typer.Option(None, "--type"),
    status: str | None = typer.Option(None, "--status"),
    limit: int = typer.Option(20, "--limit"),
) -> None:
    """The latest incidents."""
    with open_session() as session:
        page, total = service.list_incidents(session, type_code=type, status=status, limit=limit)
        table = Table("number", "type", "severity", "reported", "status", "district")
        for i in page:
            d = service.describe(session, CLI_ACTOR, i)
            table.add_row(
                d["number"],
                escape(str(d["type"])),
                str(d["severity"]),
                d["reported_at"],
                d["status"],
                str(d["district_id"] or "—"),
            )
    console.print(table)
    console.print(f"{len(page)} of {total:,} incidents.")


@app.command("show")
@handle_errors
def show(number: str, radius_m: float = typer.Option(500.0, "--radius-m")) -> None:
    """One incident: timeline, response times, nearby CCTV, police and hospitals."""
    with open_session() as session:
        d = service.detail(session, CLI_ACTOR, number, radius_m=radius_m)
    console.print(
        f"Incident {d['number']}: {escape(str(d['type']))} ({d['category']}), severity "
        f"{d['severity']}, {d['status']}, reported {d['reported_at']}"
    )
    for s in d["timeline"]:
        console.print(f"  {s['at']}  {escape(s['unit'])}  {s['stage']}")
    rt = d["response_times"]
    console.print(
        f"Call → dispatch: {_secs(rt['call_to_dispatch_s'])}; "
        f"dispatch → first arrival: {_secs(rt['dispatch_to_arrival_s'])}"
    )
    near = d["nearby"]
    if near.get("note"):
        console.print(near["note"])
    for c in near["cctv"]:
        console.print(f"  CCTV {escape(c['entity_id'])} at {c['distance_m']:.0f} m")
    if near["police_station"]:
        p = near["police_station"]
        console.print(f"  Police {escape(p['entity_id'])} at {p['distance_m']:.0f} m")
    for h in near["hospitals"]:
        console.print(f"  Hospital {escape(h['entity_id'])} at {h['distance_m']:.0f} m")


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


@app.command("alerts")
@handle_errors
def alerts(
    check: bool = typer.Option(False, "--check", help="Evaluate the rules now and publish."),
    pm25: float = typer.Option(alert_rules.PM25_THRESHOLD, "--pm25", help="PM2.5 threshold."),
) -> None:
    """The alert rules; with --check, evaluate them now (PM2.5 hour, stale sources)."""
    console.print(
        f"Rules: incident severity ≥ {alert_rules.MIN_SEVERITY}; PM2.5 above {pm25:g} µg/m³ for "
        "an hour; a source going stale."
    )
    if not check:
        return
    with open_session() as session:
        fired = alert_rules.check(session, threshold=pm25)
        session.commit()
    for a in fired:
        console.print(f"  [red]alert[/] {a.rule}: {escape(a.message)}")
    console.print(f"{len(fired)} alerts raised.")
