"""`citymeter trends`: the topics rising this week, and one term's series."""

from __future__ import annotations

import datetime as dt

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.cli.common import console, handle_errors, open_session
from citymeter.errors import InvalidInput
from citymeter.suggestions.service import city_for
from citymeter.trends import service

app = typer.Typer(help="Topic trends: rising terms and term series.", no_args_is_help=True)

CityOption = typer.Option(None, "--city", help="City code (default: the first city).")


@app.command("rising")
@handle_errors
def rising(
    city: str | None = CityOption,
    district: str | None = typer.Option(None, help="District area code (default: whole city)."),
    weeks: int = typer.Option(4, help="Earlier weeks to compare with."),
    as_of: str | None = typer.Option(None, "--as-of", help="Last day of the week (YYYY-MM-DD)."),
    min_count: int = typer.Option(3, "--min-count", help="Texts a term needs this week."),
    limit: int = typer.Option(20, help="How many terms."),
) -> None:
    """Terms rising most this week against the weeks before."""
    day = _date(as_of)
    with open_session() as session:
        report = service.rising(
            session,
            city_for(session, city),
            district_code=district,
            as_of=day,
            weeks=weeks,
            min_count=min_count,
            limit=limit,
        )
    console.print(
        f"Rising {report.week_start} – {report.week_end} ({report.documents:,} texts) against "
        f"the {report.weeks} weeks before"
        + (f", district {report.district}" if report.district else "")
    )
    table = Table("term", "this week", "weekly average before", "ratio")
    for term in report.terms:
        table.add_row(
            escape(term.term), str(term.count), f"{term.baseline:.1f}", f"{term.ratio:.1f}"
        )
    console.print(table)
    if not report.terms:
        console.print("No term rose above the minimum count.")


@app.command("term")
@handle_errors
def term(
    text: str,
    city: str | None = CityOption,
    district: str | None = typer.Option(None, help="District area code."),
    grain: str = typer.Option("week", help="day or week."),
) -> None:
    """How many texts mentioned a word or two-word phrase, per day or week."""
    with open_session() as session:
        found = service.series(
            session, city_for(session, city), text, grain=grain, district_code=district
        )
    table = Table(grain, "texts")
    for period, count in found.points:
        table.add_row(period.isoformat(), str(count))
    console.print(f"{escape(found.term)}:")
    console.print(table)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD).") from None
