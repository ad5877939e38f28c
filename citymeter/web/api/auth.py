"""JSON API: logging in and out with a browser session, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from citymeter.accounts import service as accounts
from citymeter.accounts.schemas import LoginRequest, Me
from citymeter.errors import NotAuthenticated
from citymeter.web import browser_session, csrf
from citymeter.web.deps import AnonymousEntry, PublicViewer, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login")
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _: AnonymousEntry,
) -> Me:
    """Sets the HttpOnly session cookie and returns the user and the session's CSRF token."""
    user = accounts.login(session, body.username, body.password)
    if user is None:
        session.commit()  # keep the failure count although the request is refused
        raise NotAuthenticated(accounts.LOGIN_FAILED)
    web_session = browser_session.log_in(request, response, session, settings, user)
    return Me.of(accounts.viewer_for(user), user, web_session.csrf_token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, session: SessionDep, _: PublicViewer) -> None:
    browser_session.log_out(request, response, session)


@router.get("/auth/me")
def me(request: Request, session: SessionDep, viewer: PublicViewer) -> Me:
    user = accounts.user_of(session, viewer)
    return Me.of(viewer, user, csrf.session_token(request))
