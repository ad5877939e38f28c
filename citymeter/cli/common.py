"""What every command shares: opening the store, turning service errors into messages."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.db import migrate
from citymeter.db.engine import WRITE_INTENT, make_engine, make_sessionmaker
from citymeter.errors import CityMeterError
from citymeter.settings import get_settings

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

# Commands run by the operator on the server act as the installation itself.
CLI_ACTOR = Viewer(user_id=None, username="cli", role="admin")


def engine_from_settings() -> Engine:
    return make_engine(get_settings().resolved_database_url)


def ensure_migrated(engine: Engine) -> None:
    current = migrate.current_revision(engine)
    head = migrate.head_revision()
    if current != head:
        where = f"revision {current}" if current else "an empty database"
        raise CityMeterError(
            f"The database is at {where}; this CityMeter expects {head}. "
            "Run `citymeter db upgrade` first."
        )


@contextmanager
def open_session() -> Iterator[Session]:
    """A session on the configured store, in one transaction committed at the end."""
    engine = engine_from_settings()
    try:
        ensure_migrated(engine)
        with make_sessionmaker(engine)() as session:
            # CLI commands mostly write: take the write lock up front (see db/engine.py).
            session.connection(execution_options=WRITE_INTENT)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        engine.dispose()


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Service errors become one red line and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CityMeterError as exc:
            # Messages are plain text: escape them so "[a-b]" in a message is not read as markup.
            err_console.print(f"[bold red]Error:[/] {escape(exc.message)}")
            for line in exc.details.get("errors", [])[:20]:
                err_console.print(f"  - {escape(str(line))}")
            raise typer.Exit(1) from None

    return wrapper
