"""Open311 GeoReport v2 under /open311/v2: services and service requests, in JSON and XML.

Reads are public and never show requester fields. Filing a request takes an API key (a CityMeter
API token, as the `api_key` form field or `Authorization: Bearer`) whose role holds
complaints:write. Errors follow the specification: a list of {code, description}.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import COMPLAINTS_WRITE, Viewer
from citymeter.complaints import open311, service
from citymeter.errors import (
    CityMeterError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from citymeter.places import service as places
from citymeter.web.deps import PublicViewer, SessionDep

router = APIRouter(prefix="/open311/v2", tags=["open311"])

MEDIA = {"json": "application/json", "xml": "text/xml; charset=utf-8"}
Jurisdiction = Annotated[str | None, Query(description="City code (default: the only city)")]


def _status_of(exc: CityMeterError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotAuthenticated | PermissionDenied):
        return 403
    return 400


def _render(fmt: str, kind: str, payload: Any, status: int = 200) -> Response:
    if fmt == "json":
        return Response(open311.to_json(payload), status_code=status, media_type=MEDIA["json"])
    if isinstance(payload, list):
        body = open311.to_xml_list(kind, payload)
    else:
        body = open311.to_xml_object(kind, payload)
    return Response(body, status_code=status, media_type=MEDIA["xml"])


def _error(fmt: str, status: int, message: str) -> Response:
    errors = open311.errors_list(status, [message])
    return _render(fmt if fmt in MEDIA else "json", "errors", errors, status)


def answer(fmt: str, kind: str, build: Callable[[], Any], status: int = 200) -> Response:
    """Run `build` and render its result, or the Open311 error list."""
    if fmt not in MEDIA:
        return _error("json", 404, f"Unknown format {fmt!r}: use .json or .xml.")
    try:
        return _render(fmt, kind, build(), status)
    except CityMeterError as exc:
        return _error(fmt, _status_of(exc), exc.message)


@router.get("/discovery.{fmt}")
def discovery(request: Request, viewer: PublicViewer, fmt: str) -> Response:
    """Where this endpoint is and what it speaks."""
    base = str(request.url_for("discovery", fmt="json")).rsplit("/", 1)[0]
    return answer(fmt, "discovery", lambda: open311.discovery_dict(base, "the city's 311 desk"))


@router.get("/services.{fmt}")
def services(
    session: SessionDep, viewer: PublicViewer, fmt: str, jurisdiction_id: Jurisdiction = None
) -> Response:
    """The service types residents can report."""

    def build() -> list[dict[str, Any]]:
        city = places.get_city(session, jurisdiction_id)
        return [open311.service_dict(s) for s in service.list_services(session, city)]

    return answer(fmt, "services", build)


@router.get("/services/{service_code}.{fmt}")
def service_definition(
    session: SessionDep,
    viewer: PublicViewer,
    service_code: str,
    fmt: str,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """A service type's attribute definitions."""

    def build() -> dict[str, Any]:
        city = places.get_city(session, jurisdiction_id)
        return open311.definition_dict(service.get_service(session, city, service_code))

    return answer(fmt, "service_definition", build)


def _time(name: str, text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} {text!r} is not a W3C date-time.") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


