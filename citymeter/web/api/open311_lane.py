"""The filing lane: URL-encoded Open311 filings answered in front of the router.

Filing a complaint is the complaint feed's hot path. This write lane (`citymeter/web/write_lane.py`)
takes `POST /open311/v2/requests.{json,xml}` with a URL-encoded form whose `api_key` field says
who files (how Open311 clients file: no browser session, no Authorization header), and answers it
with the route's own code (`open311.stage_filing`, `open311.answer`). Filings that arrive while
others are being stored are stored together in one transaction; a refused filing (it raises
before writing its request) gets its own Open311 error without touching the others. Everything
else — other content types, browser sessions (their CSRF check), Bearer tokens (their 401 problem
document), other paths — goes on to the app unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from citymeter.accounts.permissions import PUBLIC_VIEWER
from citymeter.errors import CityMeterError
from citymeter.web.api import open311
from citymeter.web.problems import unexpected_error
from citymeter.web.write_lane import WriteLane

log = logging.getLogger(__name__)

_PATHS = {"/open311/v2/requests.json": "json", "/open311/v2/requests.xml": "xml"}
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Filing:
    fmt: str
    body: bytes
    jurisdiction: str | None


class Open311FilingLane(WriteLane[Filing]):
    name = "open311-filing"
    clean_refusals = (CityMeterError,)

    async def take(self, scope: Scope, request: Request) -> Filing | None:
        fmt = _PATHS.get(scope.get("path", ""))
        if (
            fmt is None
            or scope["method"] != "POST"
            or not request.headers.get("content-type", "").startswith(_FORM)
            or "cookie" in request.headers
            or "authorization" in request.headers
        ):
            return None
        return Filing(fmt, await request.body(), request.query_params.get("jurisdiction_id"))

    def stage(self, session: Session, work: Filing) -> Callable[[], Response]:
        form = open311.read_urlencoded(work.body)
        created = open311.stage_filing(session, PUBLIC_VIEWER, form, work.jurisdiction)
        return lambda: open311.answer(work.fmt, "created", lambda: created, status=201)

    def refused(self, work: Filing, refusal: Exception) -> Response:
        if isinstance(refusal, CityMeterError):
            return open311.answer(work.fmt, "created", partial(_raise, refusal))
        # As the app answers any unexpected error: logged, a problem document, no traceback.
        log.error("unhandled error on POST /open311/v2/requests.%s", work.fmt, exc_info=refusal)
        return unexpected_error()


def _raise(refusal: CityMeterError) -> list[dict[str, Any]]:
    raise refusal
