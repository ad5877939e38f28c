"""`citymeter bench pages`: the dashboard's speed targets on the full demo city, through the real
app in uvicorn (a subprocess, one worker) on 127.0.0.1, with raw baselines from the same run:

- server: N timed GETs each of `/` (the dashboard), `/districts/{code}` and
  `/indicators/employment_rate`, for the public and for a logged-in mayor, from one keep-alive
  http.client connection per viewer, interleaved round by round; the floor is `GET /healthz` (a
  `SELECT 1` through the same middleware and session) timed the same way, on the same server;
- browser: headless Chromium loads `/` at 1920×1080 in a fresh context (empty cache) and the time
  from navigation start until the map is drawn and every panel area is filled is taken in the page
  (a MutationObserver on the markers dashboard.js sets); the bytes on the wire come from the
  DevTools protocol (`Network.loadingFinished` encodedDataLength, headers included). The floor is
  the same kind of load of `/healthz`.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from citymeter.complaints.models import ServiceRequest
from citymeter.dashboard.demo_store import build_demo_store
from citymeter.dashboard.serving import free_port
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.demo import build
from citymeter.errors import InvalidInput
from citymeter.incidents.models import Incident
from citymeter.places.models import Area

SERVER_P95_TARGET_MS = 150.0
COMPLETE_TARGET_MS = 2000.0
TRANSFER_TARGET_BYTES = 2_000_000
CHROMIUM = os.environ.get("CITYMETER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWERS = ("public", "mayor")
FLOOR = "/healthz"

# Set in the page before any script runs: the moment (ms since navigation start) the dashboard is
# complete — dashboard.js marks the map drawn with body[data-map=ready], the ECharts SVG has its
# shapes, and each panel area holds its panels — or that the map failed.
COMPLETE_JS = """
(() => {
  const complete = () => {
    const body = document.body;
    if (!body) return false;
    if (body.dataset.map === "error") {
      window.__cmFailed = "the map reported an error";
      return true;
    }
    if (body.dataset.map !== "ready" || !document.querySelector("#map svg path")) return false;
    const areas = document.querySelectorAll(".panels[data-area]");
    if (!areas.length) return false;
    for (const area of areas) if (!area.querySelector(".panel")) return false;
    return true;
  };
  const observer = new MutationObserver(() => {
    if (window.__cmComplete === undefined && complete()) {
      window.__cmComplete = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true });
})();
"""


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    # Bytes a good answer holds (the page is really rendered, for the right viewer).
    evidence: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class PageTiming:
    page: str
    path: str
    viewer: str
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    size_bytes: int
    failures: int


@dataclass(frozen=True)
class Resource:
    url: str
    bytes: int


@dataclass(frozen=True)
class BrowserTiming:
    viewer: str
    complete_ms: list[float]  # one per load; inf when the dashboard never completed
    dom_ready_ms: list[float]  # DOMContentLoaded end, for comparison
    floor_ms: list[float]  # a load of /healthz in a fresh context (load event end)
    transferred_bytes: int  # the largest first load of the runs
    resources: list[Resource]  # of that load, largest first
    open_streams: list[str]  # still receiving when counted (the live event stream)
    failures: list[str] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.complete_ms)

    @property
    def max_ms(self) -> float:
        return max(self.complete_ms)


@dataclass(frozen=True)
class PagesBenchResult:
    store: str
    backend: str
    districts: int
    months: int | None
    complaints: int
    incidents: int
    build_seconds: float | None
    warmup: int
    server: list[PageTiming]
    browser: list[BrowserTiming]
    browser_note: str  # what ran (Chromium version) or why the browser part was skipped
    chromium: str | None


def _pages(district: str) -> list[Page]:
    panels = (b'id="panel-status"', b'id="panel-voice"', b'id="panel-administration"')
    return [
        Page("HTTP floor", FLOOR, (b'"status":"ok"',)),
        Page("dashboard", "/", panels),
        Page("district page", f"/districts/{district}", panels),
        Page("indicator page", "/indicators/employment_rate", (b"<h1",)),
    ]


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class _Store:
    url: str
    label: str
    backend: str
    district: str
    districts: int
    months: int | None
    complaints: int
    incidents: int
    build_seconds: float | None


def _describe(url: str, label: str, months: int | None, seconds: float | None) -> _Store:
    engine = make_engine(url)
    backend = engine.dialect.name
    try:
        with make_sessionmaker(engine)() as session:
            city = build.demo_city(session)
            if city is None:
                raise InvalidInput(
                    f"{label} has no demo city: build it there with `citymeter demo --no-serve`, "
                    "or leave out --database-url to bench on a temporary store."
                )
            codes = list(
                session.scalars(
                    select(Area.code)
                    .where(Area.city_id == city.id, Area.level == "district")
                    .order_by(Area.code)
                )
            )
            if not codes:
                raise InvalidInput(f"The demo city in {label} has no districts.")
            complaints = session.scalar(select(func.count()).select_from(ServiceRequest)) or 0
            incidents = session.scalar(select(func.count()).select_from(Incident)) or 0
    except SQLAlchemyError as exc:
        raise InvalidInput(f"Cannot read the store {label}: {exc.__class__.__name__}.") from None
    finally:
        engine.dispose()
    return _Store(url, label, backend, codes[0], len(codes), months, complaints, incidents, seconds)


@contextmanager
def _store(
    folder: Path,
    database_url: str | None,
    months: int,
    small: bool,
    say: Callable[[str], None],
) -> Iterator[_Store]:
    if database_url is not None:
        label = make_url(database_url).render_as_string(hide_password=True)
        yield _describe(database_url, label, None, None)
        return
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        build_demo_store(engine, months=months, quick=small)
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    say(f"Built the demo city ({months} months{', small' if small else ''}) in {seconds:.1f} s.")
    yield _describe(url, "a temporary SQLite store", months, seconds)


# --------------------------------------------------------------------------- the server


def _start_server(port: int, env: dict[str, str]) -> Any:
    command = [sys.executable, "-m", "uvicorn", "citymeter.web.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", FLOOR)
            connection.getresponse().read()
            connection.close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with code {process.returncode}") from None
            time.sleep(0.2)
    _stop(process)
    raise RuntimeError("uvicorn did not start within 120 s")


def _stop(process: Any) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _log_in_mayor(port: int) -> str | None:
    """The mayor's session cookie (`name=value`), or None if the demo password does not work."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"username": "mayor", "password": build.DEMO_PASSWORD})
    connection.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    cookie = response.getheader("set-cookie")
    connection.close()
    if response.status != 200 or not cookie:
        return None
    return cookie.split(";", 1)[0]


def _time_pages(
    port: int, cookies: dict[str, str | None], pages: list[Page], rounds: int, warmup: int
) -> list[PageTiming]:
    """Round by round, every page for every viewer once, each viewer on its own connection."""
    connections = {v: http.client.HTTPConnection("127.0.0.1", port, timeout=60) for v in cookies}
    latencies: dict[tuple[str, str], list[float]] = {}
    sizes: dict[tuple[str, str], int] = {}
    failures: dict[tuple[str, str], int] = {}
    try:
        for step in range(warmup + rounds):
            for viewer, cookie in cookies.items():
                headers = {"Accept": "text/html,application/json"}
                if cookie:
                    headers["Cookie"] = cookie
                connection = connections[viewer]
                for page in pages:
                    started = time.perf_counter()
                    connection.request("GET", page.path, headers=headers)
                    response = connection.getresponse()
                    body = response.read()
                    elapsed = time.perf_counter() - started
                    if step < warmup:
                        continue
                    key = (viewer, page.path)
                    latencies.setdefault(key, []).append(elapsed * 1000)
                    sizes[key] = len(body)
                    wanted = page.evidence
                    if cookie and page.path == "/":
                        wanted += (b"level-internal",)  # the mayor's session is really used
                    if response.status != 200 or not all(w in body for w in wanted):
                        failures[key] = failures.get(key, 0) + 1
    finally:
        for connection in connections.values():
            connection.close()
    timings = []
    for viewer in cookies:
        for page in pages:
            key = (viewer, page.path)
            ordered = sorted(latencies[key])
            timing = PageTiming(
                page.name, page.path, viewer, len(ordered), _percentile(ordered, 0.5),
                _percentile(ordered, 0.95), ordered[-1], sizes[key], failures.get(key, 0),
            )  # fmt: skip
            timings.append(timing)
    return timings


# --------------------------------------------------------------------------- the browser


class _NoBrowser(Exception):
    """Playwright or Chromium is missing, or Chromium does not start."""


def _load(browser: Any, base: str, path: str, cookie: str | None) -> dict[str, Any]:
    """One load in a fresh context: the page's timings and the bytes of each resource."""
    context = browser.new_context(
        base_url=base, viewport={"width": 1920, "height": 1080}, locale="ko-KR"
    )
    try:
        if cookie:
            name, value = cookie.split("=", 1)
            context.add_cookies([{"name": name, "value": value, "url": base}])
        context.add_init_script(COMPLETE_JS)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        urls: dict[str, str] = {}
        finished: dict[str, int] = {}
        cdp.on(
            "Network.requestWillBeSent",
            lambda event: urls.setdefault(event["requestId"], event["request"]["url"]),
        )
        cdp.on(
            "Network.loadingFinished",
            lambda event: finished.__setitem__(event["requestId"], int(event["encodedDataLength"])),
        )
        cdp.send("Network.enable")
        page.goto(path, wait_until="load")
        outcome: dict[str, Any] = {"complete_ms": None, "failure": None}
        if path == "/":
            try:
                page.wait_for_function(
                    "window.__cmComplete !== undefined || window.__cmFailed !== undefined",
                    timeout=30_000,
                )
                failed = page.evaluate("window.__cmFailed || null")
                if failed:
                    outcome["failure"] = str(failed)
                else:
                    outcome["complete_ms"] = float(page.evaluate("window.__cmComplete"))
            except Exception as exc:  # Playwright's TimeoutError; the run goes on
                state = page.evaluate("document.body ? document.body.dataset.map || '' : ''")
                outcome["failure"] = f"not complete in 30 s (map state {state!r}): {exc}"
            page.wait_for_timeout(300)  # let the responses in flight finish
        navigation = page.evaluate(
            "(() => { const n = performance.getEntriesByType('navigation')[0];"
            " return [n.domContentLoadedEventEnd, n.loadEventEnd]; })()"
        )
        outcome["dom_ready_ms"] = float(navigation[0])
        outcome["load_ms"] = float(navigation[1])
        outcome["resources"] = sorted(
            (Resource(urls.get(rid, rid), size) for rid, size in finished.items()),
            key=lambda r: -r.bytes,
        )
        outcome["open"] = sorted(url for rid, url in urls.items() if rid not in finished)
        return outcome
    finally:
        context.close()


def _browse(
    base: str, cookies: dict[str, str | None], runs: int, say: Callable[[str], None]
) -> tuple[list[BrowserTiming], str]:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise _NoBrowser("Playwright is not installed (pip install playwright)") from None
    if not Path(CHROMIUM).exists():
        raise _NoBrowser(
            f"Chromium not found at {CHROMIUM} (apt install chromium, or set CITYMETER_CHROMIUM)"
        )
    results = []
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
            raise _NoBrowser(f"Chromium at {CHROMIUM} did not start: {first}") from None
        try:
            version = f"Chromium {browser.version} headless"
            for viewer, cookie in cookies.items():
                _load(browser, base, "/", cookie)  # warm-up: the browser's own first start
                complete, dom, floor, failures = [], [], [], []
                biggest: dict[str, Any] | None = None
                for _ in range(runs):
                    load = _load(browser, base, "/", cookie)
                    if load["failure"]:
                        failures.append(load["failure"])
                    complete.append(load["complete_ms"] or float("inf"))
                    dom.append(load["dom_ready_ms"])
                    total = sum(r.bytes for r in load["resources"])
                    if biggest is None or total > biggest["total"]:
                        biggest = {**load, "total": total}
                    floor.append(_load(browser, base, FLOOR, cookie)["load_ms"])
                assert biggest is not None
                timing = BrowserTiming(
                    viewer, complete, dom, floor, biggest["total"], biggest["resources"],
                    biggest["open"], failures,
                )  # fmt: skip
                say(
                    f"Browser, {viewer}: dashboard complete in median {timing.median_ms:,.0f} ms "
                    f"over {runs} load{'s' if runs != 1 else ''}."
                )
                results.append(timing)
        finally:
            browser.close()
    return results, version


# --------------------------------------------------------------------------- the run


def run(
    requests: int = 200,
    warmup: int = 20,
    browser_runs: int = 5,
    months: int | None = None,
    small: bool = False,
    database_url: str | None = None,
    say: Callable[[str], None] = print,
) -> PagesBenchResult:
    """On a demo store built in a temporary folder (removed afterwards), or on `database_url`, an
    existing store with the demo city built (the run logs the demo mayor in there, which writes a
    session row, and changes nothing else)."""
    with (
        tempfile.TemporaryDirectory(prefix="citymeter-bench-pages-") as folder,
        _store(Path(folder), database_url, months or build.DEFAULT_MONTHS, small, say) as store,
    ):
        env = dict(os.environ)
        env.update(
            {
                "CITYMETER_DATABASE_URL": store.url,
                "CITYMETER_DATA_DIR": str(Path(folder) / "data"),
                "CITYMETER_SECRET_KEY": "bench-pages",
                "CITYMETER_RUN_CONNECTORS": "false",
                "CITYMETER_LIVE_BACKEND": "memory",
            }
        )
        env.pop("CITYMETER_CONFIG", None)
        port = free_port()
        server = _start_server(port, env)
        try:
            cookies: dict[str, str | None] = {"public": None}
            mayor = _log_in_mayor(port)
            if mayor is None:
                say("The demo mayor could not log in (password changed?); timing the public only.")
            else:
                cookies["mayor"] = mayor
            pages = _pages(store.district)
            timings = _time_pages(port, cookies, pages, requests, warmup)
            say(f"Server timings done: {requests} requests of {len(pages)} pages per viewer.")
            browser: list[BrowserTiming] = []
            chromium = None
            if browser_runs == 0:
                note = "Browser part skipped (--browser-runs 0)."
            else:
                try:
                    browser, chromium = _browse(
                        f"http://127.0.0.1:{port}", cookies, browser_runs, say
                    )
                    note = (
                        f"{chromium}, 1920×1080, a fresh context (empty cache) per load, "
                        f"{browser_runs} loads per viewer after one warm-up load"
                    )
                except _NoBrowser as exc:
                    note = f"Browser part skipped: {exc}."
        finally:
            _stop(server)
    return PagesBenchResult(
        store=store.label,
        backend=store.backend,
        districts=store.districts,
        months=store.months,
        complaints=store.complaints,
        incidents=store.incidents,
        build_seconds=store.build_seconds,
        warmup=warmup,
        server=timings,
        browser=browser,
        browser_note=note,
        chromium=chromium,
    )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _short(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0] or "/"


def summary(result: PagesBenchResult) -> list[str]:
    months = f", {result.months} months" if result.months else ""
    lines = [
        f"Demo city on {result.store} ({result.backend}): {result.districts} districts{months}, "
        f"{result.complaints:,} complaints, {result.incidents:,} incidents; uvicorn, one "
        "worker, one keep-alive connection per viewer",
        f"Server: full request on loopback, {result.server[0].requests} timed requests per page "
        f"and viewer after {result.warmup} warm-up rounds",
        f"  {'page':<17}{'path':<30}{'viewer':<8}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}"
        f"{'bytes':>9}{'failed':>7}",
    ]
    for t in result.server:
        lines.append(
            f"  {t.page:<17}{t.path:<30}{t.viewer:<8}{t.p50_ms:>8.1f}{t.p95_ms:>8.1f}"
            f"{t.max_ms:>8.1f}{t.size_bytes:>9,}{t.failures:>7}"
        )
    lines.append(f"Browser: {result.browser_note}")
    for b in result.browser:
        lines.append(
            f"  {b.viewer:<8} dashboard complete (map drawn, every panel area filled): median "
            f"{b.median_ms:,.0f} ms, max {b.max_ms:,.0f} ms; DOMContentLoaded median "
            f"{statistics.median(b.dom_ready_ms):,.0f} ms; floor (/healthz load) median "
            f"{statistics.median(b.floor_ms):,.0f} ms"
        )
        largest = ", ".join(f"{_short(r.url)} {r.bytes:,}" for r in b.resources[:5])
        lines.append(
            f"  {b.viewer:<8} transferred on first load {b.transferred_bytes:,} bytes in "
            f"{len(b.resources)} responses (headers included); largest: {largest}"
        )
        if b.open_streams:
            lines.append(
                f"  {b.viewer:<8} still open, not counted: "
                + ", ".join(_short(u) for u in b.open_streams)
            )
        for failure in b.failures:
            lines.append(f"  {b.viewer:<8} FAILED load: {failure}")
    lines.append("Targets:")
    for t in result.server:
        if t.path == FLOOR:
            continue
        ok = t.p95_ms < SERVER_P95_TARGET_MS and not t.failures
        lines.append(
            f"  {t.page} ({t.viewer}) server p95 {t.p95_ms:.1f} ms < "
            f"{SERVER_P95_TARGET_MS:.0f} ms: {_verdict(ok)}"
        )
    for b in result.browser:
        ok = b.max_ms < COMPLETE_TARGET_MS and not b.failures
        lines.append(
            f"  dashboard complete in Chromium ({b.viewer}) max {b.max_ms:,.0f} ms < "
            f"{COMPLETE_TARGET_MS:,.0f} ms: {_verdict(ok)}"
        )
        ok = b.transferred_bytes < TRANSFER_TARGET_BYTES
        lines.append(
            f"  dashboard first load ({b.viewer}) {b.transferred_bytes / 1e6:.2f} MB < "
            f"{TRANSFER_TARGET_BYTES / 1e6:.0f} MB: {_verdict(ok)}"
        )
    if not result.browser:
        lines.append("  dashboard complete in Chromium, first-load bytes: not measured")
    return lines
