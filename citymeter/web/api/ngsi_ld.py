"""The ETSI NGSI-LD core API under /ngsi-ld/v1 (entities, attributes, batch, temporal).

Routes parse the NGSI-LD headers and parameters, authorise, call citymeter.ngsi.service and
render. Every error, including authentication and parameter errors, leaves as an NGSI-LD
ProblemDetails body (application/json) with the specification's error type and status.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from citymeter.accounts.permissions import INGEST_WRITE, Viewer
from citymeter.errors import CityMeterError
from citymeter.ngsi import service
from citymeter.ngsi.context import (
    CORE_CONTEXT_PATH,
    JSONLD,
    LdContext,
    core_context_document,
    link_header,
    parse_link_header,
)
from citymeter.ngsi.errors import (
    BadRequestData,
    InternalError,
    InvalidRequest,
    NgsiError,
    from_citymeter,
)
from citymeter.ngsi.geo import parse_geoquery
from citymeter.ngsi.query import parse_q
from citymeter.ngsi.representation import (
    GEOJSON,
    JSON,
    attributes_from_fragment,
    body_media_type,
    entity_from_body,
    geojson_feature,
    negotiate,
    parse_list,
    parse_options,
    parse_time,
    request_context,
    require_array,
    require_object,
    response_context,
)
from citymeter.web.deps import PublicViewer, SessionDep, require

log = logging.getLogger("citymeter.ngsi")


class NgsiRoute(APIRoute):
    """Turns every error of an NGSI-LD route into an NGSI-LD ProblemDetails response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def ngsi_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except NgsiError as exc:
                return problem_response(exc)
            except CityMeterError as exc:
                return problem_response(from_citymeter(exc))
            except RequestValidationError as exc:
                parts = [
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
                    for e in exc.errors()
                ]
                return problem_response(BadRequestData("; ".join(parts) or "Invalid parameters."))
            except StarletteHTTPException as exc:
                return problem_response(InvalidRequest(str(exc.detail), status=exc.status_code))
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return problem_response(InternalError("Something went wrong; it was logged."))

        return ngsi_handler


