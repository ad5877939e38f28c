"""What the API accepts and returns for users, logins, tokens and the audit log.

No schema here carries a password hash, a token hash or a session id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from citymeter.accounts.models import ApiToken, AuditEntry, User
from citymeter.accounts.passwords import MIN_PASSWORD_LENGTH
from citymeter.accounts.permissions import ROLE_PERMISSIONS, Viewer


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=80)
    role: str
    password: str | None = Field(
        default=None,
        min_length=MIN_PASSWORD_LENGTH,
        description="Omit for a machine account that only uses API tokens.",
    )
    display_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    district: str | None = Field(
        default=None, description="Area code of a district head's district."
    )
    city: str | None = Field(
        default=None, description="Code of the city the user acts for (e.g. its coordinator)."
    )
    department: str | None = Field(default=None, max_length=200)


class UserPublic(BaseModel):
    username: str
    display_name: str
    email: str | None
    role: str
    district: str | None
    department: str | None
    is_active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            role=user.role,
            district=user.district.code if user.district is not None else None,
            department=user.department,
            is_active=user.is_active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=80)
    password: str = Field(max_length=1024)


class Me(BaseModel):
    """Who the caller is. Anonymous callers are role "public" with no permissions."""

    authenticated: bool
    username: str
    role: str
    permissions: list[str]
    user: UserPublic | None = None
    csrf_token: str | None = Field(
        default=None,
        description="For cookie sessions: send it as X-CSRF-Token on POST, PUT, PATCH, DELETE.",
    )

    @classmethod
    def of(cls, viewer: Viewer, user: User | None, csrf_token: str | None) -> Me:
        return cls(
            authenticated=viewer.user_id is not None,
            username=viewer.username,
            role=viewer.role,
            permissions=sorted(p for p in ROLE_PERMISSIONS.get(viewer.role, ()) if viewer.can(p)),
            user=UserPublic.of(user) if user is not None else None,
            csrf_token=csrf_token,
        )


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, description="What will use the token.")
    days: int | None = Field(default=None, ge=1, le=3650, description="Omit for no expiry.")


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenPublic:
        return cls.model_validate(token)


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret. Shown this once; only its hash is kept.")


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryPublic:
        return cls.model_validate(entry)
