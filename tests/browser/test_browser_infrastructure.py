"""The browser-test fixtures themselves: server up, logins work, axe runs."""

from __future__ import annotations

from typing import Any


def test_live_server_serves_the_home_page(page: Any, live_server: str) -> None:
    response = page.goto(f"{live_server}/")
    assert response is not None and response.status == 200
    assert page.locator("main").count() == 1


def test_login_as_mayor_sets_a_session(login_as: Any, live_server: str) -> None:
    page = login_as("mayor")
    me = page.request.get(f"{live_server}/api/v1/auth/me").json()
    assert me["username"] == "mayor"


def test_axe_check_reports_a_known_violation(page: Any, axe_check: Any) -> None:
    page.set_content("<html><body><img src='x.png'></body></html>")
    violations = axe_check(page)
    assert any(v["id"] in ("image-alt", "html-has-lang") for v in violations)