def problem_response(error: NgsiError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if error.http_status == 401 else None
    return Response(
        json.dumps(error.problem()),
        status_code=error.http_status,
        media_type=JSON,
        headers=headers,
    )


router = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"], route_class=NgsiRoute)
Writer = Annotated[Viewer, Depends(require(INGEST_WRITE))]


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def _json_body(request: Request, raw: bytes, *, merge_patch: bool = False) -> tuple[str, Any]:
    return json_body(request.headers.get("content-type"), raw, merge_patch=merge_patch)


def json_body(
    content_type: str | None, raw: bytes, *, merge_patch: bool = False
) -> tuple[str, Any]:
    """(media type, parsed JSON) of a request body, or the NGSI-LD error for it."""
    kind = body_media_type(content_type, merge_patch=merge_patch)
    if not raw.strip():
        raise InvalidRequest("The request body is empty; send a JSON document.")
    try:
        return kind, json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The body is not valid JSON: {exc}.") from None


def _context(request: Request, kind: str | None = None, body: Any = None) -> LdContext:
    return request_context(kind, parse_link_header(request.headers.get("link")), body)


def _core_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + CORE_CONTEXT_PATH


def _render(
    request: Request,
    data: Any,
    ctx: LdContext,
    accept: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON, JSON-LD or GeoJSON response, with the @context where the media type wants it."""
    core_url = _core_url(request)
    out_headers = dict(headers or {})
    if accept == JSONLD:
        context = response_context(ctx, core_url)
        if isinstance(data, list):
            data = [{**item, "@context": context} for item in data]
        elif isinstance(data, dict):
            data = {**data, "@context": context}
    else:
        given = ctx.given if isinstance(ctx.given, str) else core_url
        out_headers["Link"] = link_header(given)
    if accept == GEOJSON:
        if isinstance(data, list):
            data = {"type": "FeatureCollection", "features": [geojson_feature(d) for d in data]}
        elif isinstance(data, dict):
            data = geojson_feature(data)
    return Response(
        json.dumps(data, ensure_ascii=False),
        status_code=status,
        media_type=accept,
        headers=out_headers,
    )


def _time(value: str | None, label: str) -> dt.datetime | None:
    return None if value is None else parse_time(value, label)


# ---- the core context --------------------------------------------------------------------------


@router.get("/contexts/core", summary="The NGSI-LD core @context, served locally")
def core_context(viewer: PublicViewer) -> Response:
    """CityMeter's copy of the NGSI-LD core @context (no download needed in a closed network)."""
    return Response(json.dumps(core_context_document(), indent=2), media_type=JSONLD)


# ---- entities ----------------------------------------------------------------------------------


@router.post("/entities", status_code=201, summary="Create an entity")
def create_entity(request: Request, session: SessionDep, viewer: Writer, raw: RawBody) -> Response:
    kind, body = _json_body(request, raw)
    ctx = _context(request, kind, body)
    item = entity_from_body(body, ctx)
    entity_id = service.create_entity(session, viewer, item)
    return Response(status_code=201, headers={"Location": f"/ngsi-ld/v1/entities/{entity_id}"})


@router.get("/entities", summary="Query entities")
def query_entities(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    type_: Annotated[str | None, Query(alias="type")] = None,
    id_: Annotated[str | None, Query(alias="id")] = None,
    id_pattern: Annotated[str | None, Query(alias="idPattern")] = None,
    attrs: str | None = None,
    q: str | None = None,
    georel: str | None = None,
    geometry: str | None = None,
    coordinates: str | None = None,
    geoproperty: str | None = None,
    limit: int = service.DEFAULT_LIMIT,
    offset: int = 0,
    count: bool = False,
    options: str | None = None,
    format_: Annotated[str | None, Query(alias="format")] = None,
) -> Response:
    accept = negotiate(request.headers.get("accept"), geojson=True)
    ctx = _context(request)
    chosen = parse_options(options, format_)
    types = parse_list(type_.replace("|", ",")) if type_ else None
    query = service.EntityQuery(
        types=types,
        ids=parse_list(id_),
        id_pattern=id_pattern,
        attrs=parse_list(attrs),
        q=parse_q(q, ctx.expand) if q is not None else None,
        geo=parse_geoquery(
            georel, geometry, coordinates, ctx.expand(geoproperty) if geoproperty else None
        ),
        limit=limit,
        offset=offset,
    )
    page, total = service.query_entities(session, viewer, query, ctx=ctx, options=chosen)
    headers = {"NGSILD-Results-Count": str(total)} if count or "count" in chosen else None
    return _render(request, page, ctx, accept, headers=headers)


@router.get("/entities/{entity_id}", summary="Retrieve an entity")
def retrieve_entity(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    entity_id: str,
    attrs: str | None = None,
    options: str | None = None,
    format_: Annotated[str | None, Query(alias="format")] = None,
) -> Response:
    accept = negotiate(request.headers.get("accept"), geojson=True)
    ctx = _context(request)
    body = service.retrieve_entity(
        session,
        viewer,
        entity_id,
        ctx=ctx,
        attrs=parse_list(attrs),
        options=parse_options(options, format_),
    )
    return _render(request, body, ctx, accept)


@router.delete("/entities/{entity_id}", status_code=204, summary="Delete an entity")
def delete_entity(session: SessionDep, viewer: Writer, entity_id: str) -> Response:
    service.delete_entity(session, viewer, entity_id)
    return Response(status_code=204)


# ---- attributes --------------------------------------------------------------------------------


def update_response(result: service.UpdateResult, ctx: LdContext) -> Response:
    if result.complete:
        return Response(status_code=204)
    return Response(json.dumps(result.body(ctx)), status_code=207, media_type=JSON)


def update_attributes_from(
    session: Session,
    viewer: Viewer,
    entity_id: str,
    content_type: str | None,
    link: str | None,
    raw: bytes,
) -> Response:
    """PATCH /entities/{id}/attrs without committing (the route's own work)."""
    attrs, ctx = read_attribute_update(entity_id, content_type, link, raw)
    result = service.write_attributes(session, viewer, entity_id, attrs, mode="update")
    return update_response(result, ctx)


def read_attribute_update(
    entity_id: str, content_type: str | None, link: str | None, raw: bytes
) -> tuple[dict[str, dict[str, Any]], LdContext]:
    """The attributes of a PATCH /entities/{id}/attrs body and the request's @context, or the
    NGSI-LD error for them: the route and the update lane (citymeter/web/api/ngsi_lane.py) both
    read the request with it."""
    kind, body = json_body(content_type, raw, merge_patch=True)
    ctx = request_context(kind, parse_link_header(link), body)
    attrs = attributes_from_fragment(require_object(body, "The body"), ctx, label=entity_id)
    return attrs, ctx


@router.post("/entities/{entity_id}/attrs", status_code=204, summary="Append attributes")
def append_attributes(
    request: Request,
    session: SessionDep,
    viewer: Writer,
    raw: RawBody,
    entity_id: str,
    options: str | None = None,
) -> Response:
    kind, body = _json_body(request, raw)
    ctx = _context(request, kind, body)
    chosen = parse_options(options)
    attrs = attributes_from_fragment(require_object(body, "The body"), ctx, label=entity_id)
    mode = "noOverwrite" if "noOverwrite" in chosen else "append"
    result = service.write_attributes(session, viewer, entity_id, attrs, mode=mode)
    session.commit()  # here, in the route's worker thread call, not in one more after it
    return update_response(result, ctx)


@router.patch("/entities/{entity_id}/attrs", status_code=204, summary="Update attributes")
def update_attributes(
    request: Request, session: SessionDep, viewer: Writer, raw: RawBody, entity_id: str
) -> Response:
    """Token-authenticated updates are answered by the update lane in front of the router
    (citymeter/web/api/ngsi_lane.py), with the same code; this route answers the rest."""
    headers = request.headers
    response = update_attributes_from(
        session, viewer, entity_id, headers.get("content-type"), headers.get("link"), raw
    )
    session.commit()  # here, in the route's worker thread call, not in one more after it
    return response


@router.patch(
    "/entities/{entity_id}/attrs/{attr}", status_code=204, summary="Partial attribute update"
)
def update_attribute(
    request: Request, session: SessionDep, viewer: Writer, raw: RawBody, entity_id: str, attr: str
) -> Response:
    kind, body = _json_body(request, raw, merge_patch=True)
    ctx = _context(request, kind, body)
    fragment = {k: v for k, v in require_object(body, "The body").items() if k != "@context"}
    if not fragment:
        raise BadRequestData('The body gives nothing to change (e.g. {"value": 42}).')
    service.update_attribute(session, viewer, entity_id, ctx.expand(attr), fragment)
    return Response(status_code=204)


@router.delete("/entities/{entity_id}/attrs/{attr}", status_code=204, summary="Delete an attribute")
def delete_attribute(
    request: Request, session: SessionDep, viewer: Writer, entity_id: str, attr: str
) -> Response:
    ctx = _context(request)
    service.delete_attribute(session, viewer, entity_id, ctx.expand(attr))
    return Response(status_code=204)


# ---- batch operations --------------------------------------------------------------------------


def _batch_response(result: service.BatchResult, *, created_ids: list[str] | None) -> Response:
    if result.errors:
        return Response(json.dumps(result.body()), status_code=207, media_type=JSON)
    if created_ids:
        return Response(json.dumps(created_ids), status_code=201, media_type=JSON)
    return Response(status_code=204)


@router.post("/entityOperations/create", summary="Batch create entities")
def batch_create(request: Request, session: SessionDep, viewer: Writer, raw: RawBody) -> Response:
    kind, body = _json_body(request, raw)
    ctx = _context(request, kind, body)
    items = service.parse_batch(require_array(body, "A batch"), ctx)
    result = service.batch_create(session, viewer, items)
    return _batch_response(result, created_ids=result.success)


@router.post("/entityOperations/upsert", summary="Batch create or replace/update entities")
def batch_upsert(
    request: Request,
    session: SessionDep,
    viewer: Writer,
    raw: RawBody,
    options: str | None = None,
) -> Response:
    kind, body = _json_body(request, raw)
    ctx = _context(request, kind, body)
    chosen = {o.strip() for o in (options or "").split(",") if o.strip()}
    if chosen - {"replace", "update"} or chosen == {"replace", "update"}:
        raise BadRequestData("options for upsert is replace (the default) or update.")
    items = service.parse_batch(require_array(body, "A batch"), ctx)
    result = service.batch_upsert(session, viewer, items, replace="update" not in chosen)
    return _batch_response(result, created_ids=result.created)


@router.post("/entityOperations/update", summary="Batch update entity attributes")
def batch_update(
    request: Request,
    session: SessionDep,
    viewer: Writer,
    raw: RawBody,
    options: str | None = None,
) -> Response:
    kind, body = _json_body(request, raw)
    ctx = _context(request, kind, body)
    chosen = parse_options(options)
    items = service.parse_batch(require_array(body, "A batch"), ctx, need_type=False)
    result = service.batch_update(session, viewer, items, no_overwrite="noOverwrite" in chosen)
    return _batch_response(result, created_ids=None)


@router.post("/entityOperations/delete", summary="Batch delete entities")
def batch_delete(request: Request, session: SessionDep, viewer: Writer, raw: RawBody) -> Response:
    _, body = _json_body(request, raw)
    result = service.batch_delete(session, viewer, require_array(body, "A batch"))
    return _batch_response(result, created_ids=None)


# ---- temporal ----------------------------------------------------------------------------------


@router.get("/temporal/entities/{entity_id}", summary="Retrieve an entity's history")
def temporal_entity(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    entity_id: str,
    timerel: str | None = None,
    time_at: Annotated[str | None, Query(alias="timeAt")] = None,
    end_time_at: Annotated[str | None, Query(alias="endTimeAt")] = None,
    last_n: Annotated[int | None, Query(alias="lastN")] = None,
    attrs: str | None = None,
    options: str | None = None,
    format_: Annotated[str | None, Query(alias="format")] = None,
) -> Response:
    accept = negotiate(request.headers.get("accept"))
    ctx = _context(request)
    query = service.TemporalQuery(
        timerel=timerel,
        time_at=_time(time_at, "timeAt"),
        end_time_at=_time(end_time_at, "endTimeAt"),
        last_n=last_n,
        attrs=parse_list(attrs),
    )
    body = service.temporal_entity(
        session, viewer, entity_id, query, ctx=ctx, options=parse_options(options, format_)
    )
    return _render(request, body, ctx, accept)
