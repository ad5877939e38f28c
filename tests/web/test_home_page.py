"""The first page: the city, its districts on an SVG map, headline figures; an empty store says
what to do."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER, SYSTEM_VIEWER
from citymeter.demo import build
from citymeter.observations import service as observations
from citymeter.overview import service as overview

END = dt.date(2026, 10, 1)


@pytest.fixture
def demo(db: Session) -> build.DemoBuild:
    return build.build_demo_city(
        db, SYSTEM_VIEWER, seed=3, end=END, months=25, districts=25, neighbourhoods=50
    )


def test_an_empty_store_says_what_to_do(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "아직 도시가 없습니다" in response.text
    assert "citymeter demo" in response.text
    english = client.get("/?lang=en")
    assert "There is no city yet" in english.text and "citymeter demo" in english.text
    assert "<svg" not in english.text


def test_the_page_shows_the_demo_city(client: TestClient, demo: build.DemoBuild) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="ko">' in page
    assert "<h1>한빛특별시</h1>" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in svg and '<title id="map-title">' in svg
    districts = svg[svg.index('<g class="districts">') : svg.index("</g>")]
    assert len(re.findall(r"<path class=\"c\d\"", districts)) == 25
    assert districts.count("<title>") == 25
    assert '<path class="nb" d="M' in svg
    # The table alternative lists every district.
    table = page[page.index("<tbody>") : page.index("</tbody>")]
    assert table.count('<th scope="row">') == 25
    # Headline figures, with their period and change against a year earlier.
    population = f"{demo.figures['population']:,.0f}"
    assert population in page[page.index('id="figure-population"') :]
    assert f"{demo.figures['employment_rate']:.1f}" in page
    assert f"{demo.figures['women_employment_rate']:.1f}" in page
    assert f"{demo.figures['jobs_created_12m']:,.0f}" in page
    assert f"{demo.figures['public_rental_housing_12m']:,.0f}" in page
    assert "2026년 10월" in page and "전년 동기 대비" in page


def test_english_and_the_employment_map(client: TestClient, demo: build.DemoBuild) -> None:
    page = client.get("/?lang=en&map=employment").text
    assert '<html lang="en">' in page
    assert "<h1>Hanbit Metropolitan City</h1>" in page
    assert "Map: Employment rate" in page and "vs a year earlier" in page
    assert "Oct 2026" in page and "Nov 2025 – Oct 2026" in page
    assert re.search(r"-gu: [\d,]+ · \d+\.\d%", page)  # district tooltips carry the rate


def test_unknown_options_fall_back(client: TestClient, demo: build.DemoBuild) -> None:
    page = client.get("/?lang=xx&map=nonsense").text
    assert '<html lang="ko">' in page and "지도: 인구밀도" in page
    missing = client.get("/?city=0000000000")
    assert missing.status_code == 404


def test_the_overview_figures_come_from_the_observations(
    db: Session, demo: build.DemoBuild
) -> None:
    view = overview.city_overview(db, PUBLIC_VIEWER)
    assert view is not None and len(view.districts) == 25
    figures = {f.key: f for f in view.figures}
    rate = figures["employment_rate"]
    assert rate.period_start == rate.period_end == END
    assert round(rate.value, 1) == demo.figures["employment_rate"]
    assert rate.previous is not None and rate.change is not None
    jobs = figures["jobs_created"]
    assert (jobs.period_start, jobs.period_end) == (dt.date(2025, 11, 1), END)
    assert jobs.value == demo.figures["jobs_created_12m"]
    assert jobs.previous is not None and jobs.change_percent is not None
    assert figures["population"].value == view.population
    assert sum(d.population or 0 for d in view.districts) == view.population


def test_internal_metrics_stay_off_the_public_page(
    db: Session, client: TestClient, demo: build.DemoBuild
) -> None:
    metric = observations.ensure_metric(db, None, code="jobs_created", name="x", unit="jobs")
    metric.visibility = "internal"
    db.flush()
    view = overview.city_overview(db, PUBLIC_VIEWER)
    assert view is not None
    assert "jobs_created" not in {f.key for f in view.figures}
    assert 'id="figure-jobs_created"' not in client.get("/").text
    assert "jobs_created" in {f.key for f in overview.city_overview(db, SYSTEM_VIEWER).figures}  # type: ignore[union-attr]


def test_the_first_load_is_small(client: TestClient, db: Session) -> None:
    build.build_demo_city(db, SYSTEM_VIEWER, seed=2026, end=END, months=13)
    page = client.get("/")
    assert page.status_code == 200
    assert len(page.content) < 80_000
    css = client.get("/static/app.css")
    assert css.status_code == 200 and len(css.content) < 12_000
