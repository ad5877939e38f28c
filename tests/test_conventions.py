"""Architecture rules as tests: every route is authorised or explicitly public."""

from __future__ import annotations

from fastapi.routing import APIRoute, iter_route_contexts

from citymeter.accounts.permissions import ALL_PERMISSIONS
from citymeter.settings import Settings
from citymeter.web.app import create_app
from citymeter.web.deps import route_access


def test_every_route_requires_a_permission_or_is_declared_public(tmp_path: object) -> None:
    app = create_app(Settings(data_dir=tmp_path, secret_key="x"))  # type: ignore[arg-type]
    undeclared = []
    checked = []
    # FastAPI >= 0.13x keeps included routers unflattened in app.routes; iter_route_contexts
    # walks into them and gives each route's effective path and dependencies.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        checked.append(route.path)
        is_public, permissions = route_access(route.dependant)
        if not is_public and not permissions:
            undeclared.append(f"{sorted(route.methods or ())} {route.path}")
        assert permissions <= ALL_PERMISSIONS, f"{route.path} names an unknown permission"
    assert "/api/v1/auth/me" in checked, "the walk found no API routes; the check would be empty"
    assert undeclared == []
