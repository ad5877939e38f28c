"""Logging a browser in and out: the session cookie, shared by the JSON API and the login page."""

from __future__ import annotations

from fastapi import Request, Response
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.models import User, WebSession
from citymeter.settings import Settings
from citymeter.web.deps import SESSION_COOKIE


def is_https(request: Request) -> bool:
    # Behind a reverse proxy, run uvicorn with --proxy-headers so that this sees the real scheme.
    return request.url.scheme == "https"


def log_in(
    request: Request, response: Response, session: Session, settings: Settings, user: User
) -> WebSession:
    """Start a session for `user` and hand the browser its cookie; any older session on this
    browser ends (a fresh id at each login, so a planted id is worthless)."""
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        accounts.end_web_session(session, old)
    secret, web_session = accounts.start_web_session(session, user, settings.session_hours)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )
    return web_session


def log_out(request: Request, response: Response, session: Session) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.end_web_session(session, cookie)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )
