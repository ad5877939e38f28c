"""Users, logins, browser sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, joinedload

from citymeter.accounts import audit
from citymeter.accounts.models import ROLES, ApiToken, User, WebSession
from citymeter.accounts.passwords import (
    MIN_PASSWORD_LENGTH,
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)
from citymeter.accounts.permissions import PUBLIC_VIEWER, Viewer
from citymeter.db.base import utcnow
from citymeter.db.reference import ReferenceCache
from citymeter.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from citymeter.places.models import Area, City

TOKEN_PREFIX = "cm_"
MAX_TOKEN_DAYS = 3650
# How stale an API token's last_used_at may get before a request refreshes it.
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)

# After this many wrong passwords in a row an account refuses logins for LOCKOUT, even with
# the right password. Short on purpose: it slows guessing without locking anyone out for long.
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=5)

# One message for every failed login, so that nobody can probe which usernames exist.
LOGIN_FAILED = (
    "Wrong username or password. After "
    f"{MAX_FAILED_LOGINS} failed attempts an account waits "
    f"{int(LOCKOUT.total_seconds() // 60)} minutes before it accepts a login again."
)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def viewer_for(user: User) -> Viewer:
    return Viewer(
        user_id=user.id,
        username=user.username,
        role=user.role,
        district_id=user.district_id,
        city_id=user.city_id,
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")


def create_user(
    session: Session,
    actor: Viewer,
    *,
    username: str,
    role: str,
    password: str | None,
    display_name: str | None = None,
    email: str | None = None,
    district_code: str | None = None,
    department: str | None = None,
    city_code: str | None = None,
) -> User:
    """Add a user. A district head needs a district; anyone else may be tied to a city (a city's
    officials and data stewards act for it, e.g. as its certification coordinator)."""
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
    if (
        not username
        or len(username) > 80
        or not username.replace("_", "").replace("-", "").replace(".", "").isalnum()
        or not username.isascii()
    ):
        raise InvalidInput(
            "A username is 1 to 80 ASCII letters, digits, '.', '-' and '_' (no spaces)."
        )
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"A user named {username!r} already exists.")
    if password is not None:
        _check_password(password)
    if email is not None and "@" not in email:
        raise InvalidInput(f"{email!r} does not look like an e-mail address.")
    district_id = None
    city_id = None
    if role == "district_head":
        if not district_code:
            raise InvalidInput("A district head needs a district: give its area code (--district).")
        district = session.scalar(
            select(Area).where(Area.code == district_code).order_by(Area.id.desc())
        )
        if district is None:
            raise NotFound(f"No area has the code {district_code!r}; see `citymeter areas list`.")
        district_id = district.id
        city_id = district.city_id
    elif district_code:
        raise InvalidInput(f"Only a district head has a district; the role {role!r} does not.")
    if city_code is not None:
        city = session.scalar(select(City).where(City.code == city_code))
        if city is None:
            raise NotFound(f"No city has the code {city_code!r}; see `citymeter cities list`.")
        if city_id is not None and city_id != city.id:
            raise InvalidInput(f"District {district_code} is not in the city {city_code}.")
        city_id = city.id
    user = User(
        username=username,
        role=role,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password) if password is not None else None,
        district_id=district_id,
        city_id=city_id,
        department=department,
    )
    session.add(user)
    session.flush()
    detail: dict[str, object] = {"username": username, "role": role}
    if district_code:
        detail["district"] = district_code
    if city_code:
        detail["city"] = city_code
    audit.record(session, actor, "user.create", "user", user.id, detail)
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


def user_of(session: Session, viewer: Viewer) -> User | None:
    """The account behind a viewer; None for the public and for the CLI operator."""
    return session.get(User, viewer.user_id) if viewer.user_id is not None else None


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def set_active(session: Session, actor: Viewer, username: str, active: bool) -> User:
    """Disabling takes effect at once: the user's tokens are revoked and sessions ended."""
    user = get_user(session, username)
    if not active and actor.user_id is not None and actor.user_id == user.id:
        raise InvalidInput("You cannot disable your own account; ask another admin.")
    if user.is_active == active:
        return user
    user.is_active = active
    if active:
        user.failed_logins = 0
        user.locked_until = None
    else:
        for token in user.tokens:
            if token.revoked_at is None:
                token.revoked_at = utcnow()
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    audit.record(session, actor, "user.enable" if active else "user.disable", "user", user.id)
    return user


def set_password(session: Session, actor: Viewer, username: str, password: str) -> None:
    """A new password also ends the user's browser sessions and lifts a lockout."""
    _check_password(password)
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    audit.record(session, actor, "user.password", "user", user.id)


