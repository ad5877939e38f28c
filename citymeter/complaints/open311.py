"""GeoReport v2 representations: the same dicts rendered as JSON or XML, with the field names of
the specification. Requester fields are never part of them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from citymeter.complaints.models import ServiceRequest, ServiceType

if TYPE_CHECKING:
    from citymeter.complaints.service import FiledRequest

FORMATS = ("json", "xml")

# The fields of a service request in GeoReport v2, in the specification's order.
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
SERVICE_FIELDS = (
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
)


def _time(value: dt.datetime | None) -> str | None:
    # W3C / ISO 8601 with offset, as the specification asks.
    return value.isoformat(timespec="seconds") if value is not None else None


def service_dict(service: ServiceType) -> dict[str, Any]:
    return {
        "service_code": service.service_code,
        "service_name": service.name,
        "description": service.description,
        "metadata": service.has_metadata,
        "type": service.kind,
        "keywords": service.keywords,
        "group": service.group,
    }


def definition_dict(service: ServiceType) -> dict[str, Any]:
    return {
        "service_code": service.service_code,
        "attributes": [
            {
                "variable": a["variable"],
                "code": a["code"],
                "datatype": a["datatype"],
                "required": a["required"],
                "datatype_description": a.get("datatype_description"),
                "order": a["order"],
                "description": a["description"],
                **({"values": a["values"]} if a["values"] else {}),
            }
            for a in sorted(service.attributes, key=lambda a: a["order"])
        ],
    }


def request_dict(request: ServiceRequest, service_name: str) -> dict[str, Any]:
    """The public view of a request (no requester fields)."""
    return {
        "service_request_id": request.service_request_id,
        "status": request.status,
        "status_notes": request.status_notes,
        "service_name": service_name,
        "service_code": request.service_code,
        "description": request.description,
        "agency_responsible": request.department,
        "service_notice": request.service_notice,
        "requested_datetime": _time(request.requested_at),
        "updated_datetime": _time(request.updated_at),
        "expected_datetime": _time(request.expected_at),
        "address": request.address,
        "address_id": request.address_id,
        "zipcode": request.zipcode,
        "lat": request.lat,
        "long": request.long,
        "media_url": request.media_url,
    }


def created_dict(request: ServiceRequest | FiledRequest) -> dict[str, Any]:
    return {
        "service_request_id": request.service_request_id,
        "token": request.token,
        "service_notice": request.service_notice,
        "account_id": None,
    }


def token_dict(request: ServiceRequest) -> dict[str, Any]:
    return {"service_request_id": request.service_request_id, "token": request.token}


def discovery_dict(base_url: str, contact: str) -> dict[str, Any]:
    return {
        "changeset": "2026-01-01T00:00:00Z",
        "contact": contact,
        "key_service": "Ask the city's CityMeter administrator for an API token.",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base_url,
                "changeset": "2026-01-01T00:00:00Z",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }


def errors_list(code: int, descriptions: Iterable[str]) -> list[dict[str, Any]]:
    return [{"code": code, "description": d} for d in descriptions]


# ------------------------------------------------------------------ rendering

# List responses: the root element and the element per item, as in the specification.
XML_ROOTS = {
    "services": ("services", "service"),
    "requests": ("service_requests", "request"),
    "created": ("service_requests", "request"),
    "tokens": ("service_requests", "request"),
    "errors": ("errors", "error"),
}


def _xml_value(parent: ET.Element, key: str, value: Any) -> None:
    node = ET.SubElement(parent, key)
    if value is None:
        return
    if isinstance(value, bool):
        node.text = "true" if value else "false"
    elif isinstance(value, dict):
        for k, v in value.items():
            _xml_value(node, k, v)
    elif isinstance(value, list):
        # Lists inside an item: <values><value>…</value></values>, <attributes><attribute>…
        child = key[:-1] if key.endswith("s") else "item"
        for item in value:
            _xml_value(node, child, item)
    else:
        node.text = str(value)


def to_xml_list(kind: str, items: list[dict[str, Any]]) -> bytes:
    root_name, item_name = XML_ROOTS[kind]
    root = ET.Element(root_name)
    for item in items:
        node = ET.SubElement(root, item_name)
        for key, value in item.items():
            _xml_value(node, key, value)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def to_xml_object(root_name: str, item: dict[str, Any]) -> bytes:
    root = ET.Element(root_name)
    for key, value in item.items():
        _xml_value(root, key, value)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def to_json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()
