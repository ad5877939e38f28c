"""`citymeter entities`: live entities, their history, the dead letters and the entity types."""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.cli.common import CLI_ACTOR, console, handle_errors, open_session
from citymeter.entities import service
from citymeter.entities.types import all_entity_types
from citymeter.places import service as places

app = typer.Typer(
    help="Live entities (stations, road segments, parking lots, cameras), their history, the "
    "dead letters of refused readings and the entity types.",
    no_args_is_help=True,
)


def _value(attribute: dict[str, object]) -> str:
    value = attribute.get("value", attribute.get("object"))
    unit = attribute.get("unitCode")
    return f"{value} {unit}" if unit else str(value)


@app.command("list")
@handle_errors
def list_(
    entity_type: list[str] | None = typer.Option(None, "--type", "-t", help="Entity type(s)."),
    district: str | None = typer.Option(None, "--district", help="District area code."),
    limit: int = typer.Option(50, min=1, help="How many to show."),
    offset: int = typer.Option(0, min=0),
) -> None:
    """List entities with their district and latest values."""
    with open_session() as session:
        district_id = places.find_area_anywhere(session, district)[1].id if district else None
        rows, total = service.query_entities(
            session,
            CLI_ACTOR,
            types=entity_type,
            district_id=district_id,
            limit=limit,
            offset=offset,
        )
        table = Table(title=f"{total:,} entities")
        for column in ("id", "type", "district", "observed", "values"):
            table.add_column(column)
        for entity in rows:
            values = ", ".join(f"{k}={_value(v)}" for k, v in sorted(entity.attributes.items()))
            table.add_row(
                escape(entity.entity_id),
                entity.type,
                str(entity.district_id or "-"),
                entity.observed_at.isoformat() if entity.observed_at else "-",
                escape(values[:80]),
            )
        console.print(table)


@app.command("show")
@handle_errors
def show(entity_id: str = typer.Argument(..., help="The entity's URN.")) -> None:
    """Show one entity in NGSI-LD normalized form."""
    with open_session() as session:
        entity = service.get_entity(session, entity_id, CLI_ACTOR)
        console.print_json(json.dumps(service.to_normalized(entity), ensure_ascii=False))
        console.print(
            f"district {entity.district_id or '-'}, area {entity.area_id or '-'}, "
            f"visibility {entity.visibility}, modified {entity.modified_at.isoformat()}"
        )


@app.command("history")
@handle_errors
def history(
    entity_id: str = typer.Argument(..., help="The entity's URN."),
    attr: str | None = typer.Option(None, "--attr", "-a", help="Numeric attribute (default: all)."),
    start: dt.datetime | None = typer.Option(None, "--from", help="Start (UTC unless zoned)."),
    end: dt.datetime | None = typer.Option(None, "--to", help="End, exclusive."),
    grain: str = typer.Option("raw", "--grain", help="raw, hour or day."),
    last_n: int | None = typer.Option(None, "--last", min=1, help="Only the newest N."),
) -> None:
    """Print an attribute's time series: raw points or hourly/daily means."""
    start = start.replace(tzinfo=dt.UTC) if start and start.tzinfo is None else start
    end = end.replace(tzinfo=dt.UTC) if end and end.tzinfo is None else end
    with open_session() as session:
        points = service.entity_history(
            session, entity_id, attr, start, end, grain, last_n, viewer=CLI_ACTOR
        )
        table = Table(title=f"{escape(entity_id)} ({grain})")
        for column in ("attr", "at (UTC)", "value", "count", "min", "max"):
            table.add_column(column)
        for p in points:
            table.add_row(
                p.attr, p.at.isoformat(), f"{p.value:g}", str(p.count), f"{p.min:g}", f"{p.max:g}"
            )
        console.print(table)


@app.command("dead-letters")
@handle_errors
def dead_letters(
    channel: str | None = typer.Option(None, "--channel", help="http, mqtt, file, ngsi-ld ..."),
    limit: int = typer.Option(20, min=1),
    payload: bool = typer.Option(False, "--payload", help="Print each raw payload too."),
) -> None:
    """List what the channels refused, newest first, with the reason."""
    with open_session() as session:
        rows, total = service.list_dead_letters(session, channel=channel, limit=limit)
        console.print(f"{total:,} dead letter(s)")
        for letter in rows:
            console.print(
                f"#{letter.id} {letter.received_at:%Y-%m-%d %H:%M:%S} [bold]{letter.channel}[/] "
                f"{escape(letter.entity_id or '-')}: {escape(letter.reason)}"
            )
            if payload:
                console.print(escape(letter.payload[:2000]), soft_wrap=True)


@app.command("types")
@handle_errors
def types() -> None:
    """List the entity types and their attributes (kind, unit, allowed range)."""
    for entity_type in all_entity_types():
        table = Table(title=f"{entity_type.name} (version {entity_type.version})")
        for column in ("attribute", "kind", "unit", "allowed"):
            table.add_column(column)
        for name, spec in entity_type.attributes.items():
            if spec.values:
                allowed = ", ".join(spec.values)
            elif spec.min is not None or spec.max is not None:
                allowed = (
                    f"{spec.min:g} … {spec.max:g}" if spec.max is not None else f"≥ {spec.min}"
                )
            else:
                allowed = ""
            table.add_row(name, spec.kind, escape(spec.unit or ""), allowed)
        console.print(table)
