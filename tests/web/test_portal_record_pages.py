"""Incident, complaint, pledge and suggestion pages per role: lists with their filters, detail
pages, and personal fields only for those who see the district's internal data."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.portal_store import (  # noqa: F401  (portal_fixture gives `portal`)
    AUTHOR,
    REQUESTER,
    SECRET_ADDRESS,
    SECRET_REMARK,
    PortalStore,
    portal_fixture,
)

Portal = tuple[TestClient, PortalStore]


def test_incident_list_filters(portal: Portal) -> None:
    client, _ = portal
    page = client.get("/incidents?lang=en").text
    assert "T-own" in page and "T-other" in page and "Showing 2 of 2" in page
    assert SECRET_REMARK not in page and SECRET_ADDRESS not in page
    assert client.get("/incidents?type=no-such-type&lang=en").text.count("No incident matches") == 1
    assert "T-own" not in client.get("/incidents?since=2026-10-21&lang=en").text
    assert "T-own" in client.get("/incidents?since=2026-10-20T08:00:00%2B00:00&lang=en").text
    bad = client.get("/incidents?near=city+hall&lang=en")
    assert bad.status_code == 422 and "near is latitude,longitude" in bad.text


def test_incidents_near_a_point_nearest_first(portal: Portal) -> None:
    client, store = portal
    own = client.get(f"/incidents/{store.incidents['own']}?lang=en").text
    coordinates = own[own.index("Coordinates</dt><dd>") + len("Coordinates</dt><dd>") :].split(
        " ("
    )[0]
    lat, lon = (c.strip() for c in coordinates.split(","))
    near = client.get(f"/incidents?near={lat},{lon}&radius=300&lang=en").text
    assert "T-own" in near and "T-other" not in near and "Distance" in near
    wide = client.get(f"/incidents?near={lat},{lon}&radius=20000&lang=en").text
    assert wide.index("T-own") < wide.index("T-other")


def test_incident_page_for_the_public(portal: Portal) -> None:
    client, store = portal
    response = client.get(f"/incidents/{store.incidents['own']}?lang=en")
    assert response.status_code == 200
    page = response.text
    assert "Timeline by unit" in page and "Unit E-11" in page and "Unit A-2" in page
    assert "1 min 30 s" in page  # call to dispatch
    assert "5 min 20 s" in page  # dispatch to arrival
    # CCTV nearest first, with distance; the internal camera is absent for the public.
    assert page.index("CCTV near own") < page.index("CCTV far own")
    assert "CCTV hidden own" not in page
    assert SECRET_REMARK not in page and SECRET_ADDRESS not in page
    assert "are not published" in page
    korean = client.get(f"/incidents/{store.incidents['own']}").text
    assert (
        "출동 단위별 진행" in korean
        and "1분 30초" in korean
        and "2026년 10월 20일 18:00:00" in korean
    )
    missing = client.get("/incidents/NOPE?lang=en")
    assert missing.status_code == 404 and "No incident" in missing.text


def test_incident_internal_fields_by_role(portal: Portal) -> None:
    client, store = portal
    mayor = client.get(
        f"/incidents/{store.incidents['other']}?lang=en", headers=store.headers("mayor")
    ).text
    assert SECRET_REMARK in mayor and SECRET_ADDRESS in mayor and "CCTV hidden other" in mayor
    head = store.headers("district_head")
    own = client.get(f"/incidents/{store.incidents['own']}?lang=en", headers=head).text
    assert SECRET_REMARK in own and "CCTV hidden own" in own
    other = client.get(f"/incidents/{store.incidents['other']}?lang=en", headers=head).text
    assert SECRET_REMARK not in other and SECRET_ADDRESS not in other
    assert "CCTV hidden other" not in other and "CCTV near other" in other


def test_complaint_list_filters(portal: Portal) -> None:
    client, store = portal
    page = client.get("/complaints?lang=en").text
    for key in ("own", "other", "late"):
        assert store.complaints[key] in page
    assert "3 in all" in page
    assert REQUESTER[2] not in page and SECRET_ADDRESS not in page
    closed = client.get("/complaints?status=closed&lang=en").text
    assert store.complaints["other"] in closed and store.complaints["own"] not in closed
    late = client.get("/complaints?late=1&lang=en").text
    assert store.complaints["late"] in late and store.complaints["own"] not in late
    assert ">late</span>" in late
    by_district = client.get(f"/complaints?district={store.districts[1]}&lang=en").text
    assert store.complaints["other"] in by_district and store.complaints["own"] not in by_district
    bad = client.get("/complaints?status=lost&lang=en")
    assert bad.status_code == 422 and "status is open or closed" in bad.text


def test_complaint_page_without_personal_fields_for_the_public(portal: Portal) -> None:
    client, store = portal
    page = client.get(f"/complaints/{store.complaints['late']}?lang=en").text
    assert "Pothole" in page and "Past its deadline and still open." in page
    assert "Status history" in page and "A deep pothole (late)" in page
    for personal in (*REQUESTER, SECRET_ADDRESS):
        assert personal not in page
    assert "are not published" in page
    closed = client.get(f"/complaints/{store.complaints['other']}?lang=en").text
    assert "Filled in" in closed and ">closed</span>" in closed and "on time" in closed
    assert "By (internal)" not in closed  # who closed it is internal
    korean = client.get(f"/complaints/{store.complaints['other']}").text
    assert "처리 완료" in korean and "처리 경과" in korean


def test_complaint_requester_for_internal_readers_only(portal: Portal) -> None:
    client, store = portal
    mayor = client.get(
        f"/complaints/{store.complaints['other']}?lang=en", headers=store.headers("mayor")
    ).text
    assert REQUESTER[2] in mayor and SECRET_ADDRESS in mayor and "By (internal)" in mayor
    head = store.headers("district_head")
    own = client.get(f"/complaints/{store.complaints['own']}?lang=en", headers=head).text
    assert REQUESTER[2] in own and REQUESTER[3] in own
    other = client.get(f"/complaints/{store.complaints['other']}?lang=en", headers=head).text
    assert REQUESTER[2] not in other and SECRET_ADDRESS not in other


def test_pledge_board_and_page(portal: Portal) -> None:
    client, _ = portal
    board = client.get("/pledges?lang=en").text
    assert "Mayoral pledges" in board and 'id="pledge-1"' in board
    cards = board.count('<li id="pledge-')
    counts = re.findall(r'<li><span class="status status-(\w+)">[^<]+</span> (\d+)</li>', board)
    assert cards == 12 and sum(int(n) for _, n in counts) == cards and len(counts) >= 2
    assert 'role="img" aria-label="Progress' in board
    page = client.get("/pledges/1?lang=en").text
    assert "Employment rate" in page and 'href="/indicators/employment_rate?lang=en"' in page
    assert "Milestones" in page and "Mid-term review" in page and "Status history" in page
    korean = client.get("/pledges/1").text
    assert "시장 공약" in korean and "진척도" in korean
    missing = client.get("/pledges/999?lang=en")
    assert missing.status_code == 404 and "no pledge 999" in missing.text


def test_suggestions_without_their_author_for_the_public(portal: Portal) -> None:
    client, store = portal
    listing = client.get("/suggestions?lang=en").text
    assert "More benches in the park" in listing and ">adopted</span>" in listing
    page = client.get(f"/suggestions/{store.suggestion_id}?lang=en").text
    assert "Ten benches will be installed." in page and "Parks Division" in page
    assert AUTHOR[0] not in page and AUTHOR[1] not in page
    mayor = client.get(
        f"/suggestions/{store.suggestion_id}?lang=en", headers=store.headers("mayor")
    ).text
    assert AUTHOR[0] in mayor and AUTHOR[1] in mayor
    head = client.get(
        f"/suggestions/{store.suggestion_id}?lang=en", headers=store.headers("district_head")
    ).text
    assert AUTHOR[0] in head  # filed in the head's own district
    assert "채택" in client.get(f"/suggestions/{store.suggestion_id}").text
    other = client.get(f"/suggestions?district={store.districts[1]}&lang=en").text
    assert "More benches in the park" not in other
    empty = client.get("/suggestions?page=9999&lang=en").text
    assert "No suggestion matches these filters." in empty
