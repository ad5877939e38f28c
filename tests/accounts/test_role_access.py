"""Each role gets exactly what ROLE_PERMISSIONS grants on the accounts and audit routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.models import ROLES, ApiToken, AuditEntry, User
from citymeter.accounts.permissions import AUDIT_READ, ROLE_PERMISSIONS, USERS_MANAGE
from citymeter.web.deps import route_access

MakeUser = Callable[..., User]
Bearer = Callable[..., dict[str, str]]

# One sample call per route: (method, path) -> (concrete path, JSON body, success status).
SAMPLES: dict[tuple[str, str], tuple[str, dict[str, Any] | None, int]] = {
    ("GET", "/api/v1/users"): ("/api/v1/users", None, 200),
    ("POST", "/api/v1/users"): ("/api/v1/users", {"username": "new", "role": "official"}, 201),
    ("GET", "/api/v1/users/{username}"): ("/api/v1/users/target", None, 200),
    # before disable, which revokes every token of the user
    ("POST", "/api/v1/users/{username}/tokens/{name}/revoke"): (
        "/api/v1/users/target/tokens/old-token/revoke",
        None,
        200,
    ),
    ("POST", "/api/v1/users/{username}/disable"): ("/api/v1/users/target/disable", None, 200),
    ("POST", "/api/v1/users/{username}/enable"): ("/api/v1/users/target/enable", None, 200),
    ("GET", "/api/v1/users/{username}/tokens"): ("/api/v1/users/target/tokens", None, 200),
    ("POST", "/api/v1/users/{username}/tokens"): (
        "/api/v1/users/target/tokens",
        {"name": "new-token"},
        201,
    ),
    ("GET", "/api/v1/audit"): ("/api/v1/audit", None, 200),
}
EXPECTED_PERMISSION = {
    key: (AUDIT_READ if key[1].startswith("/api/v1/audit") else USERS_MANAGE) for key in SAMPLES
}


def _routes(client: TestClient) -> dict[tuple[str, str], set[str]]:
    found = {}
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        path = route.path or ""
        if isinstance(route.original_route, APIRoute) and path.startswith(
            ("/api/v1/users", "/api/v1/audit")
        ):
            for method in route.methods or ():
                found[(method, path)] = route_access(route.dependant)[1]
    return found


def test_the_samples_cover_every_accounts_route(client: TestClient) -> None:
    routes = _routes(client)
    assert set(routes) == set(SAMPLES), "add a sample call for each new users/audit route"
    for key, permissions in routes.items():
        assert permissions == {EXPECTED_PERMISSION[key]}, key


def _stored(db: Session) -> tuple[int, ...]:
    return tuple(
        db.scalar(select(func.count()).select_from(model)) or 0
        for model in (User, ApiToken, AuditEntry)
    )


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_permissions(
    client: TestClient, db: Session, make_user: MakeUser, bearer: Bearer, role: str
) -> None:
    make_user(role, username="caller")
    make_user("official", username="target")
    bearer("target")  # so the revoke call has something to revoke
    db.scalars(select(ApiToken)).one().name = "old-token"
    headers = bearer("caller")
    granted = ROLE_PERMISSIONS[role]
    for key, (path, body, success) in SAMPLES.items():
        before = _stored(db)
        response = client.request(key[0], path, json=body, headers=headers)
        if EXPECTED_PERMISSION[key] in granted:
            assert response.status_code == success, (key, response.text)
        else:
            assert response.status_code == 403, (key, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert role in response.json()["detail"]
            assert _stored(db) == before, f"{key} changed the store although refused"


@pytest.mark.parametrize("key", list(SAMPLES))
def test_anonymous_callers_get_401_everywhere(
    client: TestClient, make_user: MakeUser, key: tuple[str, str]
) -> None:
    make_user("official", username="target")
    path, body, _ = SAMPLES[key]
    response = client.request(key[0], path, json=body)
    assert response.status_code == 401
    assert response.json()["title"] == "Not authenticated"
