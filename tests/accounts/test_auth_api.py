"""Logging in and out through the JSON API, CSRF for cookie sessions, 401 versus 403."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import service
from citymeter.accounts.models import ApiToken, User, WebSession
from citymeter.accounts.permissions import AUDIT_READ, USERS_MANAGE
from citymeter.db.base import utcnow
from citymeter.web.csrf import MISSING, WRONG

MakeUser = Callable[..., User]
Bearer = Callable[..., dict[str, str]]
PROBLEM = "application/problem+json"


def _login(client: TestClient, username: str, password: str) -> str:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["csrf_token"]
    assert isinstance(token, str)
    return token


def _user_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(User)) or 0


def test_me_answers_public_for_anonymous_callers(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response.json() == {
        "authenticated": False,
        "username": "public",
        "role": "public",
        "permissions": [],
        "user": None,
        "csrf_token": None,
    }


def test_login_sets_a_safe_cookie_and_logout_ends_the_session(
    client: TestClient, db: Session, make_user: MakeUser, password: str
) -> None:
    make_user("admin", password=password)
    response = client.post("/api/v1/auth/login", json={"username": "admin", "password": password})
    assert response.status_code == 200
    body = response.json()
    assert body["authenticated"] is True
    assert body["user"]["username"] == "admin"
    assert "password_hash" not in body["user"]
    assert USERS_MANAGE in body["permissions"] and AUDIT_READ in body["permissions"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("citymeter_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https below
    assert db.scalar(select(func.count()).select_from(WebSession)) == 1

    me = client.get("/api/v1/auth/me").json()
    assert me["username"] == "admin" and me["csrf_token"] == body["csrf_token"]
    assert client.get("/api/v1/users").status_code == 200

    response = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
    assert response.status_code == 204
    assert db.scalar(select(func.count()).select_from(WebSession)) == 0
    assert client.get("/api/v1/auth/me").json()["role"] == "public"
    assert client.get("/api/v1/users").status_code == 401


def test_cookie_is_secure_over_https(
    client: TestClient, make_user: MakeUser, password: str
) -> None:
    make_user("admin", password=password)
    client.base_url = client.base_url.copy_with(scheme="https")
    response = client.post("/api/v1/auth/login", json={"username": "admin", "password": password})
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]


def test_failed_login_is_generic_and_counted(
    client: TestClient, db: Session, make_user: MakeUser, password: str
) -> None:
    user = make_user("admin", password=password)
    wrong = client.post("/api/v1/auth/login", json={"username": "admin", "password": "nope-nope"})
    unknown = client.post("/api/v1/auth/login", json={"username": "ghost", "password": password})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["detail"] == service.LOGIN_FAILED
        assert "set-cookie" not in response.headers
    db.refresh(user)
    assert user.failed_logins == 1
    assert db.scalar(select(func.count()).select_from(WebSession)) == 0


def test_login_locks_after_repeated_failures(
    client: TestClient, make_user: MakeUser, password: str
) -> None:
    make_user("admin", password=password)
    for _ in range(service.MAX_FAILED_LOGINS):
        bad = {"username": "admin", "password": "guessing"}
        assert client.post("/api/v1/auth/login", json=bad).status_code == 401
    right = {"username": "admin", "password": password}
    response = client.post("/api/v1/auth/login", json=right)
    assert response.status_code == 401
    assert response.json()["detail"] == service.LOGIN_FAILED


def test_cookie_posts_need_the_csrf_token(
    client: TestClient, db: Session, make_user: MakeUser, password: str
) -> None:
    make_user("admin", password=password)
    csrf_token = _login(client, "admin", password)
    new_user = {"username": "newcomer", "role": "official"}
    before = _user_count(db)

    missing = client.post("/api/v1/users", json=new_user)
    assert missing.status_code == 403
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["detail"] == MISSING
    wrong = client.post("/api/v1/users", json=new_user, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert wrong.json()["detail"] == WRONG
    assert _user_count(db) == before

    allowed = client.post("/api/v1/users", json=new_user, headers={"X-CSRF-Token": csrf_token})
    assert allowed.status_code == 201, allowed.text
    assert _user_count(db) == before + 1
    # Reading needs no token.
    assert client.get("/api/v1/users").status_code == 200


def test_csrf_token_may_come_as_a_form_field(
    client: TestClient, db: Session, make_user: MakeUser, password: str
) -> None:
    make_user("admin", password=password)
    csrf_token = _login(client, "admin", password)
    response = client.post("/api/v1/auth/logout", data={"csrf_token": "forged"})
    assert response.status_code == 403
    response = client.post("/api/v1/auth/logout", data={"csrf_token": csrf_token})
    assert response.status_code == 204
    assert db.scalar(select(func.count()).select_from(WebSession)) == 0


def test_bearer_requests_need_no_csrf_token(
    client: TestClient, db: Session, make_user: MakeUser, bearer: Bearer
) -> None:
    make_user("admin")
    response = client.post(
        "/api/v1/users", json={"username": "robot", "role": "official"}, headers=bearer("admin")
    )
    assert response.status_code == 201, response.text
    assert service.get_user(db, "robot").role == "official"


def test_a_disabled_users_token_and_session_stop_at_once(
    client: TestClient, db: Session, make_user: MakeUser, bearer: Bearer, password: str
) -> None:
    make_user("admin")
    make_user("mayor", password=password)
    mayor_token = bearer("mayor")
    _login(client, "mayor", password)
    assert client.get("/api/v1/audit").status_code == 200
    assert client.get("/api/v1/audit", headers=mayor_token).status_code == 200

    admin = bearer("admin")
    response = client.post("/api/v1/users/mayor/disable", headers=admin)
    assert response.status_code == 200
    assert response.json()["is_active"] is False

    by_token = client.get("/api/v1/audit", headers=mayor_token)
    assert by_token.status_code == 401
    assert "not valid" in by_token.json()["detail"]
    by_cookie = client.get("/api/v1/audit")  # the cookie is still sent, but its session is gone
    assert by_cookie.status_code == 401
    assert client.get("/api/v1/auth/me").json()["role"] == "public"


def test_expired_token_is_refused(
    client: TestClient, db: Session, make_user: MakeUser, bearer: Bearer
) -> None:
    make_user("admin")
    headers = bearer("admin", days=1)
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    token = db.scalars(select(ApiToken).where(ApiToken.name == "test-1")).one()
    token.expires_at = utcnow() - dt.timedelta(seconds=1)
    response = client.get("/api/v1/users", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert "expired" in response.json()["detail"]


def test_401_for_nobody_and_403_for_the_wrong_role(
    client: TestClient, make_user: MakeUser, bearer: Bearer
) -> None:
    anonymous = client.get("/api/v1/users")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["title"] == "Not authenticated"
    assert "API token" in anonymous.json()["detail"]

    make_user("assessor")
    forbidden = client.get("/api/v1/users", headers=bearer("assessor"))
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == PROBLEM
    assert forbidden.json()["title"] == "Permission denied"
    assert forbidden.json()["detail"] == "The role 'assessor' may not do this (users:manage)."

    garbage = client.get("/api/v1/users", headers={"Authorization": "Bearer cm_nonsense"})
    assert garbage.status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"username": "x", "role": "emperor"}, 422, "choose one of"),
        ({"username": "x", "role": "district_head"}, 422, "needs a district"),
        ({"username": "admin", "role": "official"}, 409, "already exists"),
        ({"username": "x", "role": "official", "password": "short"}, 422, "password"),
        ({"username": "x", "role": "official", "is_admin": True}, 422, "is_admin"),
    ],
)
def test_bad_user_creation_is_refused_and_stores_nothing(
    client: TestClient,
    db: Session,
    make_user: MakeUser,
    bearer: Bearer,
    body: dict[str, object],
    status: int,
    fragment: str,
) -> None:
    make_user("admin")
    headers = bearer("admin")
    before = _user_count(db)
    response = client.post("/api/v1/users", json=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert fragment in response.json()["detail"]
    assert _user_count(db) == before


def test_tokens_through_the_api(
    client: TestClient, db: Session, make_user: MakeUser, bearer: Bearer
) -> None:
    make_user("admin")
    make_user("official")
    headers = bearer("admin")
    created = client.post(
        "/api/v1/users/official/tokens", json={"name": "sensor-feed", "days": 7}, headers=headers
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert created.json()["prefix"] == secret[:10]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert me["username"] == "official" and me["csrf_token"] is None

    listed = client.get("/api/v1/users/official/tokens", headers=headers).json()
    assert [t["name"] for t in listed] == ["sensor-feed"]
    assert all("token" not in t and "token_hash" not in t for t in listed)

    revoked = client.post("/api/v1/users/official/tokens/sensor-feed/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401

    bad = client.post(
        "/api/v1/users/official/tokens", json={"name": "x", "days": 0}, headers=headers
    )
    assert bad.status_code == 422
    missing = client.post("/api/v1/users/ghost/tokens", json={"name": "x"}, headers=headers)
    assert missing.status_code == 404 and "ghost" in missing.json()["detail"]


def test_login_replaces_an_older_session_of_the_same_browser(
    client: TestClient, db: Session, make_user: MakeUser, password: str
) -> None:
    make_user("admin", password=password)
    _login(client, "admin", password)
    _login(client, "admin", password)
    assert db.scalar(select(func.count()).select_from(WebSession)) == 1
    assert service.get_user(db, "admin").last_login_at is not None
