"""The open-data page (public indicators and live datasets with downloads) and /api-docs, the API
reference rendered from the OpenAPI schema without any CDN asset."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.web.portal_store import PortalStore, portal_fixture  # noqa: F401

Portal = tuple[TestClient, PortalStore]


def test_open_data_lists_public_indicators_and_datasets(portal: Portal) -> None:
    client, _ = portal
    response = client.get("/open-data?lang=en")
    assert response.status_code == 200
    page = response.text
    assert 'id="indicator-employment_rate"' in page
    assert 'href="/indicators/employment_rate/data.csv?pack=administration"' in page
    assert 'href="/indicators/employment_rate/data.xlsx?pack=administration"' in page
    # Internal indicators are absent, even with values.
    assert "suicide_rate" not in page
    assert (
        'id="dataset-CctvCamera"' in page and 'href="/open-data/datasets/CctvCamera.json"' in page
    )
    assert 'href="/api-docs?lang=en"' in page and 'href="/api/v1/openapi.json"' in page
    assert "fewer than 5 people" in page
    # The same for a mayor: open data is the public view.
    mayor = client.get("/open-data?lang=en", headers=portal[1].headers("mayor")).text
    assert "suicide_rate" not in mayor
    assert "공공데이터" in client.get("/open-data").text


def test_dataset_downloads_hold_public_entities_only(portal: Portal) -> None:
    client, store = portal
    rows = list(csv.DictReader(io.StringIO(client.get("/open-data/datasets/CctvCamera.csv").text)))
    names = {r["name"] for r in rows}
    assert {"CCTV near own", "CCTV far own", "CCTV near other"} <= names
    assert not any("hidden" in n for n in names)
    assert all(r["lat"] and r["lon"] for r in rows)
    items = client.get("/open-data/datasets/CctvCamera.json", headers=store.headers("mayor")).json()
    assert len(items) == len(rows) and {"id", "type", "lat", "lon", "observed_at"} <= set(items[0])
    book = load_workbook(io.BytesIO(client.get("/open-data/datasets/CctvCamera.xlsx").content))
    sheet = book.active
    assert sheet is not None
    table = list(sheet.iter_rows(values_only=True))
    assert (
        table[0][:5] == ("id", "type", "lat", "lon", "observed_at") and len(table) == len(rows) + 1
    )
    assert client.get("/open-data/datasets/NoSuchThing.csv").status_code == 404
    assert client.get("/open-data/datasets/CctvCamera.pdf").status_code == 422


def test_api_docs_are_served_without_a_cdn(portal: Portal) -> None:
    client, _ = portal
    response = client.get("/api-docs?lang=en")
    assert response.status_code == 200
    page = response.text
    assert "<h1>API documentation</h1>" in page
    assert "<code>GET /api/v1/incidents/{number}</code>" in page
    assert "<code>POST /api/v1/incidents</code>" in page
    # Parameters and responses of an endpoint.
    start = page.index("<code>GET /api/v1/incidents/{number}</code>")
    section = page[start : page.index("</article>", start)]
    assert "<code>number</code></th><td>path</td><td>string</td><td>yes</td>" in section
    assert "<code>200</code>" in section
    assert 'id="schema-IncidentIn"' in page
    schema = client.get("/api/v1/openapi.json").json()
    operations = sum(
        1
        for item in schema["paths"].values()
        for m in ("get", "post", "put", "patch", "delete")
        if m in item
    )
    assert f"{operations} endpoints" in page
    # Nothing is loaded from elsewhere: every script and stylesheet is CityMeter's own.
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert not url.startswith(("http://", "https://", "//")), url
    assert client.get("/docs").status_code == 404
    assert "API 문서" in client.get("/api-docs").text
