"""The mayor's and district dashboards in headless Chromium: who sees what, live incidents,
viewports, accessibility, the language switch, print view and the command box."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx
import pytest

from citymeter.dashboard.demo_store import DemoStore


def _ready(page: Any) -> None:
    page.wait_for_function("document.body.dataset.map !== undefined", timeout=15_000)


def _other_district(store: DemoStore) -> str:
    return next(c for c in store.district_codes if c != store.head_district)


def test_the_mayor_sees_internal_data(login_as: Any) -> None:
    page = login_as("mayor")
    page.goto("/")
    _ready(page)
    assert page.get_attribute("html", "lang") == "ko"
    assert page.locator("#level-note").get_attribute("class") == "level level-internal"
    # What complaints say, and where incidents are, is internal: the mayor sees both.
    assert page.locator("#panel-voice .feed .desc").count() > 0
    assert "중앙로" in page.locator("#panel-status .incident-list").inner_text()
    assert page.locator("#panel-voice .why-hidden").count() == 0
    # All three areas are filled.
    for area in ("status", "voice", "administration"):
        assert page.locator(f"#panel-{area} .panel").count() >= 2
    assert page.locator("#panel-administration .card").count() >= 5
    assert page.locator("#panel-administration .pledge-list li").count() >= 5
    assert page.locator("body").get_attribute("data-map") == "ready"


def test_the_public_sees_public_data_only(page: Any, demo_store: DemoStore) -> None:
    page.goto("/")
    _ready(page)
    assert "level-public" in (page.locator("#level-note").get_attribute("class") or "")
    text = page.locator("main").inner_text()
    # No complainant field, no complaint text, no incident address or dispatcher remark.
    for secret in ("example.org", "길동", "중앙로", "출동 지령 메모"):
        assert secret not in page.content()
    assert page.locator(".feed .desc").count() == 0
    assert page.locator("#panel-voice .why-hidden").count() == 1
    assert "개인정보 보호" in text
    # No internal indicator on any card.
    assert page.locator('[data-visibility="internal"]').count() == 0
    api = page.request.get("/api/v1/dashboard/voice").json()
    assert all(c["description"] is None for c in api["voice"]["complaints"]["newest"])
    status = page.request.get("/api/v1/dashboard/status").json()
    assert all(i["address"] is None for i in status["status"]["incidents"]["active"])


def test_a_district_head_sees_their_own_district_only(login_as: Any, demo_store: DemoStore) -> None:
    page = login_as("district_head")
    own = demo_store.head_district
    page.goto(f"/districts/{own}")
    _ready(page)
    assert "level-internal" in (page.locator("#level-note").get_attribute("class") or "")
    assert page.locator("#panel-administration .rank-list li").count() >= 4
    other = _other_district(demo_store)
    page.goto(f"/districts/{other}")
    _ready(page)
    note = page.locator("#level-note")
    assert "level-public" in (note.get_attribute("class") or "")
    assert "구청장과 시장만" in note.inner_text()
    assert page.locator(".feed .desc").count() == 0
    assert "출동 지령 메모" not in page.content()
    api = page.request.get(f"/api/v1/dashboard/voice?district={other}").json()
    assert api["scope"]["internal"] is False
    assert all(c["description"] is None for c in api["voice"]["complaints"]["newest"])
    mine = page.request.get(f"/api/v1/dashboard/voice?district={own}").json()
    assert mine["scope"]["internal"] is True
    # The city as a whole is not theirs either; its dashboard links them to their own district.
    assert page.request.get("/api/v1/dashboard/status").json()["scope"]["internal"] is False
    page.goto("/")
    _ready(page)
    page.locator(f'#level-note a[href^="/districts/{own}"]').click()
    page.wait_for_url(f"**/districts/{own}*")
    assert "level-internal" in (page.locator("#level-note").get_attribute("class") or "")


def test_a_new_incident_appears_on_the_open_dashboard_within_two_seconds(
    page: Any, demo_store: DemoStore, api_token: Any, post_json: Any
) -> None:
    page.goto("/")
    _ready(page)
    district = demo_store.district_codes[3]
    lat, lon = demo_store.centroids[district]
    number = f"LIVE-{time.time_ns()}"
    started = time.monotonic()
    response = post_json(
        "/api/v1/incidents",
        api_token("steward"),
        {
            "incidents": [
                {
                    "number": number,
                    "type": "ems-call",
                    "severity": 2,
                    "reported_at": dt.datetime.now(dt.UTC).isoformat(),
                    "lat": lat,
                    "lon": lon,
                }
            ]
        },
    )
    assert response.status_code == 201, response.text
    page.wait_for_selector(f'.incident[data-number="{number}"]', timeout=5_000)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"the incident took {elapsed:.2f} s to appear"
    # And it is on the map's data too.
    data = page.evaluate(
        "JSON.parse(document.querySelector('#panel-status .map-data').textContent)"
    )
    assert any(i["number"] == number for i in data["incidents"])


def test_cctv_near_a_chosen_incident(page: Any) -> None:
    page.goto("/?lang=en")
    _ready(page)
    page.locator(".incident-pick").first.click()
    page.wait_for_function(
        "!document.querySelector('#cctv').textContent.includes('Looking for')", timeout=5_000
    )
    box = page.locator("#cctv").inner_text()
    assert " m" in box or "No CCTV site" in box


@pytest.mark.parametrize("size", [(390, 844), (1920, 1080)], ids=["phone", "wall"])
def test_no_horizontal_overflow(
    browser: Any, live_server: str, demo_store: DemoStore, size: tuple[int, int]
) -> None:
    context = browser.new_context(
        base_url=live_server, viewport={"width": size[0], "height": size[1]}
    )
    try:
        page = context.new_page()
        for path in ("/", f"/districts/{demo_store.head_district}", "/?lang=en"):
            page.goto(path)
            _ready(page)
            widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert widths[0] <= widths[1], f"{path} at {size}: {widths[0]} > {widths[1]} px"
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/", "/?lang=en", "district"])
def test_no_serious_accessibility_violations(
    page: Any, axe_check: Any, demo_store: DemoStore, path: str
) -> None:
    page.goto(f"/districts/{demo_store.head_district}" if path == "district" else path)
    _ready(page)
    violations = axe_check(page)
    assert violations == [], violations


def test_keyboard_reaches_the_search_box_and_the_panels(page: Any) -> None:
    page.goto("/")
    _ready(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.locator("#command-q").focus()
    assert page.evaluate("document.activeElement.id") == "command-q"
    # An incident can be chosen with the keyboard.
    page.locator(".incident-pick").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "!document.querySelector('#cctv .empty-note') || "
        "!document.querySelector('#cctv').textContent.includes('찾는 중')"
    )


def test_the_language_switch(page: Any) -> None:
    page.goto("/?lang=ko")
    _ready(page)
    assert page.locator("#h-status").inner_text() == "실시간 도시 현황"
    with page.expect_navigation():
        page.click("#lang-switch")
    _ready(page)
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("#h-status").inner_text() == "Real-time city status"
    assert page.locator("#h-voice").inner_text() == "Citizens' voice"
    assert page.locator("#h-admin").inner_text() == "Administration"
    english = page.locator("main").inner_text()
    for korean in ("자치구", "민원", "실시간", "공약"):
        assert korean not in english
    # The choice sticks: the next page without ?lang= is English too.
    page.goto("/")
    _ready(page)
    assert page.get_attribute("html", "lang") == "en"


def test_the_print_view(page: Any) -> None:
    page.goto("/?print=1")
    _ready(page)
    assert "printing" in (page.locator("body").get_attribute("class") or "")
    assert not page.locator("form.command").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("header.topbar").is_visible()
    assert page.locator("#area-admin").is_visible()


@pytest.mark.parametrize(
    ("lang", "command", "expected"),
    [("en", "open pledge 3", "/pledges/3"), ("ko", "공약 3 열어줘", "/pledges/3")],
)
def test_a_command_in_the_search_box_navigates(
    page: Any, live_server: str, lang: str, command: str, expected: str
) -> None:
    probe = httpx.get(f"{live_server}/api/v1/search/command", params={"q": "x", "lang": lang})
    if probe.status_code == 404:
        pytest.skip("the command search API is not installed in this build")
    page.goto(f"/?lang={lang}")
    page.fill("#command-q", command)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert expected in page.url


def test_an_unknown_district_is_a_clear_404(page: Any) -> None:
    response = page.goto("/districts/0000000000")
    assert response is not None and response.status == 404
