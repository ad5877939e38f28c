"""Write lanes: ASGI middleware that answers one hot write request in front of the router, with
the route's own service code, and stores requests that wait together in one transaction.

A lane is for a write that machines send many times a second (a complaint filing, a sensor's
attribute update). Through the router each paid more for route matching, dependency solving, a
thread hop per dependency and the exception layers than for its rows. A lane:

- takes a request only in the exact form it serves (`take`); everything else — other methods,
  content types, browser sessions with their CSRF check — goes on to the app unchanged;
- hands it to one thread of its own (`BatchDesk`), which takes every request waiting into one
  transaction (one BEGIN, one COMMIT, one turn of the write lock);
- answers each request of a batch with its own response after the commit (`stage` writes one
  request and returns what renders its answer). A request the service refuses with an error of
  `clean_refusals` — errors raised before it writes anything — is answered with its error and the
  others are kept. Any other failure undoes the batch and every request is run again alone, so one
  request cannot take the others down with it.
Lanes sit in front of FastAPI's own middleware (`citymeter/web/app.py`) and inside the body-size
limit, so oversized bodies are still refused with 413.
"""

from __future__ import annotations

import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from itertools import groupby
from typing import Generic, TypeVar

from fastapi import FastAPI
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from citymeter.web.batch_desk import BatchDesk
from citymeter.web.deps import get_db

log = logging.getLogger(__name__)

Sessions = Callable[[], AbstractContextManager[Session]]
W = TypeVar("W")  # what a lane reads from one request


@dataclass(frozen=True)
class _Job(Generic[W]):
    work: W
    sessions: Sessions
    sessions_key: object  # jobs with the same key may share a transaction


class WriteLane(ABC, Generic[W]):
    """Subclasses say which requests they take and how one is written and answered."""

    name = "write-lane"
    clean_refusals: tuple[type[Exception], ...] = ()

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner  # the app: its state (sessions) and its dependency overrides
        self.desk: BatchDesk[_Job[W], Response] = BatchDesk(self._run_batch, self.name)

    @abstractmethod
    async def take(self, scope: Scope, request: Request) -> W | None:
        """What to write, read from a request this lane serves; None leaves it to the app
        (decide from the scope and headers before reading the body)."""

    @abstractmethod
    def stage(self, session: Session, work: W) -> Callable[[], Response]:
        """Write one request in `session`, uncommitted; returns what renders its answer once the
        batch is committed."""

    def stage_batch(self, session: Session, works: list[W]) -> list[Callable[[], Response]]:
        """Write the requests of one batch in `session`, uncommitted, in order; one answer each.
        By default each is `stage`d in turn and a clean refusal is answered alone; a lane whose
        requests share work (reading the same rows, one statement for all) does it here."""
        answers: list[Callable[[], Response]] = []
        for work in works:
            try:
                answers.append(self.stage(session, work))
            except self.clean_refusals as refusal:
                answers.append(_answer_of(self.refused(work, refusal)))
        return answers

    @abstractmethod
    def refused(self, work: W, refusal: Exception) -> Response:
        """The answer to a request that failed with `refusal` (any exception: an unexpected one
        is logged here and answered without a traceback)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        source = self._session_source()
        request = Request(scope, receive)
        work = None if source is None else await self.take(scope, request)
        if work is None or source is None:
            await self.app(scope, receive, send)
            return
        sessions, key = source
        try:
            response = await self.desk.submit(_Job(work, sessions, key))
        except Exception as exc:  # the desk's own failure: answered as the app would
            log.exception("unhandled error in %s", self.name)
            response = self.refused(work, exc)
        await response(scope, receive, send)

    def _session_source(self) -> tuple[Sessions, object] | None:
        """Where the sessions come from, and a key for them: the app's write sessions, or the
        session an override of `get_db` hands out (tests share theirs this way); None for an
        override a lane cannot call, which leaves the request to the route."""
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
                session.rollback()  # nothing is left after the batch's commit; undoes a failure
            finally:
                session.close()

    def _run_batch(self, jobs: list[_Job[W]]) -> list[Response]:
        """Jobs waiting together, in order; those with the same session source share one
        transaction."""
        responses: list[Response] = []
        for _key, together in groupby(jobs, key=lambda job: job.sessions_key):
            responses += self._together(list(together))
        return responses

    def _together(self, jobs: list[_Job[W]]) -> list[Response]:
        answers: list[Callable[[], Response]] = []
        try:
            with jobs[0].sessions() as session:
                try:
                    answers = self.stage_batch(session, [job.work for job in jobs])
                    if len(answers) != len(jobs):
                        raise RuntimeError(f"{self.name}: {len(answers)} answers, {len(jobs)} jobs")
                    session.commit()
                except Exception:
                    session.rollback()  # none of the batch stays
                    raise
        except Exception as failure:
            if len(jobs) > 1:
                return [response for job in jobs for response in self._together([job])]
            return [self.refused(jobs[0].work, failure)]
        return [answer() for answer in answers]


def _answer_of(response: Response) -> Callable[[], Response]:
    return lambda: response
