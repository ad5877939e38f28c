"""The portal pages in headless Chromium: they render (charts drawn), axe-core finds no serious or
critical violation, a phone-sized screen has no horizontal overflow, and the public sees no
personal field where a district head sees their own district's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from citymeter.dashboard.demo_store import DemoStore

PAGES = (
    "/indicators/employment_rate",
    "/indicators/employment_rate?view=ranking&lang=en",
    "/incidents?lang=en",
    "/complaints",
    "/complaints?late=1&lang=en",
    "/pledges",
    "/pledges/1?lang=en",
    "/suggestions",
    "/open-data?lang=en",
    "/api-docs",
)


def _overflow(page: Any) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize("path", PAGES)
def test_portal_page_is_accessible(
    page: Any, live_server: str, axe_check: Callable[[Any], list[dict[str, Any]]], path: str
) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200
    assert page.locator("main h1").count() == 1
    violations = axe_check(page)
    assert violations == [], violations


@pytest.mark.parametrize("path", PAGES)
def test_portal_page_fits_a_phone(browser: Any, live_server: str, path: str) -> None:
    context = browser.new_context(
        base_url=live_server, viewport={"width": 375, "height": 740}, locale="ko-KR"
    )
    try:
        tab = context.new_page()
        tab.goto(path)
        tab.wait_for_load_state("load")
        assert _overflow(tab) <= 0, f"{path} overflows a phone screen by {_overflow(tab)} px"
    finally:
        context.close()


def test_indicator_charts_are_drawn(page: Any) -> None:
    page.goto("/indicators/employment_rate?lang=en")
    # ECharts renders SVG into the chart box; the table beside it holds the same figures.
    page.wait_for_selector('[data-chart="trend"] svg')
    assert page.locator('[data-chart="trend"]').get_attribute("aria-hidden") == "true"
    assert page.locator("#series-caption").is_visible()
    page.goto("/indicators/employment_rate?view=ranking&lang=en")
    page.wait_for_selector('[data-chart="ranking"] svg')


def test_complaints_show_the_requester_to_their_district_head_only(
    page: Any, login_as: Callable[[str], Any], demo_store: DemoStore
) -> None:
    page.goto(f"/complaints?district={demo_store.head_district}&lang=en")
    first = page.locator("tbody th a").first
    href = first.get_attribute("href")
    assert href
    page.goto(href)
    assert page.locator("text=are not published").count() == 1
    assert page.locator("dt", has_text="Requester").count() == 0
    login_as("district_head")
    page.goto(href)
    assert page.locator("dt", has_text="Requester").count() == 1
    assert page.locator("text=Internal data for your district").count() == 1
