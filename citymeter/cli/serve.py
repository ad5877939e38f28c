"""`citymeter serve`: run the web app with uvicorn."""

from __future__ import annotations

import typer
import uvicorn

from citymeter.cli.common import engine_from_settings, ensure_migrated, handle_errors
from citymeter.settings import get_settings


@handle_errors
def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int | None = typer.Option(None, help="Port (default from settings)."),
) -> None:
    """Serve the dashboard, pages and API."""
    from citymeter.web.app import create_app

    settings = get_settings()
    engine = engine_from_settings()
    ensure_migrated(engine)
    app = create_app(settings, engine)
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")
