"""`citymeter demo`: build the synthetic demo city and serve it."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table
from sqlalchemy import Engine

from citymeter.assessment.demo import build_certification_demo
from citymeter.cli.common import (
    CLI_ACTOR,
    console,
    engine_from_settings,
    handle_errors,
    open_session,
)
from citymeter.db import migrate
from citymeter.db.engine import make_sessionmaker
from citymeter.demo import build, citizens
from citymeter.demo import feeds as feeds_module
from citymeter.errors import InvalidInput
from citymeter.settings import Settings, get_settings


def _month(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise InvalidInput(f"--until wants a month like 2026-10, not {text!r}.") from None


@handle_errors
def run(
    seed: int = typer.Option(build.DEFAULT_SEED, help="Seed: the same seed builds the same city."),
    reset: bool = typer.Option(False, "--reset", help="Delete the demo city and build it again."),
    serve: bool = typer.Option(True, help="Start the server after building the city."),
    feeds: bool = typer.Option(
        True,
        help="Run the live simulator while serving: sensors (over MQTT if configured), "
        "complaints, incidents and suggestions.",
    ),
    host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int | None = typer.Option(None, help="Port (default from settings)."),
    months: int = typer.Option(build.DEFAULT_MONTHS, min=13, help="Months of statistics."),
    until: str | None = typer.Option(
        None, help="Last month of statistics, YYYY-MM (default: the last full month)."
    ),
) -> None:
    """Build the demo city (seeded, reproducible) unless it is there, list its accounts, serve."""
    settings = get_settings()
    end = _month(until)
    engine = engine_from_settings()
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    made: build.DemoBuild | None = None
    with open_session() as session:
        if reset and build.remove_demo_city(session, CLI_ACTOR):
            console.print("Removed the demo city.")
        city = build.demo_city(session)
        if city is None:
            with console.status("Building the demo city…"):
                made = build.build_demo_city(
                    session, CLI_ACTOR, seed=seed, end=end, months=months, activity=True
                )
            city = build.demo_city(session)
            assert city is not None
        accounts = build.ensure_demo_accounts(session, CLI_ACTOR, city, refresh=made is not None)
        certification = build_certification_demo(session, CLI_ACTOR)
        city_name = f"{city.name} ({city.names.get('en', city.code)})"
        city_code = city.code
        if serve and feeds:
            feeds_module.ensure_demo_source(session, CLI_ACTOR, settings.mqtt_url)
    if made is not None:
        console.print(
            f"Built [bold]{city_name}[/] from seed {made.seed} in {made.seconds:.1f} s: "
            f"{made.districts} districts, {made.neighbourhoods} neighbourhoods, "
            f"{made.rows_stored:,} observations ({made.first_month:%Y-%m} to "
            f"{made.last_month:%Y-%m})."
        )
        figures = made.figures
        console.print(
            f"Population {figures['population']:,.0f} · employment rate "
            f"{figures['employment_rate']}% (women {figures['women_employment_rate']}%) · "
            f"jobs created in 12 months {figures['jobs_created_12m']:,.0f} · "
            f"public rental housing {figures['public_rental_housing_12m']:,.0f}"
        )
        console.print(
            f"Citizen activity: {figures.get('complaints', 0):,.0f} complaints "
            f"({figures.get('complaints_open', 0):,.0f} open, "
            f"{figures.get('complaints_overdue', 0):,.0f} of them past their deadline; "
            f"{figures.get('complaints_closed_late', 0):,.0f} closed late) · "
            f"{figures.get('incidents', 0):,.0f} incidents "
            f"({figures.get('incidents_open', 0):,.0f} being worked on) · "
            f"{figures.get('opinion_suggestions', 0):,.0f} suggestions · "
            f"{figures.get('air_stations', 0):,.0f} air stations with "
            f"{figures.get('air_history_days', 0):,.0f} days of history"
        )
    else:
        console.print(
            f"The demo city {city_name} is built already (`citymeter demo --reset` rebuilds it)."
        )
    if certification is not None:
        console.print(
            f"Certification demo: rounds {', '.join(certification.rounds)}; "
            f"certificates {', '.join(certification.certificates)} (see /certificates)."
        )
    url = f"http://{host or settings.host}:{port or settings.port}/"
    table = Table(title=f"Demo accounts — log in at {url}login")
    for column in ("username", "password", "role", "district"):
        table.add_column(column)
    for account in accounts:
        table.add_row(account.username, account.password, account.role, account.district or "")
    console.print(table)
    if not serve:
        return
    console.print(f"Serving {city_name} at [bold]{url}[/] (Ctrl+C stops).")
    import uvicorn

    from citymeter.web.app import create_app

    engine = engine_from_settings()
    simulator = start_feeds(settings, engine, city_code, seed, url) if feeds else None
    try:
        uvicorn.run(
            create_app(settings, engine),
            host=host or settings.host,
            port=port or settings.port,
            log_level="warning",
        )
    finally:
        if simulator is not None:
            simulator.stop()


def start_feeds(
    settings: Settings, engine: Engine, city_code: str, seed: int, url: str
) -> feeds_module.FeedSimulator:
    """Start the live demo feeds beside the server (over MQTT when a broker is configured)."""
    simulator = feeds_module.FeedSimulator(
        make_sessionmaker(engine), city_code, mqtt_url=settings.mqtt_url, seed=seed, citizens=True
    )
    simulator.start()
    where = f"MQTT at {settings.mqtt_url}" if settings.mqtt_url else "in-process"
    console.print(
        f"Live feeds: {len(simulator.sites)} simulated sensors every "
        f"{simulator.interval:g} s ({where}); citizens file a complaint every "
        f"{citizens.COMPLAINT_EVERY_S[0]:g}-{citizens.COMPLAINT_EVERY_S[1]:g} s, an incident "
        f"every {citizens.INCIDENT_EVERY_S[0] / 60:g}-{citizens.INCIDENT_EVERY_S[1] / 60:g} min "
        f"and a suggestion every {citizens.SUGGESTION_EVERY_S[0] / 60:g}-"
        f"{citizens.SUGGESTION_EVERY_S[1] / 60:g} min; watch them with "
        f"curl -N {url.rstrip('/')}/api/v1/live"
    )
    return simulator
