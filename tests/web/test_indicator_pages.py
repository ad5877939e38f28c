"""The indicator page and its downloads, per role: the public sees public values with suppressed
cells explained, a district head their own district internally and the rest publicly, the mayor
everything; internal indicators are absent for the public."""

from __future__ import annotations

import csv
import io
import json
import re

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from citymeter.indicators.export import COLUMNS
from tests.web.portal_store import PortalStore, portal_fixture  # noqa: F401

Portal = tuple[TestClient, PortalStore]


def _island(page: str) -> dict:  # type: ignore[type-arg]
    found = re.search(
        r'<script type="application/json" id="indicator-data">(.*?)</script>', page, re.S
    )
    assert found is not None
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_the_trend_against_the_pledge_target(portal: Portal) -> None:
    client, _ = portal
    response = client.get("/indicators/employment_rate")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="ko">' in page and "<h1>고용률</h1>" in page
    assert "공개 화면입니다" in page
    data = _island(page)
    assert len(data["trend"]["labels"]) == 25 and data["trend"]["labels"][-1] == "2026년 10월"
    assert all(isinstance(v, float) for v in data["trend"]["values"])
    # Pledge 1 measures the employment rate: its target is drawn and listed.
    assert data["trend"]["targets"] and "공약 1" in data["trend"]["targets"][0]["label"]
    assert 'href="/pledges/1?lang=ko"' in page
    # The chart is hidden from screen readers; the table carries the same figures.
    assert 'data-chart="trend" aria-hidden="true"' in page
    table = page[
        page.index('id="series-caption"') : page.index(
            "</table>", page.index('id="series-caption"')
        )
    ]
    assert table.count('<th scope="row">') == 25
    assert '<script src="/static/vendor/echarts.min.js"' in page
    english = client.get("/indicators/employment_rate?lang=en").text
    assert '<html lang="en">' in english and "<h1>Employment rate</h1>" in english
    assert "Oct 2026" in english and "Pledge 1 target" in english
    assert (
        "Definition and sources" in english
        and "employed_persons / working_age_population" in english
    )


def test_filters_from_the_query_string(portal: Portal) -> None:
    client, store = portal
    page = client.get(
        f"/indicators/employment_rate?area={store.districts[1]}&sex=F&from=2026-01&to=2026-06&lang=en"
    ).text
    data = _island(page)
    assert data["trend"]["labels"] == [
        "Jan 2026",
        "Feb 2026",
        "Mar 2026",
        "Apr 2026",
        "May 2026",
        "Jun 2026",
    ]
    assert f'<option value="{store.districts[1]}" selected>' in page
    assert '<option value="F" selected>' in page
    women = data["trend"]["values"]
    everyone = _island(
        client.get(
            f"/indicators/employment_rate?area={store.districts[1]}&from=2026-01&to=2026-06"
        ).text
    )["trend"]["values"]
    assert women != everyone and all(w < e for w, e in zip(women, everyone, strict=True))
    bad = client.get("/indicators/employment_rate?from=January&lang=en")
    assert bad.status_code == 422
    assert "from is a month as YYYY-MM" in bad.text and "<h1" in bad.text
    unknown = client.get("/indicators/no_such_indicator?lang=en")
    assert unknown.status_code == 404 and "No indicator" in unknown.text


def _age_table(page: str) -> str:
    start = page.index('id="age-caption"')
    return page[start : page.index("</table>", start)]


def test_age_pyramid_with_suppressed_cells_for_the_public(portal: Portal) -> None:
    client, store = portal
    own = store.districts[0]
    page = client.get(f"/indicators/employment_rate?area={own}&lang=en").text
    data = _island(page)
    assert data["pyramid"]["labels"] == ["15-19", "20-29", "30-39"]
    # 15-19 rests on three people: no value for the public, and the page says why.
    assert data["pyramid"]["male"] == [None, 60.0, 77.5]
    table = _age_table(page)
    assert table.count("suppressed: fewer than 5 people behind this value") == 2
    assert "14.5" not in table and "<td>60</td>" in table and "<td>73.5</td>" in table
    korean = _age_table(client.get(f"/indicators/employment_rate?area={own}").text)
    assert "비공개: 5명 미만의 자료로 계산된 값" in korean
    mayor = client.get(
        f"/indicators/employment_rate?area={own}&lang=en", headers=store.headers("mayor")
    ).text
    assert "suppressed" not in _age_table(mayor) and "14.5" in _age_table(mayor)
    assert "This view includes internal data (mayor)" in mayor


