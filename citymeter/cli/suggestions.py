"""`citymeter suggestions`: list, show, answer and import citizen suggestions."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.accounts import service as accounts
from citymeter.cli.common import CLI_ACTOR, console, handle_errors, open_session
from citymeter.suggestions import importer, service
from citymeter.suggestions.service import city_for

app = typer.Typer(help="Citizen suggestions: list, show, respond, import.", no_args_is_help=True)

CityOption = typer.Option(None, "--city", help="City code (default: the first city).")


@app.command("list")
@handle_errors
def list_command(
    city: str | None = CityOption,
    status: str | None = typer.Option(None, help="open, under_review, answered, adopted, declined"),
    district: str | None = typer.Option(None, help="District area code."),
    sort: str = typer.Option("new", help="new or votes."),
    limit: int = typer.Option(30, help="How many to show."),
) -> None:
    """List suggestions, newest (or most supported) first."""
    with open_session() as session:
        where = city_for(session, city)
        page, total = service.list_suggestions(
            session, where, status=status, district_code=district, sort=sort, limit=limit
        )
        table = Table("id", "filed", "district", "category", "status", "votes", "title")
        for s in page:
            view = service.public_view(session, s)
            table.add_row(
                str(s.id),
                s.created_at.date().isoformat(),
                escape(view["district"]["name"]) if view["district"] else "-",
                s.category,
                s.status,
                str(s.vote_count),
                escape(s.title),
            )
    console.print(table)
    console.print(f"{len(page)} of {total:,} suggestions.")


@app.command("show")
@handle_errors
def show(suggestion_id: int, city: str | None = CityOption) -> None:
    """Show one suggestion with its response and (for the operator) its author."""
    with open_session() as session:
        where = city_for(session, city)
        view = service.internal_view(session, CLI_ACTOR, service.get(session, where, suggestion_id))
    console.print(f"[bold]#{view['id']} {escape(view['title'])}[/] ({view['status']})")
    district = view["district"]["name"] if view["district"] else "no district"
    console.print(
        f"{view['category']} · {escape(district)} · {view['votes']} votes · "
        f"filed {view['created_at']}"
    )
    console.print(escape(view["body"]))
    response = view["response"]
    if response:
        console.print(
            f"[bold]Response[/] ({response['outcome']}, {escape(response['responder'])}, "
            f"{response['responded_at']}): {escape(response['text'])}"
        )
    internal = view.get("internal") or {}
    if internal.get("author_name") or internal.get("author_contact"):
        console.print(
            f"Author (personal, not public): {escape(str(internal.get('author_name') or '-'))} "
            f"{escape(str(internal.get('author_contact') or ''))}"
        )


@app.command("respond")
@handle_errors
def respond(
    suggestion_id: int,
    text: str = typer.Option(..., "--text", help="The official response."),
    outcome: str = typer.Option(..., "--outcome", help="answered, adopted or declined."),
    responder: str = typer.Option(..., "--responder", help="Who answers, e.g. the department."),
    as_user: str | None = typer.Option(None, "--as", help="Answer as this staff account."),
    city: str | None = CityOption,
) -> None:
    """Record the city's official response to a suggestion."""
    with open_session() as session:
        where = city_for(session, city)
        viewer = accounts.viewer_for(accounts.get_user(session, as_user)) if as_user else CLI_ACTOR
        found = service.get(session, where, suggestion_id)
        service.respond(session, viewer, found, text=text, outcome=outcome, responder=responder)
    console.print(f"Suggestion {suggestion_id} is now {outcome}.")


@app.command("import")
@handle_errors
def import_command(
    file: Path,
    mapping: list[str] = typer.Option(
        [], "--map", help="field=column, e.g. --map title=제목 (repeatable)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row; store nothing."),
    city: str | None = CityOption,
) -> None:
    """Import suggestions from a CSV file; one rejected row stores none."""
    with open_session() as session:
        where = city_for(session, city)
        report = importer.import_csv(
            session,
            CLI_ACTOR,
            where,
            file,
            mapping=importer.parse_mapping(mapping),
            dry_run=dry_run,
        )
        if dry_run or report.rejected:
            session.rollback()
    if report.rejected:
        console.print(
            f"[red]{len(report.rejected):,} of {report.rows:,} rows rejected; nothing stored.[/]"
        )
        for reject in report.rejected[:50]:
            console.print(f"  line {reject.line}: {escape(reject.reason)}")
        raise typer.Exit(1)
    if dry_run:
        console.print(f"All {report.rows:,} rows are valid; would store {report.rows:,}.")
    else:
        console.print(f"Stored {report.stored:,} suggestions (batch {report.batch}).")
