"""The update lane: NGSI-LD attribute updates from machines answered in front of the router.

A sensor or a system pushing its state sends `PATCH /ngsi-ld/v1/entities/{id}/attrs` with an
`Authorization: Bearer` token, many times a second. This write lane (citymeter/web/write_lane.py)
takes exactly those — no query string, no browser session — checks the token and the
`ingest:write` permission as the route's dependencies would, reads the body with the route's own
code (`read_attribute_update`) and stores the updates that arrive while others are being stored
together (`update_attributes_many`: one transaction, one read of their entities, one write).
Each gets its own answer (204, 207 or its NGSI-LD error): a refused update has changed nothing and
the others are kept; an unexpected failure undoes the batch and each update runs again alone.
Everything else goes on to the app unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import INGEST_WRITE, Viewer
from citymeter.errors import CityMeterError
from citymeter.ngsi import service
from citymeter.ngsi.context import LdContext
from citymeter.ngsi.errors import InternalError, NgsiError, from_citymeter
from citymeter.web.api.ngsi_ld import problem_response, read_attribute_update, update_response
from citymeter.web.deps import bearer_token, check_permission
from citymeter.web.write_lane import WriteLane

log = logging.getLogger(__name__)

_PREFIX = "/ngsi-ld/v1/entities/"
_SUFFIX = "/attrs"


@dataclass(frozen=True)
class AttributeUpdate:
    entity_id: str
    token: str
    content_type: str | None
    link: str | None
    body: bytes


class NgsiUpdateLane(WriteLane[AttributeUpdate]):
    name = "ngsi-update"

    async def take(self, scope: Scope, request: Request) -> AttributeUpdate | None:
        path: str = scope.get("path", "")
        if (
            scope["method"] != "PATCH"
            or not path.startswith(_PREFIX)
            or not path.endswith(_SUFFIX)
            or scope.get("query_string")
        ):
            return None
        entity_id = path[len(_PREFIX) : -len(_SUFFIX)]
        headers = request.headers
        token = bearer_token(headers.get("authorization"))
        if not entity_id or "/" in entity_id or token is None or "cookie" in headers:
            return None
        body = await request.body()
        return AttributeUpdate(
            entity_id, token, headers.get("content-type"), headers.get("link"), body
        )

    def stage(self, session: Session, work: AttributeUpdate) -> Callable[[], Response]:
        return self.stage_batch(session, [work])[0]

    def stage_batch(
        self, session: Session, works: list[AttributeUpdate]
    ) -> list[Callable[[], Response]]:
        """Each request checked and read as the route would (token, permission, body), then all
        of them stored by `update_attributes_many`; a request refused on the way (401, 403,
        400, 404) is answered with its error and has changed nothing, the others are kept."""
        callers: dict[str, Viewer | Exception] = {}  # one token check per token and batch
        answers: list[Response | None] = []
        pending: list[service.PendingUpdate] = []
        contexts: list[LdContext] = []
        for work in works:
            try:
                caller = callers.get(work.token)
                if caller is None:
                    caller = callers[work.token] = _caller(session, work.token)
                if isinstance(caller, Exception):
                    raise caller
                attrs, ctx = read_attribute_update(
                    work.entity_id, work.content_type, work.link, work.body
                )
            except (NgsiError, CityMeterError) as refusal:
                answers.append(self.refused(work, refusal))
                continue
            answers.append(None)
            pending.append(service.PendingUpdate(caller, work.entity_id, attrs))
            contexts.append(ctx)
        results = iter(service.update_attributes_many(session, pending))
        context_of = iter(contexts)
        out: list[Callable[[], Response]] = []
        for work, answer in zip(works, answers, strict=True):
            if answer is None:
                result, ctx = next(results), next(context_of)
                answer = (
                    self.refused(work, result)
                    if isinstance(result, NgsiError)
                    else update_response(result, ctx)
                )
            out.append(_answer_of(answer))
        return out

    def refused(self, work: AttributeUpdate, refusal: Exception) -> Response:
        if isinstance(refusal, NgsiError):
            return problem_response(refusal)
        if isinstance(refusal, CityMeterError):
            return problem_response(from_citymeter(refusal))
        log.error(
            "unhandled error on PATCH %s%s%s", _PREFIX, work.entity_id, _SUFFIX, exc_info=refusal
        )
        return problem_response(InternalError("Something went wrong; it was logged."))


def _caller(session: Session, token: str) -> Viewer | Exception:
    """Who the token belongs to, if they may write entities; else the 401 or 403 error."""
    try:
        return check_permission(accounts.viewer_for_token(session, token), INGEST_WRITE)
    except CityMeterError as refusal:
        return refusal


def _answer_of(response: Response) -> Callable[[], Response]:
    return lambda: response
