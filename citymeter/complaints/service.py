"""Service types and service requests: define, submit, list, close.

Requests are located with the city's area locator (deepest area and its district); a city without
boundaries stores them with no area. Personal requester fields are stored but never returned by
`public_request`.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.complaints.models import (
    MAX_DESCRIPTION,
    SERVICE_KINDS,
    ServiceRequest,
    ServiceType,
    StatusChange,
)
from citymeter.db.base import utcnow
from citymeter.db.driver_insert import DriverInsert
from citymeter.db.reference import ReferenceCache
from citymeter.errors import Conflict, InvalidInput, NotFound
from citymeter.live.events import LiveEvent, publish_after_commit
from citymeter.places import locator as places_locator
from citymeter.places.models import Area, City, CityKey

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
DISTRICT_LEVEL = "district"
MAX_PAGE_SIZE = 1000
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,120}$")


def _check_attributes(definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = []
    for i, attr in enumerate(definitions, start=1):
        code = str(attr.get("code", "")).strip()
        datatype = attr.get("datatype", "string")
        if not code or datatype not in DATATYPES:
            raise InvalidInput(
                f"Attribute {i} needs a code and a datatype among {', '.join(DATATYPES)}."
            )
        values = attr.get("values") or []
        if datatype.endswith("valuelist") and not values:
            raise InvalidInput(f"Attribute {code!r} is a {datatype} and needs values.")
        checked.append(
            {
                "variable": bool(attr.get("variable", True)),
                "code": code,
                "datatype": datatype,
                "required": bool(attr.get("required", False)),
                "datatype_description": attr.get("datatype_description"),
                "order": int(attr.get("order", i)),
                "description": str(attr.get("description", code)),
                "values": [{"key": str(v["key"]), "name": str(v["name"])} for v in values],
            }
        )
    return checked


def create_service_type(
    session: Session,
    actor: Viewer,
    city: City,
    *,
    code: str,
    name: str,
    description: str = "",
    group: str = "",
    keywords: str = "",
    kind: str = "realtime",
    target_hours: float | None = None,
    department: str = "",
    attributes: list[dict[str, Any]] | None = None,
) -> ServiceType:
    """A new service type of `city`; its attributes follow the Open311 definition format."""
    if not _CODE.match(code):
        raise InvalidInput(
            f"A service code is 1-120 letters, digits, '_', '.', '-'; {code!r} is not."
        )
    if not name.strip():
        raise InvalidInput("A service type needs a name.")
    if kind not in SERVICE_KINDS:
        raise InvalidInput(f"The type is one of {', '.join(SERVICE_KINDS)}, not {kind!r}.")
    if target_hours is not None and target_hours <= 0:
        raise InvalidInput("Target hours must be positive (the deadline after opening).")
    if find_service(session, city, code) is not None:
        raise Conflict(f"{city.name} already has a service with the code {code!r}.")
    checked = _check_attributes(attributes or [])
    service = ServiceType(
        city_id=city.id,
        service_code=code,
        name=name.strip(),
        description=description,
        group=group,
        keywords=keywords,
        has_metadata=bool(checked),
        kind=kind,
        target_hours=target_hours,
        department=department,
        attributes=checked,
    )
    session.add(service)
    session.flush()
    audit.record(
        session, actor, "complaints.service.create", "service_type", service.id, {"code": code}
    )
    return service


# Built once: every filed request looks its service up.
_OF_CITY_WITH_CODE = and_(
    ServiceType.city_id == bindparam("city_id"), ServiceType.service_code == bindparam("code")
)
_SERVICE_BY_CODE = select(ServiceType).where(_OF_CITY_WITH_CODE)


def find_service(session: Session, city: CityKey, code: str) -> ServiceType | None:
    return session.scalar(_SERVICE_BY_CODE, {"city_id": city.id, "code": code})


@dataclass(frozen=True)
class ServiceRule:
    """What filing needs of a service type, read as plain columns (no ORM object)."""

    id: int
    service_code: str
    target_hours: float | None
    department: str
    attributes: tuple[dict[str, Any], ...]  # read only: the rule is shared while it is kept


_SERVICE_RULE = select(
    ServiceType.id,
    ServiceType.service_code,
    ServiceType.target_hours,
    ServiceType.department,
    ServiceType.attributes,
).where(_OF_CITY_WITH_CODE)


_SERVICE_RULES_KEPT: ReferenceCache[ServiceRule | None] = ReferenceCache(
    ("complaint_service_types",)
)


def _service_rule(session: Session, city: CityKey, code: str) -> ServiceRule | None:
    """The rule of a city's service type, kept while the service types are unchanged (a type
    added in this session counts: the lookup flushes first)."""

    def load() -> ServiceRule | None:
        parameters = {"city_id": city.id, "code": code}
        row = session.connection().execute(_SERVICE_RULE, parameters).first()
        if row is None:
            return None
        type_id, service_code, target_hours, department, attributes = row
        return ServiceRule(type_id, service_code, target_hours, department, tuple(attributes or ()))

    return _SERVICE_RULES_KEPT.get(session, (city.id, code), load)


def get_service(session: Session, city: City, code: str) -> ServiceType:
    service = find_service(session, city, code)
    if service is None:
        raise NotFound(f"{city.name} has no service with the code {code!r}; see services.json.")
    return service


def list_services(session: Session, city: City) -> list[ServiceType]:
    return list(
        session.scalars(
            select(ServiceType)
            .where(ServiceType.city_id == city.id)
            .order_by(ServiceType.group, ServiceType.name)
        )
    )


@dataclass
class NewRequest:
    """What a client submits (POST requests)."""

    service_code: str
    lat: float | None = None
    long: float | None = None
    address: str | None = None
    address_id: str | None = None
    description: str | None = None
    attributes: dict[str, str | list[str]] = field(default_factory=dict)
    media_url: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    device_id: str | None = None
    account_id: str | None = None


def _check_values(service: ServiceRule, given: dict[str, str | list[str]]) -> dict[str, Any]:
    definitions = {a["code"]: a for a in service.attributes}
    unknown = sorted(set(given) - set(definitions))
    if unknown:
        raise InvalidInput(
            f"The service {service.service_code!r} has no attribute {', '.join(unknown)}."
        )
    values: dict[str, Any] = {}
    for code, attr in definitions.items():
        value = given.get(code)
        if value in (None, "", []):
            if attr["required"]:
                raise InvalidInput(f"The attribute {code!r} ({attr['description']}) is required.")
            continue
        keys = {v["key"] for v in attr["values"]}
        items = value if isinstance(value, list) else [value]
        if attr["datatype"] == "singlevaluelist" and (len(items) != 1 or items[0] not in keys):
            raise InvalidInput(f"The attribute {code!r} takes one of {', '.join(sorted(keys))}.")
        if attr["datatype"] == "multivaluelist" and not set(items) <= keys:
            raise InvalidInput(f"The attribute {code!r} takes values among {sorted(keys)}.")
        if attr["datatype"] == "number":
            try:
                float(str(items[0]))
            except ValueError:
                raise InvalidInput(f"The attribute {code!r} is a number.") from None
        values[code] = items if attr["datatype"] == "multivaluelist" else items[0]
    return values


@dataclass(frozen=True)
class Placed:
    """Where a point fell: its smallest area and district (None when the city has no
    boundaries to check against), and whether it is inside the city at all."""

    area_id: int | None
    district_id: int | None
    district_code: str | None
    inside: bool


def place(session: Session, city: CityKey, lat: float, lon: float) -> Placed:
    try:
        locator = places_locator.cached_locator(session, city)
    except InvalidInput:
        return Placed(None, None, None, True)
    where = locator.locate(lat, lon)
    if where is None:
        return Placed(None, None, None, False)
    district = where.at_level(DISTRICT_LEVEL)
    if district is None:
        return Placed(where.area.id, None, None, True)
    return Placed(where.area.id, district.id, district.code, True)


def locate(
    session: Session, city: City, lat: float, lon: float
) -> tuple[int | None, int | None, bool]:
    """(area id, district id, inside?) of a point; a city without boundaries answers (None,
    None, True): nothing to check against."""
    placed = place(session, city, lat, lon)
    return placed.area_id, placed.district_id, placed.inside


_REQUEST_TABLE = cast(Table, ServiceRequest.__table__)
_STATUS_TABLE = cast(Table, StatusChange.__table__)
# Columns a filed request leaves empty, named so that the stored object has no unloaded column.
_UNSET_REQUEST_FIELDS: dict[str, Any] = dict.fromkeys(
    (
        "status_notes",
        "closed_at",
        "zipcode",
        "location_flag",
        "source_area",
        "service_notice",
        "import_batch",
    )
)
# Filing's two rows, on the driver's cursor (see citymeter.db.driver_insert).
_FILED_REQUEST = DriverInsert(
    _REQUEST_TABLE,
    [column.key for column in _REQUEST_TABLE.c if column.key != "id"],
    returning="id",
)
_FIRST_STATUS = DriverInsert(_STATUS_TABLE, ["request_id", "status", "changed_at", "actor"])


@dataclass(frozen=True)
class FiledRequest:
    """What filing answers (Open311's POST response), without loading the stored request."""

    id: int
    service_request_id: str
    token: str
    service_notice: str | None = None


def submit_request(session: Session, actor: Viewer, city: City, new: NewRequest) -> ServiceRequest:
    """`file_request`, returning the stored request itself."""
    filed = file_request(session, actor, city, new)
    request = session.get(ServiceRequest, filed.id)
    assert request is not None  # inserted in this transaction
    return request


def file_request(session: Session, actor: Viewer, city: CityKey, new: NewRequest) -> FiledRequest:
    """Check everything first, then store the request and its first status (all or nothing)."""
    service = _service_rule(session, city, new.service_code)
    if service is None:
        raise InvalidInput(
            f"{city.name} has no service with the code {new.service_code!r}; see services.json."
        )
    if new.description is not None and len(new.description) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"The description has {len(new.description)} characters; at most "
            f"{MAX_DESCRIPTION} are accepted."
        )
    has_point = new.lat is not None and new.long is not None
    if not has_point and not (new.address or new.address_id):
        raise InvalidInput("Give a location: lat and long, or address_string, or address_id.")
    placed = Placed(None, None, None, True)
    if has_point:
        assert new.lat is not None and new.long is not None
        if not (-90 <= new.lat <= 90 and -180 <= new.long <= 180):
            raise InvalidInput(f"({new.lat}, {new.long}) is not a latitude and longitude.")
        placed = place(session, city, new.lat, new.long)
        if not placed.inside:
            raise InvalidInput(
                f"The location ({new.lat}, {new.long}) is outside {city.name}; this service "
                "takes requests within the city."
            )
    attributes = _check_values(service, new.attributes)
    now = utcnow()
    values: dict[str, Any] = {
        **_UNSET_REQUEST_FIELDS,
        "city_id": city.id,
        "service_request_id": f"{city.code}-{secrets.token_hex(6)}",
        "token": secrets.token_hex(12),
        "service_type_id": service.id,
        "service_code": service.service_code,
        "status": "open",
        "description": new.description,
        "requested_at": now,
        "updated_at": now,
        "expected_at": (
            now + dt.timedelta(hours=service.target_hours) if service.target_hours else None
        ),
        "address": new.address,
        "address_id": new.address_id,
        "lat": new.lat,
        "long": new.long,
        "area_id": placed.area_id,
        "district_id": placed.district_id,
        "department": service.department or None,
        "first_name": new.first_name,
        "last_name": new.last_name,
        "email": new.email,
        "phone": new.phone,
        "device_id": new.device_id,
        "account_id": new.account_id,
        "attributes": attributes,
        "media_url": new.media_url,
        "source_id": "open311",
    }
    # Two INSERTs on the driver's cursor instead of the unit of work, no object built: filing is
    # the complaint feed's hot path, and the ORM's bookkeeping cost more than the inserts.
    connection = session.connection()
    request_id = _FILED_REQUEST.run(connection, values)
    _FIRST_STATUS.run(
        connection,
        {"request_id": request_id, "status": "open", "changed_at": now, "actor": actor.label},
    )
    publish_after_commit(
        session, _complaint_event("complaint.created", values, placed.district_code)
    )
    return FiledRequest(request_id, values["service_request_id"], values["token"])


