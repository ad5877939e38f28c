"""`citymeter cities`: add, list and show cities."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.cli.common import CLI_ACTOR, console, handle_errors, open_session
from citymeter.places import service
from citymeter.settings import get_settings

app = typer.Typer(help="Add, list and show cities.", no_args_is_help=True)


@app.command("add")
@handle_errors
def add(
    code: str = typer.Argument(..., help="The city's code, e.g. its official code 3611000000."),
    name: str = typer.Argument(..., help="The city's name in its default language."),
    name_en: str | None = typer.Option(None, "--name-en", help="The English name."),
    country: str | None = typer.Option(None, help="ISO 3166 two-letter country code, e.g. KR."),
    timezone: str | None = typer.Option(
        None, help="IANA time zone (default: the CITYMETER_TIMEZONE setting)."
    ),
    language: str = typer.Option("ko", help="Language tag of NAME."),
    area_code: str | None = typer.Option(
        None, help="Code of the city's own root area (default: CODE)."
    ),
) -> None:
    """Add a city and its city-level root area (imported top-level areas go under it)."""
    names = {language: name, **({"en": name_en} if name_en else {})}
    with open_session() as session:
        city = service.create_city(
            session,
            CLI_ACTOR,
            code=code,
            name=name,
            names=names,
            country=country.upper() if country else None,
            timezone=timezone or get_settings().timezone,
            default_language=language,
            root_area_code=area_code,
        )
        root = service.root_area_of(session, city)
        console.print(
            f"Added city [bold]{city.name}[/] ({city.code}) with root area "
            f"{root.code if root else '-'}."
        )


@app.command("list")
@handle_errors
def list_() -> None:
    """List the cities."""
    with open_session() as session:
        table = Table("code", "name", "names", "country", "time zone", "areas")
        for city in service.list_cities(session):
            others = ", ".join(f"{k}: {v}" for k, v in city.names.items() if v != city.name)
            table.add_row(
                city.code,
                city.name,
                others,
                city.country or "",
                city.timezone,
                str(len(service.list_areas(session, city))),
            )
        console.print(table)


@app.command("show")
@handle_errors
def show(code: str = typer.Argument(..., help="The city's code.")) -> None:
    """Show a city and how many areas it has at each level."""
    with open_session() as session:
        city = service.get_city(session, code)
        console.print(f"[bold]{city.name}[/] ({city.code})")
        for tag, value in city.names.items():
            console.print(f"  name \\[{escape(tag)}]: {escape(value)}")
        console.print(f"  country: {city.country or '-'}   time zone: {city.timezone}")
        levels: dict[str, int] = {}
        for area in service.list_areas(session, city):
            levels[area.level] = levels.get(area.level, 0) + 1
        table = Table("level", "areas")
        for level, count in levels.items():
            table.add_row(level, str(count))
        console.print(table)
