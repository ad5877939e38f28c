"""`citymeter sources`: the registry of connected systems, their health, and running one now."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from citymeter.cli.common import (
    CLI_ACTOR,
    console,
    engine_from_settings,
    ensure_migrated,
    err_console,
    handle_errors,
    open_session,
)
from citymeter.connectors.base import default_registry
from citymeter.connectors.runner import Runner, RunOutcome
from citymeter.db.engine import make_sessionmaker
from citymeter.errors import InvalidInput
from citymeter.settings import get_settings
from citymeter.sources import service
from citymeter.sources.schemas import SourceCreate

app = typer.Typer(
    help="Connected systems: list, add, show, disable, enable, run now.", no_args_is_help=True
)

# Text first, so the state never depends on seeing colour.
BADGE = {
    "fresh": "[green]● fresh[/]",
    "late": "[yellow]◐ late[/]",
    "stale": "[red]○ stale[/]",
    "failing": "[bold red]✕ failing[/]",
    "unknown": "[dim]– no data yet[/]",
}


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "-"


def _config(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    raw = Path(text[1:]).read_text("utf-8") if text.startswith("@") else text
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--config is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInput('--config must be a JSON object, e.g. \'{"path": "data.json"}\'.')
    return value


@app.command("list")
@handle_errors
def list_sources() -> None:
    """Every source with its freshness and today's counts."""
    tz = get_settings().timezone
    with open_session() as session:
        rows = [
            service.describe(session, CLI_ACTOR, s, tz=tz)
            for s in service.visible_sources(session, CLI_ACTOR)
        ]
    if not rows:
        console.print("No sources yet. Add one with `citymeter sources add`.")
        return
    table = Table("code", "name", "kind", "state", "last success", "today in/ok/rejected", "on")
    for row in rows:
        today = row.health.today
        table.add_row(
            escape(row.code),
            escape(row.name),
            row.kind,
            BADGE[row.health.freshness],
            _when(row.health.last_success_at),
            f"{today.records_in}/{today.accepted}/{today.rejected}",
            "yes" if row.enabled else "no",
        )
    console.print(table)


@app.command("add")
@handle_errors
def add(
    code: str = typer.Argument(..., help="Short stable code: a-z, 0-9, '.', '-', '_'."),
    name: str = typer.Option(..., "--name", help="What people call the system."),
    kind: str = typer.Option(
        ..., "--kind", help="Connector kind: file, http_pull, http_push, mqtt, or a plugin's."
    ),
    department: str | None = typer.Option(None, "--department", help="Owning department."),
    description: str | None = typer.Option(None, "--description"),
    visibility: str = typer.Option("public", "--visibility", help="public or internal."),
    interval: int | None = typer.Option(
        None, "--interval", help="Expected seconds between updates (drives freshness)."
    ),
    schedule: str | None = typer.Option(
        None, "--schedule", help="'300', '5m', '1h' or cron fields; default: the interval."
    ),
    timeout: int = typer.Option(60, "--timeout", help="Seconds one attempt may take."),
    retries: int = typer.Option(3, "--retries", help="Retries after a failed attempt."),
    config: str | None = typer.Option(
        None, "--config", help="Connector config as JSON, or @file.json (see docs/connectors.md)."
    ),
    disabled: bool = typer.Option(False, "--disabled", help="Add it switched off."),
) -> None:
    """Register a connected system."""
    try:
        body = SourceCreate(
            code=code,
            name=name,
            kind=kind,
            department=department,
            description=description,
            visibility=visibility,
            expected_interval_s=interval,
            schedule=schedule,
            timeout_s=timeout,
            max_retries=retries,
            config=_config(config),
            enabled=not disabled,
        )
    except ValueError as exc:
        raise InvalidInput(f"The source is not valid: {exc}") from None
    with open_session() as session:
        source = service.add_source(session, CLI_ACTOR, body)
        console.print(f"Added source [bold]{escape(source.code)}[/] ({source.kind}).")


