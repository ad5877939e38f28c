"""The first page: the mayor's dashboard over the demo city, rendered on the server; an empty
store says what to do. (The browser tests in tests/browser drive the live parts.)"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER, SYSTEM_VIEWER
from citymeter.dashboard.sample import Activity, seed_activity
from citymeter.demo import build
from citymeter.overview import service as overview

END = dt.date(2026, 10, 1)


@pytest.fixture
def activity(db: Session) -> tuple[build.DemoBuild, Activity]:
    made = build.build_demo_city(
        db, SYSTEM_VIEWER, seed=3, end=END, months=13, districts=25, neighbourhoods=50
    )
    city = build.demo_city(db)
    assert city is not None
    # A small sample (the full demo build has far more): 40 complaints, 6 incidents.
    return made, seed_activity(db, SYSTEM_VIEWER, city, complaints_count=40, incidents_count=6)


@pytest.fixture
def demo(activity: tuple[build.DemoBuild, Activity]) -> build.DemoBuild:
    return activity[0]


def test_an_empty_store_says_what_to_do(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "아직 도시가 없습니다" in response.text
    assert "citymeter demo" in response.text
    english = client.get("/?lang=en")
    assert "There is no city yet" in english.text and "citymeter demo" in english.text
    assert "dashboard.js" not in english.text


def test_the_dashboard_shows_the_three_areas(
    client: TestClient, activity: tuple[build.DemoBuild, Activity]
) -> None:
    page = client.get("/").text
    assert '<html lang="ko">' in page
    assert "<h1>한빛특별시</h1>" in page
    for heading in ("실시간 도시 현황", "시민의 목소리", "시정 현황"):
        assert heading in page
    # The table alternative to the map lists every district, each linking to its page.
    table = page[page.index("<tbody>") : page.index("</tbody>")]
    assert table.count('<th scope="row">') == 25
    assert len(re.findall(r'href="/districts/99\d{8}\?lang=ko"', table)) == 25
    # Headline indicator cards with their latest value, and the pledge board.
    assert 'id="card-employment_rate"' in page and "2026년 10월" in page
    assert page.count('class="status-') >= 4
    # Incidents and complaints from the sample activity: the live list holds the incidents of
    # the last day still being worked on (the others are cleared); no complaint text for the
    # public.
    made = activity[1]
    assert (made.complaints, made.incidents) == (40, 6) and made.open_incidents >= 1
    assert page.count('class="incident sev-') == made.open_incidents
    assert "description" not in page and "개인정보 보호" in page
    assert "/static/vendor/echarts.min.js" in page and 'id="map"' in page


def test_english_and_fallbacks(client: TestClient, demo: build.DemoBuild) -> None:
    page = client.get("/?lang=en").text
    assert '<html lang="en">' in page
    assert "<h1>Hanbit Metropolitan City</h1>" in page
    assert "Real-time city status" in page and "Oct 2026" in page
    assert "실시간" not in page[page.index("<main") :]
    client.cookies.clear()  # the cookie ?lang=en set, so that only the broken one is sent
    client.cookies.set("citymeter_lang", "nope")
    fallback = client.get("/?lang=xx")
    assert '<html lang="ko">' in fallback.text
    assert client.get("/?city=0000000000").status_code == 404


def test_the_language_choice_is_remembered(client: TestClient, demo: build.DemoBuild) -> None:
    first = client.get("/?lang=en")
    assert first.cookies.get("citymeter_lang") == "en"
    assert '<html lang="en">' in client.get("/").text


def test_district_pages_and_panels(client: TestClient, demo: build.DemoBuild) -> None:
    page = client.get("/districts/9912000000?lang=en")
    assert page.status_code == 200
    assert "Rank among districts" in page.text and " of 25" in page.text
    assert client.get("/?district=9912000000&lang=en").text.count("Rank among districts") == 1
    assert client.get("/districts/0000000000").status_code == 404
    status = client.get("/dashboard/panels/status?lang=en")
    assert status.status_code == 200 and 'class="map-data"' in status.text
    assert "<html" not in status.text
    assert client.get("/dashboard/panels/nothing").status_code in (400, 422)
    # The district table refreshes too (the wall screen runs for hours), one row per district.
    table = client.get("/dashboard/panels/districts?lang=en")
    assert table.status_code == 200 and "<html" not in table.text
    assert table.text.count("<tr data-district=") == 25
    own = client.get("/dashboard/panels/districts?district=9912000000&lang=en").text
    assert own.count("<tr data-district=") == 1 and 'data-district="9912000000"' in own
    printable = client.get("/?print=1").text
    assert 'class="dashboard printing"' in printable


def test_the_overview_figures_come_from_the_observations(
    db: Session, demo: build.DemoBuild
) -> None:
    view = overview.city_overview(db, PUBLIC_VIEWER)
    assert view is not None and len(view.districts) == 25
    figures = {f.key: f for f in view.figures}
    rate = figures["employment_rate"]
    assert rate.period_start == rate.period_end == END
    assert round(rate.value, 1) == demo.figures["employment_rate"]
    assert figures["population"].value == view.population


def test_the_first_load_is_small(client: TestClient, demo: build.DemoBuild) -> None:
    page = client.get("/", headers={"Accept-Encoding": "identity"})
    assert page.status_code == 200
    assert len(page.content) < 80_000
    css = client.get("/static/app.css")
    assert css.status_code == 200 and len(css.content) < 30_000
    geo = client.get("/api/v1/dashboard/geo")
    assert geo.status_code == 200 and len(geo.content) < 400_000
