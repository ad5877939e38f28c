"""@context handling (Link header, body, core context served locally) and media types."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.entities.models import Entity
from citymeter.ngsi.context import CORE_CONTEXT_PATH, ETSI_CORE_URL, parse_link_header, resolve
from tests.ngsi.conftest import NGSI, WEST, SmallCity, station

ERR = "https://uri.etsi.org/ngsi-ld/errors/"
W1 = "urn:ngsi-ld:AirQualityStation:W1"
CTX_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
USER_CONTEXT = {
    "Station": "https://uri.etsi.org/ngsi-ld/default-context/AirQualityStation",
    "coarseDust": "https://uri.etsi.org/ngsi-ld/default-context/pm10",
}


def test_context_terms_expand_and_compact() -> None:
    ctx = resolve(
        [
            {
                "coarseDust": "https://uri.etsi.org/ngsi-ld/default-context/pm10",
                "ex": "https://example.org/",
            },
            ETSI_CORE_URL,
        ]
    )
    assert ctx.expand("coarseDust") == "pm10"
    assert ctx.compact("pm10") == "coarseDust"
    assert ctx.expand("ex:speed") == "https://example.org/speed"
    assert ctx.expand("observedAt") == "observedAt"
    assert ctx.expand("other") == "other"
    link = f'<{ETSI_CORE_URL}>; {CTX_REL}, <https://x.org/a>; rel="next"'
    assert parse_link_header(link) == ETSI_CORE_URL


def test_core_context_is_served_locally(client: TestClient) -> None:
    response = client.get(CORE_CONTEXT_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    context = response.json()["@context"]
    assert context["@vocab"] == "https://uri.etsi.org/ngsi-ld/default-context/"
    assert context["value"] == "ngsi-ld:hasValue"
    assert context["object"]["@id"] == "ngsi-ld:hasObject"


def test_responses_carry_the_context_as_link_or_in_the_body(
    client: TestClient, stations: list[str]
) -> None:
    url = f"{NGSI}/entities/{W1}"
    plain = client.get(url)
    assert plain.headers["content-type"] == "application/json"
    assert f"{CORE_CONTEXT_PATH}>" in plain.headers["link"]
    assert "@context" not in plain.json()
    linked = client.get(url, headers={"Link": f"<{ETSI_CORE_URL}>; {CTX_REL}"})
    assert linked.status_code == 200
    assert linked.headers["link"].startswith(f"<{ETSI_CORE_URL}>")
    ld = client.get(url, headers={"Accept": "application/ld+json"})
    assert ld.headers["content-type"] == "application/ld+json"
    assert ld.json()["@context"].endswith(CORE_CONTEXT_PATH)
    assert "link" not in ld.headers
    listed = client.get(
        f"{NGSI}/entities",
        params={"type": "AirQualityStation"},
        headers={"Accept": "application/ld+json"},
    )
    assert all("@context" in e for e in listed.json())
    geo = client.get(url, headers={"Accept": "application/geo+json"})
    assert geo.json()["type"] == "Feature"
    assert geo.json()["geometry"] == {"type": "Point", "coordinates": list(WEST)}


def test_remote_contexts_are_not_fetched(
    client: TestClient, db: Session, small_city: SmallCity, writer: dict[str, str]
) -> None:
    remote = "https://example.org/my-context.jsonld"
    response = client.get(
        f"{NGSI}/entities",
        params={"type": "AirQualityStation"},
        headers={"Link": f"<{remote}>; {CTX_REL}"},
    )
    assert response.status_code == 503
    assert response.json()["type"] == ERR + "LdContextNotAvailable"
    body = {**station("R", WEST, 1.0), "@context": remote}
    created = client.post(
        f"{NGSI}/entities", json=body, headers={**writer, "Content-Type": "application/ld+json"}
    )
    assert created.status_code == 503
    assert db.scalar(select(func.count(Entity.id))) == 0


def test_ld_json_bodies_carry_their_context_and_json_bodies_must_not(
    client: TestClient, db: Session, small_city: SmallCity, writer: dict[str, str]
) -> None:
    ld = {**writer, "Content-Type": "application/ld+json"}
    body = {
        "id": "urn:ngsi-ld:AirQualityStation:L1",
        "type": "Station",
        "coarseDust": {"type": "Property", "value": 33.0},
        "@context": [USER_CONTEXT, ETSI_CORE_URL],
    }
    created = client.post(f"{NGSI}/entities", json=body, headers=ld)
    assert created.status_code == 201, created.text
    # Stored under the core names: the plain API sees pm10 on an AirQualityStation.
    plain = client.get(f"{NGSI}/entities/{body['id']}", params={"options": "keyValues"}).json()
    assert plain["type"] == "AirQualityStation" and plain["pm10"] == 33.0
    no_context = client.post(f"{NGSI}/entities", json=station("L2", WEST, 1.0), headers=ld)
    assert no_context.status_code == 400
    assert "@context" in no_context.json()["detail"]
    with_link = client.post(
        f"{NGSI}/entities",
        json={**station("L3", WEST, 1.0), "@context": ETSI_CORE_URL},
        headers={**ld, "Link": f"<{ETSI_CORE_URL}>; {CTX_REL}"},
    )
    assert with_link.status_code == 400
    json_with_context = client.post(
        f"{NGSI}/entities",
        json={**station("L4", WEST, 1.0), "@context": ETSI_CORE_URL},
        headers=writer,
    )
    assert json_with_context.status_code == 400
    assert db.scalar(select(func.count(Entity.id))) == 1


def test_media_type_errors(
    client: TestClient, db: Session, small_city: SmallCity, writer: dict[str, str]
) -> None:
    text = client.post(
        f"{NGSI}/entities", content=b"id=1", headers={**writer, "Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    assert text.headers["content-type"] == "application/json"
    assert text.json()["type"] == ERR + "InvalidRequest"
    merge = client.post(
        f"{NGSI}/entities",
        content=b"{}",
        headers={**writer, "Content-Type": "application/merge-patch+json"},
    )
    assert merge.status_code == 415
    broken = client.post(f"{NGSI}/entities", content=b'{"id": ', headers=writer)
    assert broken.status_code == 400
    assert broken.json()["type"] == ERR + "InvalidRequest"
    xml = client.get(
        f"{NGSI}/entities",
        params={"type": "AirQualityStation"},
        headers={"Accept": "application/xml"},
    )
    assert xml.status_code == 406
    weighted = client.get(
        f"{NGSI}/entities",
        params={"type": "AirQualityStation"},
        headers={"Accept": "application/xml, application/ld+json;q=0.5, */*;q=0.1"},
    )
    assert weighted.headers["content-type"] == "application/ld+json"
    assert db.scalar(select(func.count(Entity.id))) == 0
