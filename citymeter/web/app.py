"""The app factory: one FastAPI app serving the JSON API, the pages and the static files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from citymeter import __version__
from citymeter.connectors.runner import embedded_runner
from citymeter.db.engine import WRITE_INTENT, make_engine, make_sessionmaker
from citymeter.live.bus import bus_lifespan
from citymeter.runtime import tune_garbage_collector
from citymeter.settings import Settings, get_settings
from citymeter.web import api, pages, problems
from citymeter.web.api import search as search_api
from citymeter.web.api.ngsi_lane import NgsiUpdateLane
from citymeter.web.api.open311_lane import Open311FilingLane
from citymeter.web.limits import BodySizeLimit
from citymeter.web.pages import assessment as assessment_pages
from citymeter.web.pages import (
    complaint_pages,
    incident_pages,
    indicator_pages,
    pledge_pages,
    suggestion_pages,
)
from citymeter.web.pages import opendata as opendata_pages

STATIC_DIR = Path(__file__).parent / "static"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start and stop what runs beside the requests: the live event bus, the connector runner."""
    tune_garbage_collector()
    async with bus_lifespan(app.state.settings):
        with embedded_runner(app.state.settings, app.state.engine) as runner:
            app.state.runner = runner
            yield


class CityMeterApp(FastAPI):
    """FastAPI with the write lanes in front of FastAPI's own middleware (its telemetry check,
    which reads the environment on each request, its error and exception layers): a lane
    answers its own errors, so each request it takes skips them. The rest goes through."""

    lanes: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.lanes is not None and scope["type"] == "http":
            await self.lanes(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def behind_lanes(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app itself, for what the lanes do not take."""
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.resolved_database_url)
    app = CityMeterApp(
        title="CityMeter API",
        version=__version__,
        description="City data, indicators and certification. Errors are application/problem+json.",
        openapi_url="/api/v1/openapi.json",
        # FastAPI's built-in docs pages load their scripts from a CDN; CityMeter works offline.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    # Sessions of requests that write begin with SQLite's write lock taken (no-op elsewhere).
    app.state.write_engine = engine.execution_options(**WRITE_INTENT)
    problems.install(app)
    for router in api.ROUTERS:
        app.include_router(router)
    for router in pages.ROUTERS:
        app.include_router(router)
    app.include_router(assessment_pages.router)
    app.include_router(indicator_pages.router)
    app.include_router(incident_pages.router)
    app.include_router(complaint_pages.router)
    app.include_router(pledge_pages.router)
    app.include_router(suggestion_pages.router)
    app.include_router(opendata_pages.router)
    app.include_router(search_api.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The size limit covers the routes (inside FastAPI's error layer, which would answer its
    # exception with a 500) and, in front of everything, the write lanes: a request they do not
    # take is counted by both, and refused by whichever sees the excess first, with the same 413.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    lanes: ASGIApp = Open311FilingLane(app.behind_lanes, owner=app)
    lanes = NgsiUpdateLane(lanes, owner=app)
    app.lanes = BodySizeLimit(lanes, max_bytes=settings.max_upload_bytes)
    return app
