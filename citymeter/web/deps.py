"""Request dependencies: the database session, who is asking, and what a route requires.

Every API route depends on exactly one of `require(permission)` or `public`; the conventions test
walks the app and fails on a route that declares neither. Both check CSRF for browser sessions
(citymeter/web/csrf.py): a cookie-authenticated POST, PUT, PATCH or DELETE without the session's
CSRF token is refused with 403.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.models import User
from citymeter.accounts.permissions import PUBLIC_VIEWER, Viewer
from citymeter.errors import NotAuthenticated, PermissionDenied
from citymeter.settings import Settings
from citymeter.web import csrf

SESSION_COOKIE = "citymeter_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error.

    The session is made on the event loop (that touches no database) and ended in one worker
    thread call, or on the loop when the route already committed, so a request crosses to a
    thread only where the database is used.
    """
    state = request.app.state
    # Requests that write take SQLite's write lock up front, so that concurrent writers wait
    # for each other instead of failing (no effect on PostgreSQL).
    writes = request.method not in SAFE_METHODS
    session: Session = state.sessionmaker(bind=state.write_engine if writes else state.engine)
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_roll_back, session)
        raise
    if session.in_transaction():
        await run_in_threadpool(_commit, session)
    else:
        session.close()  # the route committed its own work (or touched nothing): no I/O left


def _commit(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _roll_back(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def _bearer(request: Request) -> str | None:
    return bearer_token(request.headers.get("authorization"))


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header; None for anything else."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def get_viewer(request: Request, session: SessionDep) -> Viewer:
    """The caller: from an API token, else a browser session cookie, else the public. A call
    with neither is answered on the event loop, without a database query."""
    token = _bearer(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if token is None and not cookie:
        return PUBLIC_VIEWER
    return await run_in_threadpool(_stored_viewer, request, session, token, cookie)


def _stored_viewer(
    request: Request, session: Session, token: str | None, cookie: str | None
) -> Viewer:
    if token is not None:
        return accounts.viewer_for_token(session, token)
    if cookie:
        web_session = accounts.web_session_for(session, cookie)
        if web_session is not None:
            request.state.web_session = web_session
            user = session.get(User, web_session.user_id)
            if user is not None:
                return accounts.viewer_for(user)
    return PUBLIC_VIEWER


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


async def _csrf_checked(request: Request, viewer: Viewer) -> Viewer:
    web_session = getattr(request.state, "web_session", None)
    if web_session is not None:
        await csrf.check_session_request(request, web_session.csrf_token)
    return viewer


async def public(request: Request, viewer: ViewerDep) -> Viewer:
    """Marks a route open to anyone; services still filter by who is looking."""
    return await _csrf_checked(request, viewer)


setattr(public, "__citymeter_public__", True)  # noqa: B010


def anonymous_entry() -> None:
    """Marks a public route that must not act as the caller: the login endpoints, which create
    credentials rather than use them (the login form checks its own double-submit token)."""


setattr(anonymous_entry, "__citymeter_public__", True)  # noqa: B010

AnonymousEntry = Annotated[None, Depends(anonymous_entry)]


def check_permission(viewer: Viewer, permission: str) -> Viewer:
    """`viewer`, if it may do what `permission` allows; the 401 or 403 error otherwise."""
    if viewer.user_id is None:
        raise NotAuthenticated("Log in or send an API token (Authorization: Bearer …) to do this.")
    if not viewer.can(permission):
        raise PermissionDenied(f"The role {viewer.role!r} may not do this ({permission}).")
    return viewer


def require(permission: str) -> Callable[..., Awaitable[Viewer]]:
    """A dependency that lets the call through only for roles holding `permission`."""

    async def dependency(request: Request, viewer: ViewerDep) -> Viewer:
        return await _csrf_checked(request, check_permission(viewer, permission))

    setattr(dependency, "__citymeter_permission__", permission)  # noqa: B010
    return dependency


PublicViewer = Annotated[Viewer, Depends(public)]


def route_access(dependant: Any) -> tuple[bool, set[str]]:
    """(declared public?, permissions required) for a route's dependency tree."""
    is_public = False
    permissions: set[str] = set()
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        call = getattr(dep, "call", None)
        if getattr(call, "__citymeter_public__", False):
            is_public = True
        permission = getattr(call, "__citymeter_permission__", None)
        if permission:
            permissions.add(permission)
        stack.extend(dep.dependencies)
    return is_public, permissions
