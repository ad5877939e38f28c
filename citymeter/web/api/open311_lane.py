"""The filing lane: URL-encoded Open311 filings answered in front of the router.

Filing a complaint is the complaint feed's hot path. Through the router, a filing paid more for
route matching, dependency solving and the exception layers than for storing the request. This
ASGI middleware takes `POST /open311/v2/requests.{json,xml}` with a URL-encoded form whose
`api_key` field says who files (how Open311 clients file: no browser session, no Authorization
header), and answers it with the route's own code (`open311.file_from_form`, `open311.answer`)
in one worker-thread call. Everything else — other content types, browser sessions (their CSRF
check), Bearer tokens (their 401 problem document), other paths — goes on to the app unchanged.
It sits inside the body-size limit, so oversized forms are still refused with 413.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from anyio import to_thread
from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from citymeter.accounts.permissions import PUBLIC_VIEWER
from citymeter.web.api import open311
from citymeter.web.deps import get_db
from citymeter.web.problems import unexpected_error

log = logging.getLogger(__name__)

_PATHS = {"/open311/v2/requests.json": "json", "/open311/v2/requests.xml": "xml"}
_FORM = "application/x-www-form-urlencoded"


class Open311FilingLane:
    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner  # the app: its state (sessions) and its dependency overrides

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fmt = _PATHS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if fmt is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        sessions = self._session_source()
        if (
            sessions is None
            or not request.headers.get("content-type", "").startswith(_FORM)
            or "cookie" in request.headers
            or "authorization" in request.headers
        ):
            await self.app(scope, receive, send)
            return
        body = await request.body()
        jurisdiction = request.query_params.get("jurisdiction_id")
        response = await to_thread.run_sync(self._file, sessions, fmt, body, jurisdiction)
        await response(scope, receive, send)

    def _session_source(self) -> Callable[[], AbstractContextManager[Session]] | None:
        """Where the filing's session comes from: the app's write sessions, or the session an
        override of `get_db` hands out (tests share theirs this way); None for an override this
        lane cannot call, which leaves the filing to the route."""
        override = self.owner.dependency_overrides.get(get_db)
        if override is None:
            return self._write_session
        if inspect.isgeneratorfunction(override) and not inspect.signature(override).parameters:
            return contextmanager(override)
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

    def _file(
        self,
        sessions: Callable[[], AbstractContextManager[Session]],
        fmt: str,
        body: bytes,
        jurisdiction: str | None,
    ) -> Response:
        form = open311.read_urlencoded(body)
        try:
            with sessions() as session:
                return open311.answer(
                    fmt,
                    "created",
                    lambda: open311.file_from_form(session, PUBLIC_VIEWER, form, jurisdiction),
                    status=201,
                )
        except Exception:
            # As the app answers any unexpected error: logged, a problem document, no traceback.
            log.exception("unhandled error on POST /open311/v2/requests.%s", fmt)
            return unexpected_error()