def _complaint_event(kind: str, request: dict[str, Any], district_code: str | None) -> LiveEvent:
    """What open dashboards are told of a complaint: its type, status and district only, never
    what it says or who filed it."""
    return LiveEvent(
        kind=kind,
        data={
            "service_request_id": request["service_request_id"],
            "service_code": request["service_code"],
            "status": request["status"],
            "requested_at": request["requested_at"].isoformat(),
            "district": district_code,
        },
        city_id=request["city_id"],
        district_id=request["district_id"],
    )


_EVENT_FIELDS = ("service_request_id", "service_code", "status", "requested_at", "city_id",
                 "district_id")  # fmt: skip


def announce(session: Session, request: ServiceRequest, kind: str) -> None:
    """Tell open dashboards, once the transaction commits, that a complaint moved."""
    district = session.get(Area, request.district_id) if request.district_id else None
    fields = {name: getattr(request, name) for name in _EVENT_FIELDS}
    publish_after_commit(
        session, _complaint_event(kind, fields, district.code if district else None)
    )


def set_status(
    session: Session,
    actor: Viewer,
    request: ServiceRequest,
    status: str,
    notes: str | None = None,
) -> ServiceRequest:
    """Close or reopen a request, keeping the step in its history."""
    if status not in ("open", "closed"):
        raise InvalidInput(f"A request is open or closed, not {status!r}.")
    if status == request.status:
        raise Conflict(f"Request {request.service_request_id} is already {status}.")
    now = utcnow()
    request.status = status
    request.status_notes = notes
    request.updated_at = now
    request.closed_at = now if status == "closed" else None
    session.add(
        StatusChange(
            request_id=request.id, status=status, notes=notes, changed_at=now, actor=actor.label
        )
    )
    session.flush()
    audit.record(
        session,
        actor,
        f"complaints.request.{status}",
        "service_request",
        request.id,
        {"service_request_id": request.service_request_id},
    )
    announce(session, request, "complaint.updated")
    return request


