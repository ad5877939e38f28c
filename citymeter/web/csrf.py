"""Cross-site request forgery protection.

A browser sends the session cookie with any request, even one another site makes it send. So a
request that is authenticated by the cookie and changes something (POST, PUT, PATCH, DELETE) must
also carry the session's CSRF token, which another site cannot read: in the X-CSRF-Token header or
a `csrf_token` form field. API tokens (Authorization: Bearer) are not sent by browsers on their
own and need no CSRF token.

The login form has no session yet; it uses a signed double-submit cookie: a random nonce in a
cookie, and in the form an HMAC of that nonce under the installation's secret key, which a site
that can plant cookies still cannot forge.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from citymeter.errors import PermissionDenied

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LOGIN_COOKIE = "citymeter_login_csrf"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

MISSING = (
    "This request comes from a logged-in browser session but lacks the session's CSRF token. "
    "Send it in the X-CSRF-Token header (GET /api/v1/auth/me returns it) or as the csrf_token "
    "form field, or use an API token instead of the cookie."
)
WRONG = (
    "The CSRF token does not match this browser session; reload the page (or call "
    "GET /api/v1/auth/me) and try again."
)


async def submitted_token(request: Request) -> str | None:
    """The token sent with a request: the header, else the form field of a form post."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        if isinstance(value, str) and value:
            return value
    return None


async def check_session_request(request: Request, expected: str) -> None:
    """Raise PermissionDenied unless an unsafe request carries the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    sent = await submitted_token(request)
    if sent is None:
        raise PermissionDenied(MISSING)
    if not secrets.compare_digest(sent.encode(), expected.encode()):
        raise PermissionDenied(WRONG)


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def login_form_token(secret_key: str, nonce: str) -> str:
    mac = hmac.new(secret_key.encode(), b"citymeter-login:" + nonce.encode(), hashlib.sha256)
    return mac.hexdigest()


def login_form_valid(secret_key: str, nonce: str | None, token: str | None) -> bool:
    if not nonce or not token:
        return False
    return secrets.compare_digest(login_form_token(secret_key, nonce).encode(), token.encode())


def session_token(request: Request) -> str | None:
    """The CSRF token of the request's browser session, for a page to put in its forms as
    <input type="hidden" name="csrf_token" value="…">; None without a session."""
    web_session = getattr(request.state, "web_session", None)
    token: str | None = getattr(web_session, "csrf_token", None)
    return token
