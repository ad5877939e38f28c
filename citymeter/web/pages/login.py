"""Pages: the login form and logging out.

The form has no session to take a CSRF token from, so it uses a signed double-submit cookie
(citymeter/web/csrf.py). After a login the browser goes to `next` when it is a path on this site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from citymeter.accounts import service as accounts
from citymeter.web import browser_session, csrf
from citymeter.web.deps import AnonymousEntry, PublicViewer, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

_LOCKOUT_MINUTES = int(accounts.LOCKOUT.total_seconds() // 60)

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "title": "로그인",
        "username": "사용자 이름",
        "password": "비밀번호",
        "submit": "로그인",
        "failed": "사용자 이름 또는 비밀번호가 올바르지 않습니다. "
        f"{accounts.MAX_FAILED_LOGINS}번 틀리면 {_LOCKOUT_MINUTES}분 동안 로그인할 수 없습니다.",
        "expired": "로그인 양식이 만료되었습니다. 다시 시도해 주세요.",
        "public_hint": "공개 지표와 현황은 로그인 없이 볼 수 있습니다.",
        "other_language": "English",
    },
    "en": {
        "title": "Log in",
        "username": "Username",
        "password": "Password",
        "submit": "Log in",
        "failed": accounts.LOGIN_FAILED,
        "expired": "The login form had expired; please try again.",
        "public_hint": "Public indicators and city status need no login.",
        "other_language": "한국어",
    },
}


def page_language(request: Request, asked: str | None) -> str:
    if asked in TEXT:
        return asked
    accept = request.headers.get("accept-language", "").strip().lower()
    return "en" if accept.startswith("en") else "ko"


def safe_next(target: str | None) -> str:
    """A path on this site, or "/": never another host (no open redirect)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(ord(c) < 32 or c == "\\" for c in target)
    ):
        return "/"
    return target


def _render(
    request: Request,
    settings_key: str,
    *,
    lang: str,
    next_path: str,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    nonce = csrf.new_login_nonce()
    context: dict[str, Any] = {
        "lang": lang,
        "other_lang": "en" if lang == "ko" else "ko",
        "t": TEXT[lang],
        "next": next_path,
        "username": username,
        "error": error,
        "csrf_token": csrf.login_form_token(settings_key, nonce),
    }
    response = templates.TemplateResponse(request, "login.html", context, status_code=status_code)
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=browser_session.is_https(request),
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    settings: SettingsDep,
    _: PublicViewer,
    next: str | None = None,
    lang: str | None = None,
) -> HTMLResponse:
    return _render(
        request,
        settings.resolved_secret_key(),
        lang=page_language(request, lang),
        next_path=safe_next(next),
    )


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _: AnonymousEntry,
    username: Annotated[str, Form(max_length=80)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    lang: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    key = settings.resolved_secret_key()
    language = page_language(request, lang)
    next_path = safe_next(next)
    if not csrf.login_form_valid(key, request.cookies.get(csrf.LOGIN_COOKIE), csrf_token):
        return _render(
            request,
            key,
            lang=language,
            next_path=next_path,
            username=username,
            error=TEXT[language]["expired"],
            status_code=403,
        )
    user = accounts.login(session, username, password)
    if user is None:
        session.commit()  # keep the failure count although the login is refused
        return _render(
            request,
            key,
            lang=language,
            next_path=next_path,
            username=username,
            error=TEXT[language]["failed"],
            status_code=401,
        )
    response = RedirectResponse(next_path, status_code=303)
    browser_session.log_in(request, response, session, settings, user)
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


def _logged_out(request: Request, session: SessionDep) -> Response:
    response = RedirectResponse("/", status_code=303)
    browser_session.log_out(request, response, session)
    return response


@router.get("/logout")
def logout_link(request: Request, session: SessionDep, _: PublicViewer) -> Response:
    return _logged_out(request, session)


@router.post("/logout")
def logout_form(request: Request, session: SessionDep, _: PublicViewer) -> Response:
    """A form post; a logged-in browser must send the session's csrf_token field."""
    return _logged_out(request, session)
