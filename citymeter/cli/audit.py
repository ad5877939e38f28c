"""`citymeter audit`: read the append-only log of who changed what."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.accounts import audit
from citymeter.cli.common import console, handle_errors, open_session
from citymeter.errors import InvalidInput

app = typer.Typer(help="Read the audit log.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_(
    limit: int = typer.Option(50, "--limit", "-n", help="How many entries, newest first."),
    object_type: str | None = typer.Option(
        None, "--type", help="Only entries about this kind of object, e.g. user, city, area."
    ),
) -> None:
    """Show the newest audit entries: when, who, what, on which object."""
    if not 1 <= limit <= 10000:
        raise InvalidInput("--limit is between 1 and 10000.")
    with open_session() as session:
        table = Table("id", "at (UTC)", "actor", "action", "object", "detail")
        for entry in audit.recent(session, limit=limit, object_type=object_type):
            table.add_row(
                str(entry.id),
                entry.at.strftime("%Y-%m-%d %H:%M:%S"),
                escape(entry.actor),
                entry.action,
                escape(f"{entry.object_type} {entry.object_id or ''}".strip()),
                escape(json.dumps(entry.detail, ensure_ascii=False)) if entry.detail else "",
            )
        console.print(table)


@app.command("verify")
@handle_errors
def verify() -> None:
    """Check the hash chain of scores, overrides and decisions; exit 1 naming a tampered entry."""
    from citymeter.assessment import ledger

    with open_session() as session:
        check = ledger.verify(session)
    if not check.intact:
        raise InvalidInput(
            f"The assessment log is broken: {check.problems[0]}",
            details={"errors": list(check.problems)},
        )
    console.print(f"The assessment log is intact: {check.entries} entries, hash chain verified.")