def history(session: Session, request: ServiceRequest) -> list[StatusChange]:
    return list(
        session.scalars(
            select(StatusChange)
            .where(StatusChange.request_id == request.id)
            .order_by(StatusChange.changed_at, StatusChange.id)
        )
    )


def get_request(session: Session, city: City, service_request_id: str) -> ServiceRequest:
    found = session.scalar(
        select(ServiceRequest).where(
            ServiceRequest.city_id == city.id,
            ServiceRequest.service_request_id == service_request_id,
        )
    )
    if found is None:
        raise NotFound(f"There is no service request {service_request_id!r}.")
    return found


def request_for_token(session: Session, city: City, token: str) -> ServiceRequest:
    found = session.scalar(
        select(ServiceRequest).where(
            ServiceRequest.city_id == city.id, ServiceRequest.token == token
        )
    )
    if found is None:
        raise NotFound(f"There is no service request for the token {token!r}.")
    return found


@dataclass(frozen=True)
class RequestQuery:
    service_request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    status: tuple[str, ...] = ()
    page: int = 1
    page_size: int = 1000


def list_requests(session: Session, city: City, query: RequestQuery) -> list[ServiceRequest]:
    """Newest first, as GeoReport v2 expects; one page."""
    if not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size is 1 to {MAX_PAGE_SIZE}.")
    if query.page < 1:
        raise InvalidInput("page starts at 1.")
    bad = sorted(set(query.status) - {"open", "closed"})
    if bad:
        raise InvalidInput(f"status is open or closed, not {', '.join(bad)}.")
    stmt = select(ServiceRequest).where(ServiceRequest.city_id == city.id)
    if query.service_request_ids:
        stmt = stmt.where(ServiceRequest.service_request_id.in_(query.service_request_ids))
    if query.service_codes:
        stmt = stmt.where(ServiceRequest.service_code.in_(query.service_codes))
    if query.status:
        stmt = stmt.where(ServiceRequest.status.in_(query.status))
    if query.start is not None:
        stmt = stmt.where(ServiceRequest.requested_at >= query.start)
    if query.end is not None:
        stmt = stmt.where(ServiceRequest.requested_at <= query.end)
    stmt = (
        stmt.order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())
        .offset((query.page - 1) * query.page_size)
        .limit(query.page_size)
    )
    return list(session.scalars(stmt))


def service_names(session: Session, city: City) -> dict[int, str]:
    rows = session.execute(
        select(ServiceType.id, ServiceType.name).where(ServiceType.city_id == city.id)
    )
    return {row.id: row.name for row in rows}


def count_requests(session: Session, city: City) -> int:
    return (
        session.scalar(
            select(func.count(ServiceRequest.id)).where(ServiceRequest.city_id == city.id)
        )
        or 0
    )
