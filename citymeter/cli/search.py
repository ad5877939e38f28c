"""`citymeter search "강남구 미세먼지"`: where a command would lead."""

from __future__ import annotations

import typer

from citymeter.accounts.permissions import SYSTEM_VIEWER


def run(
    command: str = typer.Argument(..., help="The command, in Korean or English."),
    city: str | None = typer.Option(None, help="City code (default: the only or first city)."),
    lang: str | None = typer.Option(None, help="Reply language, ko or en (default: detected)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
) -> None:
    """Print where a command typed in the search box would go, with what was recognised.

    Run as the operator: internal indicators are known too."""
    from rich.markup import escape

    from citymeter.cli.common import console, handle_errors, open_session
    from citymeter.search import service
    from citymeter.search.schemas import CommandResultPublic

    @handle_errors
    def _run() -> None:
        if lang not in (None, "ko", "en"):
            raise typer.BadParameter("use ko or en", param_hint="--lang")
        with open_session() as session:
            result = service.run_command(session, SYSTEM_VIEWER, command, lang=lang, city=city)
        if as_json:
            console.print_json(CommandResultPublic.of(result).model_dump_json())
            return
        if result.url is None:
            console.print(f"[yellow]{escape(result.label)}[/]: {escape(command)}")
        else:
            console.print(
                f"{escape(result.url)}  [dim]({escape(result.label)}; "
                f"confidence {result.confidence:.2f})[/]"
            )
        for part in result.parts:
            mark = " ~" if part.fuzzy else ""
            console.print(f"  {escape(part.text)!s:<20} {part.kind:<18} {escape(part.label)}{mark}")
        if result.unmatched:
            console.print(f"  not understood: {escape(', '.join(result.unmatched))}")
        for s in result.suggestions:
            console.print(f"  did you mean {escape(s.label)} → {escape(s.url)}")

    _run()
