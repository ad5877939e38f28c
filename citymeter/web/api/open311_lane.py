"""The filing lane: URL-encoded Open311 filings answered in front of the router.

Filing a complaint is the complaint feed's hot path. Through the router, a filing paid more for
route matching, dependency solving and the exception layers than for storing the request. This
ASGI middleware takes `POST /open311/v2/requests.{json,xml}` with a URL-encoded form whose
`api_key` field says who files (how Open311 clients file: no browser session, no Authorization
header), and answers it with the route's own code (`open311.stage_filing`, `open311.answer`).
The filings are worked through by one thread of the lane's own (`BatchDesk`): filings that
arrive while it is busy are written in one transaction when it is free, so several desks filing
at once pay for one BEGIN and COMMIT between them, and a refused filing gets its own error
without touching the others. Everything else — other content types, browser sessions (their CSRF
check), Bearer tokens (their 401 problem document), other paths — goes on to the app unchanged.
It sits inside the body-size limit, so oversized forms are still refused with 413.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from citymeter.accounts.permissions import PUBLIC_VIEWER
from citymeter.errors import CityMeterError
from citymeter.web.api import open311
from citymeter.web.batch_desk import BatchDesk
from citymeter.web.deps import get_db
from citymeter.web.problems import unexpected_error

log = logging.getLogger(__name__)

_PATHS = {"/open311/v2/requests.json": "json", "/open311/v2/requests.xml": "xml"}
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class _Filing:
    fmt: str
    body: bytes
    jurisdiction: str | None
    sessions: Callable[[], AbstractContextManager[Session]]
    sessions_key: object  # filings with the same key may share a transaction


class Open311FilingLane:
    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner  # the app: its state (sessions) and its dependency overrides
        self.desk: BatchDesk[_Filing, Response] = BatchDesk(self._file_batch, "open311-filing")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fmt = _PATHS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if fmt is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        source = self._session_source()
        if (
            source is None
            or not request.headers.get("content-type", "").startswith(_FORM)
            or "cookie" in request.headers
            or "authorization" in request.headers
        ):
            await self.app(scope, receive, send)
            return
        body = await request.body()
        jurisdiction = request.query_params.get("jurisdiction_id")
        sessions, key = source
        try:
            response = await self.desk.submit(_Filing(fmt, body, jurisdiction, sessions, key))
        except Exception:
            log.exception("unhandled error on POST /open311/v2/requests.%s", fmt)
            response = unexpected_error()
        await response(scope, receive, send)

    def _session_source(
        self,
    ) -> tuple[Callable[[], AbstractContextManager[Session]], object] | None:
        """Where the filing's session comes from, and a key for it: the app's write sessions, or
        the session an override of `get_db` hands out (tests share theirs this way); None for an
        override this lane cannot call, which leaves the filing to the route."""
        override = self.owner.dependency_overrides.get(get_db)
        if override is None:
            return self._write_session, None
        if inspect.isgeneratorfunction(override) and not inspect.signature(override).parameters:
            return contextmanager(override), override
        return None

    @contextmanager
    def _write_session(self) -> Iterator[Session]:
        state = self.owner.state
        session: Session = state.sessionmaker(bind=state.write_engine)
        try:
            yield session
        finally:
            try:
                session.rollback()  # nothing is left after the filing's commit; undoes a failure
            finally:
                session.close()

    def _file_batch(self, filings: list[_Filing]) -> list[Response]:
        """Filings waiting together, in order; those with the same session source share one
        transaction."""
        responses: list[Response] = []
        for _key, together in groupby(filings, key=lambda filing: filing.sessions_key):
            responses += self._file_together(list(together))
        return responses

    def _file_together(self, filings: list[_Filing]) -> list[Response]:
        """Each filing is checked and written; one commit stores all that passed (a refused one
        raised before writing its request, and gets its Open311 error). If storing fails, each
        is filed again alone, so that one filing cannot take the others down with it."""
        try:
            with filings[0].sessions() as session:
                try:
                    staged = [_stage(session, filing) for filing in filings]
                    session.commit()
                except Exception:
                    session.rollback()  # none of the batch stays; each is filed again alone
                    raise
        except Exception:
            if len(filings) > 1:
                return [response for f in filings for response in self._file_together([f])]
            # As the app answers any unexpected error: logged, a problem document, no traceback.
            log.exception("unhandled error on POST /open311/v2/requests.%s", filings[0].fmt)
            return [unexpected_error()]
        return [
            open311.answer(filing.fmt, "created", build, status=201)
            for filing, build in zip(filings, staged, strict=True)
        ]


def _stage(session: Session, filing: _Filing) -> Callable[[], list[dict[str, Any]]]:
    """The filing written in `session`, as the `build` of its answer: its created entry, or the
    refusal it raised."""
    form = open311.read_urlencoded(filing.body)
    try:
        created = open311.stage_filing(session, PUBLIC_VIEWER, form, filing.jurisdiction)
    except CityMeterError as refusal:
        return partial(_raise, refusal)
    return lambda: created


def _raise(refusal: CityMeterError) -> list[dict[str, Any]]:
    raise refusal
