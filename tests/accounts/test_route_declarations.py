"""The route-access walk that tests/test_conventions.py relies on really sees included routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.routing import APIRoute, iter_route_contexts

from citymeter.accounts.permissions import USERS_MANAGE
from citymeter.settings import Settings
from citymeter.web.app import create_app
from citymeter.web.deps import PublicViewer, route_access


def _access(tmp_path: Path, router: APIRouter) -> dict[str, tuple[bool, set[str]]]:
    app = create_app(Settings(data_dir=tmp_path, secret_key="x"))
    app.include_router(router)
    return {
        str(route.path): route_access(route.dependant)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
    }


def test_an_undeclared_route_is_seen_as_undeclared(tmp_path: Path) -> None:
    router = APIRouter(prefix="/api/v1/extra")

    @router.get("/open")
    def open_route(_: PublicViewer) -> dict[str, str]:
        return {}

    @router.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    access = _access(tmp_path, router)
    assert access["/api/v1/extra/open"] == (True, set())
    assert access["/api/v1/extra/forgotten"] == (False, set())
    assert access["/api/v1/users"] == (False, {USERS_MANAGE})
    assert access["/api/v1/auth/login"] == (True, set())
