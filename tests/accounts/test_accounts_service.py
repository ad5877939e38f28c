"""Users, passwords, lockout, tokens and district scope, at the service layer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import service
from citymeter.accounts.models import ROLES, ApiToken, AuditEntry, User
from citymeter.accounts.passwords import is_argon2id, verify_password
from citymeter.accounts.permissions import (
    PUBLIC_VIEWER,
    READ_INTERNAL,
    ROLE_PERMISSIONS,
    SYSTEM_VIEWER,
    Viewer,
)
from citymeter.db.base import utcnow
from citymeter.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from citymeter.places.models import Area

MakeUser = Callable[..., User]


def _counts(db: Session) -> tuple[int, int]:
    users = db.scalar(select(func.count()).select_from(User)) or 0
    entries = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return users, entries


def test_passwords_are_stored_as_argon2id_hashes(
    db: Session, make_user: MakeUser, password: str
) -> None:
    user = make_user("official", password=password)
    assert user.password_hash is not None
    assert is_argon2id(user.password_hash)
    assert password not in user.password_hash
    assert verify_password(user.password_hash, password)
    assert not verify_password(user.password_hash, password + "x")


def test_create_user_records_an_audit_entry(db: Session, make_user: MakeUser) -> None:
    user = make_user("mayor")
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry is not None
    assert (entry.action, entry.object_type, entry.object_id) == (
        "user.create",
        "user",
        str(user.id),
    )
    assert entry.detail == {"username": "mayor", "role": "mayor"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"role": "superuser"}, InvalidInput, "choose one of: public, mayor, district_head"),
        ({"role": "district_head"}, InvalidInput, "A district head needs a district"),
        ({"role": "district_head", "district_code": "nope"}, NotFound, "No area has the code"),
        ({"role": "mayor", "district_code": "1111000000"}, InvalidInput, "Only a district head"),
        ({"role": "mayor", "password": "short"}, InvalidInput, "at least 8 characters"),
        ({"role": "mayor", "username": "has space"}, InvalidInput, "A username is"),
        ({"role": "mayor", "username": "taken"}, Conflict, "already exists"),
        ({"role": "mayor", "email": "no-at-sign"}, InvalidInput, "e-mail"),
    ],
)
def test_bad_user_input_is_refused_and_nothing_is_stored(
    db: Session,
    make_user: MakeUser,
    district: Area,
    kwargs: dict[str, str],
    error: type[Exception],
    message: str,
) -> None:
    make_user("official", username="taken")
    before = _counts(db)
    arguments: dict[str, str | None] = {"username": "newcomer", "password": None, **kwargs}
    with pytest.raises(error, match=message):
        service.create_user(db, SYSTEM_VIEWER, **arguments)  # type: ignore[arg-type]
    assert _counts(db) == before


def test_wrong_password_and_unknown_user_get_the_same_message(
    db: Session, make_user: MakeUser, password: str
) -> None:
    make_user("official", password=password)
    with pytest.raises(NotAuthenticated) as wrong_password:
        service.authenticate_password(db, "official", "not the password")
    with pytest.raises(NotAuthenticated) as unknown_user:
        service.authenticate_password(db, "nobody", password)
    assert wrong_password.value.message == unknown_user.value.message == service.LOGIN_FAILED
    user = service.authenticate_password(db, "official", password)
    assert user.last_login_at is not None


def test_too_many_failures_lock_the_account_for_a_while(
    db: Session, make_user: MakeUser, password: str
) -> None:
    user = make_user("official", password=password)
    for _ in range(service.MAX_FAILED_LOGINS - 1):
        assert service.login(db, "official", "guess-guess") is None
    assert user.failed_logins == service.MAX_FAILED_LOGINS - 1
    assert user.locked_until is None
    assert service.login(db, "official", "guess-guess") is None
    assert user.locked_until is not None
    assert user.locked_until - utcnow() <= service.LOCKOUT
    # Locked: even the right password is refused, with the same message as any failure.
    assert service.login(db, "official", password) is None
    lockouts = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.lockout")).all()
    assert [e.object_id for e in lockouts] == [str(user.id)]
    # When the lockout has passed, the right password works and the counter starts again.
    user.locked_until = utcnow() - dt.timedelta(seconds=1)
    assert service.login(db, "official", password) is user
    assert user.failed_logins == 0


def test_a_new_password_lifts_the_lockout(db: Session, make_user: MakeUser, password: str) -> None:
    user = make_user("official", password=password)
    user.locked_until = utcnow() + service.LOCKOUT
    service.set_password(db, SYSTEM_VIEWER, "official", "another good password")
    assert service.login(db, "official", "another good password") is user
    with pytest.raises(InvalidInput, match="at least 8"):
        service.set_password(db, SYSTEM_VIEWER, "official", "short")


def test_disabled_user_cannot_log_in(db: Session, make_user: MakeUser, password: str) -> None:
    make_user("official", password=password)
    service.set_active(db, SYSTEM_VIEWER, "official", active=False)
    assert service.login(db, "official", password) is None


def test_tokens_are_stored_as_hashes_and_can_be_revoked(db: Session, make_user: MakeUser) -> None:
    user = make_user("data_steward")
    token, secret = service.create_token(db, SYSTEM_VIEWER, "data-steward", "feed", days=30)
    assert secret.startswith(service.TOKEN_PREFIX)
    assert secret not in {token.token_hash, token.prefix}
    assert service.user_for_token(db, secret) is user
    assert token.last_used_at is not None
    with pytest.raises(Conflict, match="already has a token named 'feed'"):
        service.create_token(db, SYSTEM_VIEWER, "data-steward", "feed")
    service.revoke_token(db, SYSTEM_VIEWER, "data-steward", "feed")
    with pytest.raises(NotAuthenticated, match="not valid"):
        service.user_for_token(db, secret)
    with pytest.raises(NotFound, match="no live token"):
        service.revoke_token(db, SYSTEM_VIEWER, "data-steward", "feed")
    actions = db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.object_id == str(user.id))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["user.create", "token.create", "token.revoke"]


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_token_lifetime_out_of_range_is_refused(
    db: Session, make_user: MakeUser, days: int
) -> None:
    make_user("official")
    with pytest.raises(InvalidInput, match="1 to 3650 days"):
        service.create_token(db, SYSTEM_VIEWER, "official", "feed", days=days)
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_expired_token_is_refused(db: Session, make_user: MakeUser) -> None:
    make_user("official")
    token, secret = service.create_token(db, SYSTEM_VIEWER, "official", "feed", days=1)
    token.expires_at = utcnow() - dt.timedelta(minutes=1)
    with pytest.raises(NotAuthenticated, match="expired"):
        service.user_for_token(db, secret)


def test_disabling_revokes_tokens_ends_sessions_and_is_audited(
    db: Session, make_user: MakeUser
) -> None:
    user = make_user("official")
    _, secret = service.create_token(db, SYSTEM_VIEWER, "official", "feed")
    cookie, _ = service.start_web_session(db, user, hours=1)
    service.set_active(db, SYSTEM_VIEWER, "official", active=False)
    with pytest.raises(NotAuthenticated):
        service.user_for_token(db, secret)
    assert service.web_session_for(db, cookie) is None
    # Enabling again does not bring the old credentials back.
    service.set_active(db, SYSTEM_VIEWER, "official", active=True)
    with pytest.raises(NotAuthenticated):
        service.user_for_token(db, secret)
    assert service.web_session_for(db, cookie) is None
    actions = db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.object_id == str(user.id))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["user.create", "token.create", "user.disable", "user.enable"]


def test_an_admin_cannot_disable_themselves(db: Session, make_user: MakeUser) -> None:
    admin = make_user("admin")
    with pytest.raises(InvalidInput, match="your own account"):
        service.set_active(db, service.viewer_for(admin), "admin", active=False)
    assert admin.is_active


def test_district_head_sees_internal_data_of_their_own_district_only(
    db: Session, make_user: MakeUser, district: Area
) -> None:
    head = service.viewer_for(make_user("district_head"))
    assert head.district_id == district.id
    assert head.city_id == district.city_id
    assert head.sees_internal_of(district.id)
    assert not head.sees_internal_of(district.id + 1)
    assert not head.sees_internal_of(None)


@pytest.mark.parametrize("role", ROLES)
def test_internal_data_follows_the_role(role: str) -> None:
    viewer = Viewer(user_id=1, username="x", role=role, district_id=7)
    expected = READ_INTERNAL in ROLE_PERMISSIONS[role]
    # Whole-city readers see every district; a district head only their own (7).
    assert viewer.sees_internal_of(7) is expected
    assert viewer.sees_internal_of(8) is (expected and role != "district_head")
    assert not PUBLIC_VIEWER.sees_internal_of(7)
