"""`citymeter areas`: import boundaries, list and show areas, find the area of a point."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.cli.common import CLI_ACTOR, console, handle_errors, open_session
from citymeter.errors import InvalidInput
from citymeter.places import boundaries, locator, service

app = typer.Typer(
    help="Import area boundaries, list and show areas, find the area of a point.",
    no_args_is_help=True,
)


def _date(value: str | None, option: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} {value!r} is not a date like 2021-04-01.") from None


@app.command("import")
@handle_errors
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A GeoJSON file."),
    city: str | None = typer.Option(None, help="City code (default: the only city)."),
    level: str = typer.Option(..., help="Level of these areas, e.g. district or neighbourhood."),
    code_field: str = typer.Option(..., help="Property holding each area's code."),
    name_field: str = typer.Option(..., help="Property holding each area's name."),
    name_language: str | None = typer.Option(
        None, help="Language tag of --name-field (default: the city's language)."
    ),
    name_field_en: str | None = typer.Option(None, help="Property holding the English name."),
    name_field_lang: list[str] = typer.Option(
        [], help="More names: LANG=PROPERTY, e.g. zh-Hant=name_zh (repeatable)."
    ),
    name_pattern: str | None = typer.Option(
        None,
        help="Regex taking part of the name: group 'name', else group 1, e.g. '(\\S+)$' "
        "for the last word.",
    ),
    parent_field: str | None = typer.Option(None, help="Property holding the parent's code."),
    parent: str | None = typer.Option(
        None, help="One parent area code for all (default: the city's root area)."
    ),
    population_field: str | None = typer.Option(None, help="Property holding the population."),
    valid_from: str | None = typer.Option(None, help="First day these boundaries hold."),
    valid_to: str | None = typer.Option(None, help="Last day these boundaries hold."),
    crs: str | None = typer.Option(
        None, help="CRS of the coordinates, e.g. EPSG:5179 (default: the file's, else WGS84)."
    ),
) -> None:
    """Create or update areas from a GeoJSON FeatureCollection; all features or none."""
    names = boundaries.parse_name_fields(name_field_lang)
    if name_field_en:
        names["en"] = name_field_en
    options = boundaries.BoundaryImportOptions(
        level=level,
        code_field=code_field,
        name_field=name_field,
        name_language=name_language,
        extra_name_fields=names,
        name_pattern=name_pattern,
        parent_field=parent_field,
        parent_code=parent,
        population_field=population_field,
        valid_from=_date(valid_from, "--valid-from"),
        valid_to=_date(valid_to, "--valid-to"),
        crs=crs,
        source_name=file.name,
    )
    collection = boundaries.load_collection(file.read_bytes(), file.name)
    with open_session() as session:
        target = service.get_city(session, city)
        result = boundaries.import_boundaries(session, CLI_ACTOR, target, collection, options)
    table = Table("level", "features", "created", "updated", "CRS", title=f"{file.name}")
    table.add_row(
        result.level, str(result.features), str(result.created), str(result.updated), result.crs
    )
    console.print(table)
    under = ", ".join(f"{count} under {lvl}" for lvl, count in result.by_parent_level.items())
    console.print(f"Imported into {result.city_code}: {under}.")


@app.command("list")
@handle_errors
def list_(
    city: str | None = typer.Option(None, help="City code (default: the only city)."),
    level: str | None = typer.Option(None, help="Only this level."),
    parent: str | None = typer.Option(None, help="Only the children of this area code."),
) -> None:
    """List a city's areas."""
    with open_session() as session:
        target = service.get_city(session, city)
        parent_area = service.get_area(session, target, parent) if parent else None
        areas = service.list_areas(session, target, level=level, parent=parent_area)
        table = Table()
        table.add_column("code", no_wrap=True)
        for column in ("level", "name", "names", "parent", "km²", "population", "valid"):
            table.add_column(column)
        for area in areas:
            table.add_row(
                area.code,
                area.level,
                area.name,
                ", ".join(f"{k}: {v}" for k, v in area.names.items() if v != area.name),
                area.parent.code if area.parent else "",
                f"{area.area_km2:.2f}" if area.area_km2 is not None else "",
                f"{area.population:,}" if area.population is not None else "",
                f"{area.valid_from or '…'} – {area.valid_to or '…'}",
            )
        console.print(table)
        console.print(f"{len(areas)} areas in {target.name}.")


@app.command("show")
@handle_errors
def show(
    code: str = typer.Argument(..., help="The area's code."),
    city: str | None = typer.Option(None, help="City code (default: the city holding CODE)."),
) -> None:
    """Show one area: names, parents, size and validity."""
    with open_session() as session:
        if city is None:
            target, area = service.find_area_anywhere(session, code)
        else:
            target = service.get_city(session, city)
            area = service.get_area(session, target, code)
        console.print(f"[bold]{area.name}[/] ({area.code}), {area.level} of {target.name}")
        for tag, value in area.names.items():
            console.print(f"  name \\[{escape(tag)}]: {escape(value)}")
        chain = " → ".join(f"{a.name} ({a.code})" for a in service.ancestors(session, area))
        console.print(f"  parents: {chain or '-'}")
        if area.area_km2 is not None:
            console.print(
                f"  area: {area.area_km2:.2f} km²; a point inside: "
                f"{area.centroid_lat}, {area.centroid_lon}"
            )
        console.print(f"  population: {area.population if area.population is not None else '-'}")
        console.print(f"  valid: {area.valid_from or '…'} – {area.valid_to or '…'}")
        console.print(f"  boundary: {'yes' if area.boundary else 'none'}")


@app.command("lookup", context_settings={"ignore_unknown_options": True})
@handle_errors
def lookup(
    lat: float = typer.Argument(..., help="Latitude (WGS84)."),
    lon: float = typer.Argument(..., help="Longitude (WGS84)."),
    city: str | None = typer.Option(None, help="City code (default: the only city)."),
    date: str | None = typer.Option(None, help="Boundaries valid on this day (default: today)."),
) -> None:
    """Which area (and its parents) a latitude/longitude falls in."""
    with open_session() as session:
        target = service.get_city(session, city)
        found = locator.build_locator(session, target, _date(date, "--date")).locate(lat, lon)
    if found is None:
        console.print(f"({lat}, {lon}) is outside every area of {target.name}.")
        return
    for ref in found.chain:
        console.print(f"{ref.level:>14}  {ref.code}  {ref.name}")