def login(session: Session, username: str, password: str) -> User | None:
    """The user when the password is right and the account open, else None (failure recorded).

    The caller commits even on failure, so that the failure counter survives the refused request.
    """
    user = session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is None or user.password_hash is None:
        dummy_verify(password)  # spend the same time as a real check
        return None
    locked = user.locked_until is not None and user.locked_until > now
    correct = verify_password(user.password_hash, password)
    if correct and not locked and user.is_active:
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        session.flush()
        return user
    if not correct and not locked:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.failed_logins = 0
            user.locked_until = now + LOCKOUT
            audit.record(
                session,
                PUBLIC_VIEWER,
                "user.lockout",
                "user",
                user.id,
                {"failed_logins": MAX_FAILED_LOGINS, "minutes": LOCKOUT.total_seconds() // 60},
            )
    session.flush()
    return None


def authenticate_password(session: Session, username: str, password: str) -> User:
    user = login(session, username, password)
    if user is None:
        raise NotAuthenticated(LOGIN_FAILED)
    return user


def _token_days(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"A token lasts 1 to {MAX_TOKEN_DAYS} days; {days} is out of range.")
    return days


def create_token(
    session: Session, actor: Viewer, username: str, name: str, days: int | None = None
) -> tuple[ApiToken, str]:
    """Returns the token row and the secret, which is shown once and never stored."""
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInput("A token needs a name of 1 to 120 characters (what uses it).")
    _token_days(days)
    user = get_user(session, username)
    if not user.is_active:
        raise Conflict(f"The user {username!r} is disabled; enable them before giving a token.")
    if any(t.name == name and t.revoked_at is None for t in user.tokens):
        raise Conflict(
            f"{username!r} already has a token named {name!r}; revoke it or pick another."
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:10],
        token_hash=_digest(secret),
        expires_at=utcnow() + dt.timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    session.refresh(user, ["tokens"])
    detail: dict[str, object] = {"token": name, "prefix": token.prefix, "days": days}
    audit.record(session, actor, "token.create", "user", user.id, detail)
    return token, secret


def list_tokens(session: Session, username: str) -> list[ApiToken]:
    user = get_user(session, username)
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    )


def revoke_token(session: Session, actor: Viewer, username: str, name: str) -> ApiToken:
    """Revokes the user's live token called `name` (or whose prefix is `name`)."""
    user = get_user(session, username)
    live = [t for t in user.tokens if t.revoked_at is None and name in (t.name, t.prefix)]
    if not live:
        raise NotFound(f"{username!r} has no live token named {name!r}; see `users tokens`.")
    token = live[0]
    token.revoked_at = utcnow()
    session.flush()
    detail = {"token": token.name, "prefix": token.prefix}
    audit.record(session, actor, "token.revoke", "user", user.id, detail)
    return token


# Built once, as every API call with a token runs it; one query, not two (the user joined).
_TOKEN_BY_DIGEST = (
    select(ApiToken)
    .where(ApiToken.token_hash == bindparam("digest"))
    .options(joinedload(ApiToken.user))
)


def user_for_token(session: Session, secret: str) -> User:
    token = session.scalar(_TOKEN_BY_DIGEST, {"digest": _digest(secret)})
    now = utcnow()
    if token is None or token.revoked_at is not None:
        raise NotAuthenticated("The API token is not valid; ask an admin for a new one.")
    if token.expires_at is not None and token.expires_at < now:
        raise NotAuthenticated("The API token has expired; ask an admin for a new one.")
    if not token.user.is_active:
        raise NotAuthenticated("The account behind this API token is disabled.")
    # Kept to the minute: writing it on every request would make each read an UPDATE.
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION:
        token.last_used_at = now
    return token.user


# The columns an API call needs to know who is calling, read as plain rows: cheaper than loading
# the token and its user as objects, on the path every token-authenticated request takes.
_CALLER_BY_DIGEST = (
    select(
        ApiToken.id,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        ApiToken.revoked_at,
        User.id,
        User.username,
        User.role,
        User.district_id,
        User.city_id,
        User.is_active,
    )
    .join(User, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"))
)


# Who a token belongs to, kept while api_token and app_user are unchanged; and when this process
# last wrote a token's last use (the kept row does not see that write: it does not stamp).
_CALLERS: ReferenceCache[tuple[Any, ...] | None] = ReferenceCache(("api_token", "app_user"))
_LAST_USE_WRITTEN: dict[str, dt.datetime] = {}  # by token digest


def viewer_for_token(session: Session, secret: str) -> Viewer:
    """Who is calling with this API token: the same checks as `user_for_token`, without
    loading objects (the token's last use is still kept to the minute)."""
    digest = _digest(secret)
    connection = session.connection()

    def load() -> tuple[Any, ...] | None:
        row = connection.execute(_CALLER_BY_DIGEST, {"digest": digest}).first()
        return None if row is None else tuple(row)

    row = _CALLERS.get(session, digest, load)  # flushes first: a change in this session counts
    now = utcnow()
    if row is None or row[3] is not None:
        raise NotAuthenticated("The API token is not valid; ask an admin for a new one.")
    token_id, expires_at = row[0], row[1]
    if expires_at is not None and expires_at < now:
        raise NotAuthenticated("The API token has expired; ask an admin for a new one.")
    if not row[9]:
        raise NotAuthenticated("The account behind this API token is disabled.")
    last_used_at = max((t for t in (row[2], _LAST_USE_WRITTEN.get(digest)) if t), default=None)
    if last_used_at is None or now - last_used_at >= TOKEN_USE_RESOLUTION:
        connection.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        _LAST_USE_WRITTEN[digest] = now
    return Viewer(user_id=row[4], username=row[5], role=row[6], district_id=row[7], city_id=row[8])


def start_web_session(session: Session, user: User, hours: int) -> tuple[str, WebSession]:
    """Returns the cookie value (shown to the browser only) and the stored session."""
    secret = secrets.token_urlsafe(32)
    web_session = WebSession(
        session_hash=_digest(secret),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        expires_at=utcnow() + dt.timedelta(hours=hours),
    )
    session.add(web_session)
    session.flush()
    return secret, web_session


def web_session_for(session: Session, cookie: str) -> WebSession | None:
    web_session = session.scalar(
        select(WebSession).where(WebSession.session_hash == _digest(cookie))
    )
    if web_session is None or web_session.expires_at < utcnow():
        return None
    user = session.get(User, web_session.user_id)
    if user is None or not user.is_active:
        return None
    return web_session


def end_web_session(session: Session, cookie: str) -> None:
    session.execute(delete(WebSession).where(WebSession.session_hash == _digest(cookie)))
    session.flush()
