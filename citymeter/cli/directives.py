"""`citymeter directives`: issue, list, answer and close directives as a named account."""

from __future__ import annotations

import datetime as dt

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import Viewer
from citymeter.cli.common import console, handle_errors, open_session
from citymeter.directives import service
from citymeter.errors import InvalidInput
from citymeter.suggestions.service import city_for

app = typer.Typer(help="Directives: list, issue, answer, close.", no_args_is_help=True)

CityOption = typer.Option(None, "--city", help="City code (default: the first city).")
# Directives carry who gave and who answered them, so every command acts as a real account.
AsOption = typer.Option(..., "--as", help="The account acting (e.g. mayor, a district head).")


def _viewer(session: Session, username: str) -> Viewer:
    return accounts.viewer_for(accounts.get_user(session, username))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD).") from None


@app.command("list")
@handle_errors
def list_command(
    as_user: str = AsOption,
    status: str | None = typer.Option(None, help="issued, acknowledged, answered, closed"),
    department: str | None = typer.Option(None, help="Only this department."),
    overdue: bool = typer.Option(False, "--overdue", help="Only overdue ones."),
    city: str | None = CityOption,
) -> None:
    """List the directives the account may see, earliest due first."""
    with open_session() as session:
        viewer = _viewer(session, as_user)
        where = city_for(session, city, viewer)
        rows = [
            service.describe(session, d, where)
            for d in service.list_directives(
                session, viewer, where, status=status, department=department, overdue=overdue
            )
        ]
    table = Table("id", "due", "status", "department", "district", "subject", "title")
    for row in rows:
        status_text = row["status"] + (" [red](overdue)[/]" if row["overdue"] else "")
        subject = row["subject"]["kind"]
        table.add_row(
            str(row["id"]),
            row["due_on"],
            status_text,
            escape(row["department"]),
            escape(row["district"]["name"]) if row["district"] else "-",
            subject,
            escape(row["title"]),
        )
    console.print(table)
    console.print(f"{len(rows)} directives.")


@app.command("issue")
@handle_errors
def issue(
    as_user: str = AsOption,
    department: str = typer.Option(..., help="The department that must act."),
    title: str = typer.Option(..., help="A short title."),
    instruction: str = typer.Option(..., help="What to do."),
    due: str = typer.Option(..., help="Due date (YYYY-MM-DD)."),
    district: str | None = typer.Option(None, help="District area code."),
    incident: str | None = typer.Option(None, help="About this incident number."),
    complaint: list[str] = typer.Option([], help="About these complaint ids (repeatable)."),
    service_code: str | None = typer.Option(None, "--service-code", help="About a complaint type."),
    indicator: str | None = typer.Option(None, help="About this indicator code."),
    city: str | None = CityOption,
) -> None:
    """Issue a directive to a department."""
    with open_session() as session:
        viewer = _viewer(session, as_user)
        where = city_for(session, city, viewer)
        created = service.issue(
            session,
            viewer,
            where,
            service.NewDirective(
                department=department,
                title=title,
                instruction=instruction,
                due_on=_date(due),
                district_code=district,
                incident=incident,
                complaints=tuple(complaint),
                service_code=service_code,
                indicator=indicator,
            ),
        )
        number = created.id
    console.print(f"Issued directive {number} to {escape(department)}, due {due}.")


@app.command("answer")
@handle_errors
def answer(
    directive_id: int,
    as_user: str = AsOption,
    text: str = typer.Option(..., "--text", help="The department's answer."),
) -> None:
    """Answer a directive on behalf of the department."""
    with open_session() as session:
        viewer = _viewer(session, as_user)
        service.answer(session, viewer, service.get(session, viewer, directive_id), text)
    console.print(f"Directive {directive_id} answered.")


@app.command("close")
@handle_errors
def close(
    directive_id: int,
    as_user: str = AsOption,
    note: str = typer.Option("", "--note", help="A closing note."),
) -> None:
    """Close an answered directive."""
    with open_session() as session:
        viewer = _viewer(session, as_user)
        service.close(session, viewer, service.get(session, viewer, directive_id), note)
    console.print(f"Directive {directive_id} closed.")
