"""Every Open311 GeoReport v2 endpoint in JSON and XML, the field names, and bad input."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.cli.common import CLI_ACTOR
from citymeter.complaints import service
from citymeter.complaints.models import ServiceRequest, StatusChange
from citymeter.complaints.open311 import REQUEST_FIELDS, SERVICE_FIELDS
from citymeter.places.service import add_area, create_city

PERSONAL = ("first_name", "last_name", "email", "phone", "device_id", "account_id")
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[127.0, 37.5], [127.1, 37.5], [127.1, 37.6], [127.0, 37.6], [127.0, 37.5]]],
}


@pytest.fixture
def city_setup(db: Session) -> dict[str, str]:
    city = create_city(db, CLI_ACTOR, code="testcity", name="Test City")
    add_area(db, CLI_ACTOR, city=city, code="d1", level="district", name="D1", boundary=SQUARE)
    service.create_service_type(
        db,
        CLI_ACTOR,
        city,
        code="pothole",
        name="Pothole",
        group="Streets",
        target_hours=48,
        department="Roads",
        attributes=[
            {
                "code": "size",
                "datatype": "singlevaluelist",
                "required": True,
                "description": "How big",
                "values": [{"key": "s", "name": "Small"}, {"key": "l", "name": "Large"}],
            }
        ],
    )
    accounts.create_user(db, CLI_ACTOR, username="clerk", role="official", password=None)
    accounts.create_user(db, CLI_ACTOR, username="viewer", role="assessor", password=None)
    _, secret = accounts.create_token(db, CLI_ACTOR, "clerk", "311 app")
    _, weak = accounts.create_token(db, CLI_ACTOR, "viewer", "nope")
    db.flush()
    return {"key": secret, "weak": weak}


def _post(client: TestClient, fmt: str, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(f"/open311/v2/requests.{fmt}", data=fields)


def _good(key: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "pothole",
        "lat": "37.55",
        "long": "127.05",
        "description": "Deep hole",
        "attribute[size]": "l",
        "email": "me@example.org",
        "first_name": "Kim",
        "phone": "010-1234",
    }


def _count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ServiceRequest)) or 0


def test_post_then_read_in_both_formats(
    client: TestClient, db: Session, city_setup: dict[str, str]
) -> None:
    created = _post(client, "json", **_good(city_setup["key"]))
    assert created.status_code == 201, created.text
    [body] = created.json()
    rid, token = body["service_request_id"], body["token"]
    stored = db.scalar(select(ServiceRequest))
    assert (
        stored is not None and stored.district_id is not None and stored.email == "me@example.org"
    )
    assert stored.expected_at is not None
    assert (stored.expected_at - stored.requested_at).total_seconds() == 48 * 3600
    assert db.scalar(select(func.count()).select_from(StatusChange)) == 1

    xml_created = _post(client, "xml", **_good(city_setup["key"]))
    assert xml_created.status_code == 201
    root = ET.fromstring(xml_created.content)
    assert root.tag == "service_requests" and root.find("request/token") is not None

    listing = client.get("/open311/v2/requests.json", params={"status": "open", "page_size": 1})
    assert listing.status_code == 200 and len(listing.json()) == 1
    item = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert tuple(item) == REQUEST_FIELDS
    assert item["service_name"] == "Pothole" and item["agency_responsible"] == "Roads"
    assert item["status"] == "open" and item["lat"] == 37.55
    everything = client.get("/open311/v2/requests.json").text
    for name in PERSONAL:
        assert name not in everything
    assert "me@example.org" not in everything and "Kim" not in everything

    xml = ET.fromstring(client.get(f"/open311/v2/requests/{rid}.xml").content)
    assert xml.tag == "service_requests"
    [request] = xml.findall("request")
    assert [child.tag for child in request] == list(REQUEST_FIELDS)
    assert request.findtext("service_request_id") == rid
    xml_all = client.get("/open311/v2/requests.xml").text
    assert "me@example.org" not in xml_all and "<email" not in xml_all

    tok = client.get(f"/open311/v2/tokens/{token}.json").json()
    assert tok == [{"service_request_id": rid, "token": token}]
    tok_xml = ET.fromstring(client.get(f"/open311/v2/tokens/{token}.xml").content)
    assert tok_xml.findtext("request/service_request_id") == rid

    filtered = client.get(
        "/open311/v2/requests.json", params={"service_code": "other", "status": "open"}
    )
    assert filtered.json() == []
    by_id = client.get("/open311/v2/requests.json", params={"service_request_id": rid})
    assert [r["service_request_id"] for r in by_id.json()] == [rid]


def test_services_definition_and_discovery(client: TestClient, city_setup: dict[str, str]) -> None:
    services = client.get("/open311/v2/services.json").json()
    assert [tuple(s) for s in services] == [SERVICE_FIELDS]
    assert services[0]["metadata"] is True and services[0]["type"] == "realtime"
    xml = ET.fromstring(client.get("/open311/v2/services.xml").content)
    assert xml.tag == "services" and xml.findtext("service/service_code") == "pothole"
    definition = client.get("/open311/v2/services/pothole.json").json()
    assert definition["service_code"] == "pothole"
    [attr] = definition["attributes"]
    assert attr["code"] == "size" and attr["required"] is True
    assert attr["values"] == [{"key": "s", "name": "Small"}, {"key": "l", "name": "Large"}]
    dxml = ET.fromstring(client.get("/open311/v2/services/pothole.xml").content)
    assert dxml.tag == "service_definition"
    assert [v.findtext("key") for v in dxml.findall("attributes/attribute/values/value")] == [
        "s",
        "l",
    ]
    disco = client.get("/open311/v2/discovery.json").json()
    assert disco["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert ET.fromstring(client.get("/open311/v2/discovery.xml").content).tag == "discovery"


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"service_code": "nosuch"}, 400, "no service with the code"),
        ({"lat": "35.0", "long": "129.0"}, 400, "outside Test City"),
        ({"description": "x" * 4001}, 400, "4001 characters"),
        ({"api_key": ""}, 403, "api_key is required"),
        ({"attribute[size]": ""}, 400, "is required"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_requests_answer_open311_errors_and_store_nothing(
    client: TestClient,
    db: Session,
    city_setup: dict[str, str],
    change: dict[str, str],
    status: int,
    words: str,
    fmt: str,
) -> None:
    fields = {**_good(city_setup["key"]), **change}
    answer = _post(client, fmt, **fields)
    assert answer.status_code == status
    if fmt == "json":
        [error] = answer.json()
        assert error["code"] == status and words in error["description"]
    else:
        root = ET.fromstring(answer.content)
        assert root.tag == "errors"
        assert root.findtext("error/code") == str(status)
        assert words in (root.findtext("error/description") or "")
    assert _count(db) == 0


def test_role_without_permission_and_unknown_ids(
    client: TestClient, db: Session, city_setup: dict[str, str]
) -> None:
    refused = _post(client, "json", **_good(city_setup["weak"]))
    assert refused.status_code == 403 and "complaints:write" in refused.json()[0]["description"]
    bearer = client.post(
        "/open311/v2/requests.json",
        data={k: v for k, v in _good(city_setup["key"]).items() if k != "api_key"},
        headers={"Authorization": f"Bearer {city_setup['key']}"},
    )
    assert bearer.status_code == 201
    missing = client.get("/open311/v2/requests/none.xml")
    assert missing.status_code == 404
    assert ET.fromstring(missing.content).findtext("error/code") == "404"
    assert client.get("/open311/v2/services/nope.json").status_code == 404
    bad = client.get("/open311/v2/requests.json", params={"status": "pending"})
    assert bad.status_code == 400 and "open or closed" in bad.json()[0]["description"]
    assert _count(db) == 1


def test_a_form_that_cannot_be_read_is_an_open311_error(
    client: TestClient, db: Session, city_setup: dict[str, str]
) -> None:
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    latin1 = client.post(
        "/open311/v2/requests.json",
        content=b"service_code=pothole&description=caf\xe9",
        headers=urlencoded,
    )
    assert latin1.status_code == 400 and "UTF-8" in latin1.json()[0]["description"]
    flood = "&".join(f"f{i}=x" for i in range(1001))
    too_many = client.post("/open311/v2/requests.xml", content=flood, headers=urlencoded)
    assert too_many.status_code == 400
    assert "1000 fields" in (ET.fromstring(too_many.content).findtext("error/description") or "")
    # Percent-escaped Korean and '+' for spaces decode as every form parser does.
    korean = client.post(
        "/open311/v2/requests.json",
        content="api_key={}&service_code=pothole&lat=37.55&long=127.05&attribute%5Bsize%5D=s"
        "&description=%EB%8F%84%EB%A1%9C+%ED%8C%8C%EC%86%90".format(city_setup["key"]),
        headers=urlencoded,
    )
    assert korean.status_code == 201
    stored = db.scalar(select(ServiceRequest.description))
    assert stored == "도로 파손"
    assert _count(db) == 1
