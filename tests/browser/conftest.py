"""Real-browser tests: a live CityMeter server over a demo store, driven by headless Chromium.

Session-scoped: the demo store (city, accounts, sample complaints and incidents, sensor readings)
is built once into a SQLite file and served by uvicorn in a thread on a free port. Playwright's
sync API drives Debian's Chromium (`CITYMETER_CHROMIUM`, default /usr/bin/chromium). Without
Chromium or Playwright the tests skip, except under CI=true, where they fail.

Fixtures: `live_server` (base URL), `demo_store`, `browser`, `page` (a fresh context per test),
`login_as(role)` ("mayor", "district_head", "public"), `axe_check(page)` (serious and critical
axe-core violations), `api_token(username)` (a Bearer token for API calls).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.dashboard.demo_store import DemoStore, build_demo_store
from citymeter.dashboard.serving import ServerThread
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.demo.build import DEMO_PASSWORD
from citymeter.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CITYMETER_CHROMIUM", "/usr/bin/chromium")
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
USERNAMES = {"mayor": "mayor", "district_head": "district.head", "public": None}

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, DemoStore, Path]:
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'citymeter.db'}"
    engine = make_engine(url)
    try:
        store = build_demo_store(engine, months=13, quick=True)
    finally:
        engine.dispose()
    return url, store, folder


@pytest.fixture(scope="session")
def demo_store(browser_store: tuple[str, DemoStore, Path]) -> DemoStore:
    return browser_store[1]


@pytest.fixture(scope="session")
def live_server(browser_store: tuple[str, DemoStore, Path]) -> Iterator[str]:
    url, _, folder = browser_store
    settings = Settings(
        data_dir=folder / "data",
        database_url=url,
        secret_key="browser-test-secret",
        run_connectors=False,
        live_backend="memory",
    )
    engine = make_engine(url)
    server = ServerThread(settings, engine).start()
    # The first request loads the indicator packs and warms the caches; not the tests' job.
    httpx.get(f"{server.url}/", timeout=60)
    try:
        yield server.url
    finally:
        server.stop()
        engine.dispose()


# Per module, not per session: Playwright's sync API keeps an event loop running in this thread
# while it is open, and later tests that run their own loop (asyncio.run) or their own Playwright
# (bench pages) must not find it there.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install playwright)")
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        _missing(
            f"Chromium not found at {CHROMIUM} (apt install chromium, or set CITYMETER_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh browser context (no cookies) with one page, wall-screen sized."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1920, "height": 1080}, locale="ko-KR"
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def login_as(page: Any, live_server: str) -> Callable[[str], Any]:
    """Log the test's page in as a demo role through the login form; "public" stays anonymous."""

    def _login(role: str) -> Any:
        username = USERNAMES[role]
        if username is None:
            return page
        page.goto(f"{live_server}/login?next=/")
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.click('form[action="/login"] button[type=submit]')
        return page

    return _login


@pytest.fixture(scope="session")
def api_token(browser_store: tuple[str, DemoStore, Path]) -> Callable[[str], str]:
    """A Bearer token for a demo user (e.g. "steward" may POST incidents and readings)."""
    url = browser_store[0]
    made: dict[str, str] = {}

    def _token(username: str) -> str:
        if username not in made:
            engine = make_engine(url)
            try:
                with make_sessionmaker(engine)() as session, session.begin():
                    _, secret = accounts.create_token(
                        session, SYSTEM_VIEWER, username, f"browser tests {len(made)}"
                    )
            finally:
                engine.dispose()
            made[username] = secret
        return made[username]

    return _token


@pytest.fixture
def axe_check() -> Callable[[Any], list[dict[str, Any]]]:
    """Run axe-core on the page; returns the serious and critical violations (empty is good)."""
    if not AXE_JS.exists():
        _missing(f"axe-core not found at {AXE_JS} (run npm ci)")
    script = AXE_JS.read_text(encoding="utf-8")

    def _check(page: Any) -> list[dict[str, Any]]:
        page.add_script_tag(content=script)
        result = page.evaluate(
            """async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
            }"""
        )
        return [v for v in result if v["impact"] in ("serious", "critical")]

    return _check


@pytest.fixture
def post_json(live_server: str) -> Callable[[str, str, Any], httpx.Response]:
    def _post(path: str, token: str, body: Any) -> httpx.Response:
        return httpx.post(
            f"{live_server}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    return _post
