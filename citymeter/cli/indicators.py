"""`citymeter indicators`: packs and definitions, and the values computed from the store."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.accounts.permissions import PUBLIC_VIEWER
from citymeter.cli.common import console, handle_errors, open_session
from citymeter.errors import InvalidInput
from citymeter.indicators import catalog, checks, engine, export, loader, service
from citymeter.settings import get_settings

app = typer.Typer(
    help="Indicator definitions, packs and computed values: list, show, validate, compute, "
    "values, export, coverage, check.",
    no_args_is_help=True,
)


@app.command("packs")
@handle_errors
def packs() -> None:
    """List the indicator packs shipped with CityMeter."""
    table = Table("id", "version", "name", "indicators", "themes")
    for summary in catalog.pack_summaries():
        table.add_row(summary.id, str(summary.version), escape(summary.name),
                      str(summary.indicators), str(summary.themes))  # fmt: skip
    console.print(table)


@app.command("list")
@handle_errors
def list_(
    pack: str | None = typer.Option(None, "--pack", help="A shipped pack id or a pack file."),
    theme: str | None = typer.Option(None, "--theme", help="A theme code (any level of the tree)."),
    sdg: str | None = typer.Option(
        None, "--sdg", help="An SDG goal (11), target (11.6) or indicator (11.6.2)."
    ),
) -> None:
    """List indicator definitions, filtered by pack, theme or SDG."""
    rows = catalog.list_indicators(pack=pack, theme=theme, sdg=sdg)
    table = Table("pack", "code", "name", "unit", "theme", "SDG")
    for row in rows:
        table.add_row(row.pack, row.code, escape(row.name), escape(row.unit), row.theme, row.sdg)
    console.print(table)
    console.print(f"{len(rows)} indicators.")


@app.command("show")
@handle_errors
def show(
    code: str = typer.Argument(..., help="Indicator code."),
    pack: str | None = typer.Option(None, "--pack", help="The pack, when several define the code."),
) -> None:
    """Show one indicator definition: formula, derived unit, inputs, SDG links."""
    for line in catalog.describe_indicator(code, pack=pack):
        console.print(escape(line), highlight=False, soft_wrap=True)


@app.command("validate")
@handle_errors
def validate(
    file: Path = typer.Argument(..., help="A pack file or a file of indicator definitions."),
) -> None:
    """Check a pack or definition file; every error names the indicator and the field."""
    console.print(loader.validate_file(file))


@app.command("compute")
@handle_errors
def compute(
    pack: str | None = typer.Option(None, "--pack", help="A pack id (default: every pack)."),
    code: list[str] | None = typer.Option(None, "--code", help="Only this indicator (repeat)."),
    city: str | None = typer.Option(None, "--city", help="A city code (default: every city)."),
    full: bool = typer.Option(False, "--full", help="Recompute everything, not only changes."),
) -> None:
    """Compute indicator values from the stored inputs (incremental unless --full)."""
    with open_session() as session:
        reports = engine.compute_all(
            session, city_code=city, pack_id=pack, codes=code or None, full=full
        )
    for r in reports:
        console.print(
            f"{r.city} / {r.pack}: {r.mode}, {len(r.computed)} of {r.indicators} indicators "
            f"computed, {r.values_written} values stored in {r.seconds:.2f} s",
            highlight=False,
            soft_wrap=True,
        )
        for key, why in sorted(r.unresolved.items()):
            console.print(
                f"  unresolved input {escape(key)}: {escape(why)}", highlight=False, soft_wrap=True
            )
        for line in r.errors + r.problems:
            console.print(f"  [red]problem:[/] {escape(line)}", highlight=False, soft_wrap=True)


def _value_filters(
    city: str | None, area: str | None, level: str | None, period_from: str | None,
    period_to: str | None, grain: str | None, sex: str | None, age_band: str | None,
) -> dict[str, object]:  # fmt: skip
    def date(text: str | None, label: str) -> dt.date | None:
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text if len(text) > 7 else f"{text}-01"[:10])
        except ValueError:
            raise InvalidInput(f"{label} {text!r} is not a date (YYYY-MM-DD or YYYY-MM).") from None

    return {
        "city": city, "area": area, "level": level, "period_from": date(period_from, "--from"),
        "period_to": date(period_to, "--to"), "grain": grain, "sex": sex, "age_band": age_band,
    }  # fmt: skip


_CITY = typer.Option(None, "--city", help="City code.")
_AREA = typer.Option(None, "--area", help="Area code.")
_LEVEL = typer.Option(None, "--level", help="city, district or neighbourhood.")
_FROM = typer.Option(None, "--from", help="First period (YYYY-MM or YYYY-MM-DD).")
_TO = typer.Option(None, "--to", help="Last period.")
_GRAIN = typer.Option(None, "--grain", help="month, quarter or year.")
_SEX = typer.Option(None, "--sex", help="total, male or female.")
_AGE = typer.Option(None, "--age-band", help="An age band such as 65+ or total.")
_PACK = typer.Option(None, "--pack", help="The pack, when several define the code.")


@app.command("values")
@handle_errors
def values(
    code: str = typer.Argument(..., help="Indicator code."),
    pack: str | None = _PACK,
    city: str | None = _CITY,
    area: str | None = _AREA,
    level: str | None = _LEVEL,
    period_from: str | None = _FROM,
    period_to: str | None = _TO,
    grain: str | None = _GRAIN,
    sex: str | None = _SEX,
    age_band: str | None = _AGE,
    limit: int = typer.Option(200, "--limit", help="Rows to show."),
) -> None:
    """Show computed values of one indicator (the public view: small cells suppressed)."""
    filters = _value_filters(city, area, level, period_from, period_to, grain, sex, age_band)
    with open_session() as session:
        rows = service.query_values(
            session, PUBLIC_VIEWER, code, pack=pack, limit=limit,
            min_count=get_settings().public_min_count, **filters,  # type: ignore[arg-type]
        )  # fmt: skip
    table = Table("area", "level", "period", "grain", "sex", "age", "value", "unit", "quality")
    for v in rows:
        shown = f"{v.value:,.4g}" if v.value is not None else f"suppressed: {v.suppressed}"
        table.add_row(
            escape(f"{v.area_name} ({v.area_code})"), v.area_level, str(v.period_start), v.grain,
            v.sex, v.age_band, escape(shown), escape(v.unit), v.quality,
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(rows)} values.")


@app.command("export")
@handle_errors
def export_(
    code: str = typer.Argument(..., help="Indicator code."),
    fmt: str = typer.Option("csv", "--format", help="csv, xlsx, json or sdg-csv."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
    pack: str | None = _PACK,
    city: str | None = _CITY,
    area: str | None = _AREA,
    level: str | None = _LEVEL,
    period_from: str | None = _FROM,
    period_to: str | None = _TO,
    grain: str | None = _GRAIN,
    sex: str | None = _SEX,
    age_band: str | None = _AGE,
) -> None:
    """Export one indicator's public values as CSV, XLSX, JSON or an SDG-data CSV."""
    if fmt not in export.FORMATS:
        raise InvalidInput(f"Format {fmt!r} is not one of {', '.join(export.FORMATS)}.")
    if fmt == "xlsx" and output is None:
        raise InvalidInput("XLSX is binary: give --output FILE.xlsx.")
    filters = _value_filters(city, area, level, period_from, period_to, grain, sex, age_band)
    with open_session() as session:
        _, definition = service.definition_for(code, pack, PUBLIC_VIEWER)
        rows = service.query_values(
            session, PUBLIC_VIEWER, code, pack=pack, limit=service.MAX_ROWS,
            min_count=get_settings().public_min_count, **filters,  # type: ignore[arg-type]
        )  # fmt: skip
    data, _media = export.render(rows, fmt, definition)
    if output is None:
        sys.stdout.write(data.decode())
    else:
        output.write_bytes(data)
        console.print(f"{len(rows)} values written to {escape(str(output))}.")