@app.command("show")
@handle_errors
def show(code: str = typer.Argument(..., help="The source's code.")) -> None:
    """A source's settings, health, last seven days and latest runs."""
    tz = get_settings().timezone
    with open_session() as session:
        source = service.get_source(session, CLI_ACTOR, code)
        out = service.describe_detail(session, CLI_ACTOR, source, tz=tz)
    h = out.health
    console.print(
        f"[bold]{escape(out.code)}[/] — {escape(out.name)} ({out.kind}, {out.visibility})"
    )
    console.print(f"Department: {escape(out.department or '-')}  Enabled: {out.enabled}")
    every = f"every {out.expected_interval_s} s" if out.expected_interval_s else "on request"
    console.print(
        f"Schedule: {out.schedule or every}"
        f"  Expected interval: {out.expected_interval_s or '-'} s"
        f"  Timeout: {out.timeout_s} s  Retries: {out.max_retries}"
    )
    console.print(f"State: {BADGE[h.freshness]} — {h.freshness_text}")
    console.print(f"Last success: {_when(h.last_success_at)}  Last data: {_when(h.last_data_at)}")
    console.print(f"Next run: {_when(h.next_run_at)}")
    if h.last_error:
        console.print(
            f"Last error ({_when(h.last_error_at)}, {h.consecutive_failures} in a row): "
            f"{escape(h.last_error)}"
        )
    console.print(f"Config: {escape(json.dumps(out.config, ensure_ascii=False))}")
    days = Table("day", "in", "accepted", "rejected", "runs", "failures", title="Last 7 days")
    for d in out.days:
        days.add_row(
            str(d.day),
            str(d.records_in),
            str(d.accepted),
            str(d.rejected),
            str(d.runs),
            str(d.failures),
        )
    console.print(days)
    if out.runs:
        runs = Table("finished", "status", "attempts", "in/ok/rejected", "message", title="Runs")
        for r in out.runs:
            runs.add_row(
                _when(r.finished_at),
                r.status,
                str(r.attempts),
                f"{r.records_in}/{r.accepted}/{r.rejected}",
                escape((r.message or "")[:80]),
            )
        console.print(runs)


@app.command("disable")
@handle_errors
def disable(code: str = typer.Argument(..., help="The source's code.")) -> None:
    """Stop running a source (its data and health stay)."""
    with open_session() as session:
        service.set_enabled(session, CLI_ACTOR, code, enabled=False)
    console.print(f"Source {escape(code)} disabled.")


@app.command("enable")
@handle_errors
def enable(code: str = typer.Argument(..., help="The source's code.")) -> None:
    """Run a disabled source again."""
    with open_session() as session:
        service.set_enabled(session, CLI_ACTOR, code, enabled=True)
    console.print(f"Source {escape(code)} enabled.")


@app.command("kinds")
@handle_errors
def kinds() -> None:
    """The connector kinds installed (entry-point group citymeter.connectors)."""
    registry = default_registry()
    for kind in registry.kinds():
        console.print(f"{kind}\t{registry.target(kind)}")


def _print_outcome(outcome: RunOutcome) -> None:
    r = outcome.result
    line = (
        f"{escape(outcome.code)}: {outcome.status} after {outcome.attempts} attempt(s); "
        f"{r.records_in} in, {r.accepted} accepted, {r.rejected} rejected"
    )
    if outcome.message:
        line += f" — {escape(outcome.message)}"
    (console if outcome.ok or outcome.status == "skipped" else err_console).print(line)


@app.command("run")
@handle_errors
def run(
    code: str | None = typer.Argument(None, help="The source to run now."),
    due: bool = typer.Option(False, "--due", help="Run every source that is due instead."),
) -> None:
    """Run a source now in this process (retries and health as in the server's runner)."""
    if (code is None) == (not due):
        raise InvalidInput("Give a source CODE, or --due to run every due source.")
    engine = engine_from_settings()
    try:
        ensure_migrated(engine)
        runner = Runner(make_sessionmaker(engine), tz=get_settings().timezone)
        try:
            outcomes = runner.run_due() if due else [runner.run_source(str(code))]
        finally:
            runner.stop()
    finally:
        engine.dispose()
    if not outcomes:
        console.print("No source is due.")
    for outcome in outcomes:
        _print_outcome(outcome)
    if any(o.status in ("failed", "timeout") for o in outcomes):
        raise typer.Exit(1)