def test_a_district_head_reads_their_own_district_internally(portal: Portal) -> None:
    client, store = portal
    head = store.headers("district_head")
    own = client.get(
        f"/indicators/employment_rate?area={store.districts[0]}&lang=en", headers=head
    ).text
    assert "14.5" in _age_table(own) and "suppressed" not in _age_table(own)
    assert "Internal data for your district" in own
    other = client.get(
        f"/indicators/employment_rate?area={store.districts[1]}&lang=en", headers=head
    ).text
    assert _age_table(other).count("suppressed: fewer than 5 people") == 2


def test_an_internal_indicator_is_absent_for_the_public(portal: Portal) -> None:
    client, store = portal
    public = client.get("/indicators/suicide_rate?lang=en")
    assert public.status_code == 404
    assert "internal indicator" in public.text and "21.5" not in public.text
    assert client.get("/indicators/suicide_rate/data.csv").status_code == 404
    mayor = client.get("/indicators/suicide_rate?lang=en", headers=store.headers("mayor")).text
    assert "24.1" in mayor
    ranking = client.get(
        "/indicators/suicide_rate?view=ranking&lang=en", headers=store.headers("mayor")
    ).text
    assert "21.5" in ranking and "27.3" in ranking


def test_an_internal_indicator_for_a_district_head_is_their_district_only(portal: Portal) -> None:
    client, store = portal
    head = store.headers("district_head")
    page = client.get("/indicators/suicide_rate?lang=en", headers=head).text
    # It opens on the head's own district, the only area they may read it for.
    assert f'<option value="{store.districts[0]}" selected>' in page
    assert "21.5" in page and "24.1" not in page and "27.3" not in page
    city = client.get(f"/indicators/suicide_rate?area={store.city_code}&lang=en", headers=head).text
    assert "you see your own district" in city and "24.1" not in city
    ranking = client.get("/indicators/suicide_rate?view=ranking&lang=en", headers=head).text
    assert "21.5" in ranking and "27.3" not in ranking and "internal indicator" in ranking
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/indicators/suicide_rate/data.csv", headers=head).text)
        )
    )
    assert [r["area_code"] for r in rows] == [store.districts[0]] and rows[0]["value"] == "21.5"


def test_the_district_ranking(portal: Portal) -> None:
    client, store = portal
    page = client.get("/indicators/employment_rate?view=ranking&lang=en").text
    start = page.index('id="ranking-caption"')
    table = page[start : page.index("</table>", start)]
    assert table.count("<tr>") == 5  # the header and four districts
    for code in store.districts:
        assert f'href="/districts/{code}?lang=en"' in table
    assert "higher is better" in table
    values = _island(page)["ranking"]["values"]
    assert values == sorted(values, reverse=True) and len(values) == 4


def test_downloads_in_three_formats(portal: Portal) -> None:
    client, store = portal
    own = store.districts[0]
    response = client.get(f"/indicators/employment_rate/data.csv?area={own}&age=15-19")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="employment_rate-{own}.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == COLUMNS
    body = [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]
    assert {r["sex"] for r in body} == {"male", "female"}
    assert all(r["value"] == "" and "fewer than 5 people" in r["suppressed"] for r in body)
    mayor_rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    f"/indicators/employment_rate/data.csv?area={own}&age=15-19",
                    headers=store.headers("mayor"),
                ).text
            )
        )
    )
    assert sorted(float(r["value"]) for r in mayor_rows) == [10.5, 14.5]
    items = client.get(f"/indicators/employment_rate/data.json?area={own}&age=20-29").json()
    assert {(i["sex"], i["value"]) for i in items} == {("male", 60.0), ("female", 56.0)}
    assert all(i["suppressed"] is None for i in items)
    xlsx = client.get(
        f"/indicators/employment_rate/data.xlsx?area={own}&sex=F&from=2026-01&to=2026-03&grain=month"
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    table = list(sheet.iter_rows(values_only=True))
    assert tuple(table[0]) == COLUMNS and len(table) == 4
    assert {row[COLUMNS.index("sex")] for row in table[1:]} == {"female"}
    assert client.get("/indicators/employment_rate/data.pdf").status_code == 422