@app.command("coverage")
@handle_errors
def coverage(
    pack: str = typer.Option("administration", "--pack", help="A pack id or file."),
    city: str | None = _CITY,
) -> None:
    """How many of a pack's indicators the city reports, by theme and by tier."""
    with open_session() as session:
        result = service.coverage(session, PUBLIC_VIEWER, pack=pack, city=city)
    share = result.reported / result.defined * 100 if result.defined else 0.0
    console.print(
        f"{result.pack}: {result.reported} of {result.defined} indicators reported ({share:.0f} %)"
        + (f" for {result.city}" if result.city else ""),
        highlight=False,
    )
    for title, groups in (("theme", result.by_theme), ("tier", result.by_tier)):
        table = Table(title, "reported", "defined", "%")
        for g in groups:
            table.add_row(escape(g.name), str(g.reported), str(g.defined), f"{g.share:.0f}")
        console.print(table)


@app.command("check")
@handle_errors
def check(
    city: str = typer.Option(..., "--city", help="City code."),
    pack: str = typer.Option("administration", "--pack", help="A pack id or file."),
) -> None:
    """Run the pack's validation rules on the city's data and list every finding."""
    with open_session() as session:
        results = checks.run_checks(session, city=city, pack=pack)
    failed = 0
    for r in results:
        state = "passed" if r.passed else f"[red]{len(r.findings)} finding(s)[/]"
        if r.cells_checked == 0:
            state = "no data to check"
        console.print(
            f"{r.code} ({r.kind}): {state}, {r.cells_checked} cells checked — "
            f"{escape(r.description)}",
            highlight=False,
        )
        for f in r.findings[:20]:
            console.print(f"  {f.area_code} {f.period_start} {escape(f.detail)}", highlight=False)
        failed += 0 if r.passed else 1
    if not results:
        console.print("The pack has no validation rules.")
    console.print(f"{len(results)} rules, {failed} with findings.")