@router.get("/requests.{fmt}")
def list_requests(
    session: SessionDep,
    viewer: PublicViewer,
    fmt: str,
    jurisdiction_id: Jurisdiction = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
    page: str = "1",
    page_size: str = "1000",
) -> Response:
    """Service requests, newest first (filters as in GeoReport v2, plus page and page_size)."""

    def build() -> list[dict[str, Any]]:
        city = places.get_city(session, jurisdiction_id)
        if not page.isdigit() or not page_size.isdigit():
            raise InvalidInput("page and page_size are whole numbers.")
        query = service.RequestQuery(
            service_request_ids=_split(service_request_id),
            service_codes=_split(service_code),
            start=_time("start_date", start_date),
            end=_time("end_date", end_date),
            status=_split(status),
            page=int(page),
            page_size=int(page_size),
        )
        names = service.service_names(session, city)
        return [
            open311.request_dict(r, names.get(r.service_type_id, ""))
            for r in service.list_requests(session, city, query)
        ]

    return answer(fmt, "requests", build)


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(
    session: SessionDep,
    viewer: PublicViewer,
    service_request_id: str,
    fmt: str,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """One service request (a list of one, as the specification has it)."""

    def build() -> list[dict[str, Any]]:
        city = places.get_city(session, jurisdiction_id)
        found = service.get_request(session, city, service_request_id)
        names = service.service_names(session, city)
        return [open311.request_dict(found, names.get(found.service_type_id, ""))]

    return answer(fmt, "requests", build)


@router.get("/tokens/{token}.{fmt}")
def token(
    session: SessionDep,
    viewer: PublicViewer,
    token: str,
    fmt: str,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """The service request id behind a token returned by POST requests."""

    def build() -> list[dict[str, Any]]:
        city = places.get_city(session, jurisdiction_id)
        return [open311.token_dict(service.request_for_token(session, city, token))]

    return answer(fmt, "tokens", build)


_MAX_FORM_FIELDS = 1000


@dataclass(frozen=True)
class FiledForm:
    """The form fields of a filing, or why they could not be read (answered as an Open311 error
    by the route, not as a problem document by the dependency)."""

    items: list[tuple[str, str]]
    error: str | None = None

    def fields(self) -> list[tuple[str, str]]:
        if self.error is not None:
            raise InvalidInput(self.error)
        return self.items


def read_urlencoded(body: bytes) -> FiledForm:
    """An application/x-www-form-urlencoded filing, read with the standard library's parser
    (several times cheaper than the general form parser on the complaint feed's hot path)."""
    try:
        return FiledForm(
            urllib.parse.parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS
            )
        )
    except UnicodeDecodeError:
        return FiledForm([], "The form is not UTF-8 text.")
    except ValueError:
        return FiledForm([], f"The form has more than {_MAX_FORM_FIELDS} fields.")


async def _form(request: Request) -> FiledForm:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return read_urlencoded(await request.body())
    # Closing the form closes any file parts it spooled (Open311 filings take no files).
    async with request.form() as form:
        return FiledForm([(k, v) for k, v in form.multi_items() if isinstance(v, str)])


FormItems = Annotated[FiledForm, Depends(_form)]


def _float(fields: dict[str, str], name: str) -> float | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{name} {text!r} is not a number.") from None


def _new_request(items: list[tuple[str, str]]) -> service.NewRequest:
    fields: dict[str, str] = {}
    attributes: dict[str, str | list[str]] = {}
    for key, value in items:
        if key.startswith("attribute[") and key.endswith("]"):
            code = key[len("attribute[") : -1]
            if code.endswith("]["):  # attribute[code][]=a&attribute[code][]=b
                code = code[:-2]
                listed = attributes.setdefault(code, [])
                if isinstance(listed, list):
                    listed.append(value)
            else:
                attributes[code] = value
        else:
            fields[key] = value
    if not fields.get("service_code"):
        raise InvalidInput("service_code is required.")
    return service.NewRequest(
        service_code=fields["service_code"],
        lat=_float(fields, "lat"),
        long=_float(fields, "long"),
        address=fields.get("address_string") or None,
        address_id=fields.get("address_id") or None,
        description=fields.get("description"),
        attributes=attributes,
        media_url=fields.get("media_url") or None,
        first_name=fields.get("first_name") or None,
        last_name=fields.get("last_name") or None,
        email=fields.get("email") or None,
        phone=fields.get("phone") or None,
        device_id=fields.get("device_id") or None,
        account_id=fields.get("account_id") or None,
    )


@router.post("/requests.{fmt}")
def create_request(
    session: SessionDep,
    viewer: PublicViewer,
    form: FormItems,
    fmt: str,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """File a service request (form fields as in GeoReport v2; api_key or a Bearer token).

    URL-encoded filings with an api_key are answered by the filing lane in front of the router
    (citymeter/web/api/open311_lane.py), with this same code; this route answers the rest
    (multipart forms, browser sessions, Bearer tokens)."""
    return answer(
        fmt, "created", lambda: file_from_form(session, viewer, form, jurisdiction_id), status=201
    )


def file_from_form(
    session: Session, viewer: Viewer, form: FiledForm, jurisdiction_id: str | None
) -> list[dict[str, Any]]:
    """File the request a form describes and commit it (201 means stored); the Open311 answer."""
    created = stage_filing(session, viewer, form, jurisdiction_id)
    session.commit()
    return created


def stage_filing(
    session: Session, viewer: Viewer, form: FiledForm, jurisdiction_id: str | None
) -> list[dict[str, Any]]:
    """Check the filing a form describes and write it in `session`, uncommitted: the caller
    commits it, alone or with other filings. A refused filing raises before its request is
    written (a valid token's last use may have been noted)."""
    items = form.fields()
    given = dict(items)
    caller = _caller(session, viewer, given.get("api_key"))
    city = places.get_city_row(session, jurisdiction_id or given.get("jurisdiction_id"))
    created = service.file_request(session, caller, city, _new_request(items))
    return [open311.created_dict(created)]


def _caller(session: Session, viewer: Viewer, api_key: str | None) -> Viewer:
    if api_key:
        viewer = accounts.viewer_for_token(session, api_key)
    if viewer.user_id is None:
        raise NotAuthenticated("An api_key is required to file a request; ask the city for one.")
    if not viewer.can(COMPLAINTS_WRITE):
        raise PermissionDenied(
            f"The role {viewer.role!r} may not file requests ({COMPLAINTS_WRITE})."
        )
    return viewer
