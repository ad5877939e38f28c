"""`citymeter db`: create and upgrade the store's schema."""

from __future__ import annotations

import typer

from citymeter.cli.common import console, engine_from_settings, handle_errors
from citymeter.db import migrate
from citymeter.errors import CityMeterError
from citymeter.settings import get_settings

app = typer.Typer(help="Create, upgrade and check the database schema.", no_args_is_help=True)


@app.command()
@handle_errors
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply the migrations shipped with CityMeter (safe to run again)."""
    engine = engine_from_settings()
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, revision)
    after = migrate.current_revision(engine)
    console.print(f"Database {get_settings().resolved_database_url.split('@')[-1]}")
    console.print(f"  at revision {after}" + (f" (was {before})" if before != after else ""))
    engine.dispose()


@app.command()
@handle_errors
def current() -> None:
    """Show the schema revision of the configured database."""
    engine = engine_from_settings()
    rev = migrate.current_revision(engine)
    console.print(f"current: {rev or '(empty)'}  head: {migrate.head_revision()}")
    engine.dispose()


@app.command()
@handle_errors
def check() -> None:
    """Fail if the models have changes that no migration covers (run in `make test`)."""
    import tempfile
    from pathlib import Path

    from citymeter.db.engine import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'check.db'}")
        migrate.upgrade(engine)
        diffs = migrate.pending_model_changes(engine)
        engine.dispose()
    if diffs:
        raise CityMeterError(
            "The models differ from the migrations; write a migration for: "
            + "; ".join(str(d) for d in diffs[:10])
        )
    console.print("Migrations match the models.")
