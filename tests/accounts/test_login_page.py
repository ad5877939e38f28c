"""The login form: double-submit CSRF, safe redirects, generic errors, logging out."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import service
from citymeter.accounts.models import User, WebSession
from citymeter.web.csrf import LOGIN_COOKIE
from citymeter.web.deps import SESSION_COOKIE
from citymeter.web.pages.login import safe_next

MakeUser = Callable[..., User]


def _form_token(client: TestClient, query: str = "") -> str:
    page = client.get(f"/login{query}")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def _sessions(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(WebSession)) or 0


def test_login_page_is_accessible_in_korean_and_english(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="ko">' in page.text
    assert '<label for="username">사용자 이름</label>' in page.text
    assert '<label for="password">비밀번호</label>' in page.text
    assert 'autocomplete="current-password"' in page.text
    assert LOGIN_COOKIE in page.headers["set-cookie"]
    assert "HttpOnly" in page.headers["set-cookie"]
    english = client.get("/login?lang=en")
    assert '<html lang="en">' in english.text
    assert '<label for="username">Username</label>' in english.text
    by_header = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in by_header.text


def test_form_login_redirects_to_next_and_logout_link_ends_it(
    client: TestClient, db: Session, make_user: MakeUser, password: str
) -> None:
    make_user("mayor", password=password)
    token = _form_token(client, "?next=/dashboard%3Fd%3D1")
    response = client.post(
        "/login",
        data={
            "username": "mayor",
            "password": password,
            "csrf_token": token,
            "next": "/dashboard?d=1",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard?d=1"
    assert SESSION_COOKIE in client.cookies
    assert _sessions(db) == 1
    assert client.get("/api/v1/auth/me").json()["username"] == "mayor"

    out = client.get("/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/"
    assert _sessions(db) == 0
    assert client.get("/api/v1/auth/me").json()["role"] == "public"


def test_logout_form_needs_the_session_csrf_token(
    client: TestClient, db: Session, make_user: MakeUser, password: str
) -> None:
    make_user("mayor", password=password)
    token = _form_token(client)
    client.post(
        "/login",
        data={"username": "mayor", "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert _sessions(db) == 1
    csrf_token = client.get("/api/v1/auth/me").json()["csrf_token"]
    out = client.post("/logout", data={"csrf_token": csrf_token}, follow_redirects=False)
    assert out.status_code == 303
    assert _sessions(db) == 0


def test_wrong_password_shows_a_generic_error_and_no_session(
    client: TestClient, db: Session, make_user: MakeUser, password: str
) -> None:
    make_user("mayor", password=password)
    token = _form_token(client, "?lang=en")
    response = client.post(
        "/login",
        data={"username": "mayor", "password": "wrong-wrong", "csrf_token": token, "lang": "en"},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert 'role="alert"' in response.text
    assert service.LOGIN_FAILED in response.text
    assert 'value="mayor"' in response.text  # the name is kept, the password is not
    assert "wrong-wrong" not in response.text
    assert SESSION_COOKIE not in client.cookies
    assert _sessions(db) == 0


@pytest.mark.parametrize("forged", ["", "0" * 64])
def test_form_without_a_valid_double_submit_token_is_refused(
    client: TestClient, db: Session, make_user: MakeUser, password: str, forged: str
) -> None:
    make_user("mayor", password=password)
    _form_token(client)  # the browser has a nonce cookie, but the attacker cannot sign it
    response = client.post(
        "/login",
        data={"username": "mayor", "password": password, "csrf_token": forged},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "expired" in response.text or "만료" in response.text
    assert _sessions(db) == 0


def test_token_from_another_browser_does_not_fit_this_cookie(
    client: TestClient, db: Session, make_user: MakeUser, password: str
) -> None:
    make_user("mayor", password=password)
    attackers_token = _form_token(client)
    client.cookies.clear()  # the victim's browser: a different nonce cookie
    _form_token(client)
    response = client.post(
        "/login",
        data={"username": "mayor", "password": password, "csrf_token": attackers_token},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert _sessions(db) == 0


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/areas?city=1", "/areas?city=1"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_next_is_only_ever_a_local_path(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_offsite_next_redirects_home(
    client: TestClient, make_user: MakeUser, password: str
) -> None:
    make_user("mayor", password=password)
    token = _form_token(client)
    response = client.post(
        "/login",
        data={
            "username": "mayor",
            "password": password,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
