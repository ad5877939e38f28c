"""JSON API: user accounts and their API tokens (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import USERS_MANAGE, Viewer
from citymeter.accounts.schemas import (
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
)
from citymeter.web.deps import SessionDep, require

router = APIRouter(prefix="/api/v1", tags=["users"])

Manager = Annotated[Viewer, Depends(require(USERS_MANAGE))]


@router.get("/users")
def list_users(session: SessionDep, _: Manager) -> list[UserPublic]:
    return [UserPublic.of(user) for user in accounts.list_users(session)]


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: SessionDep, viewer: Manager) -> UserPublic:
    user = accounts.create_user(
        session,
        viewer,
        username=body.username,
        role=body.role,
        password=body.password,
        display_name=body.display_name,
        email=body.email,
        district_code=body.district,
        department=body.department,
        city_code=body.city,
    )
    return UserPublic.of(user)


@router.get("/users/{username}")
def get_user(username: str, session: SessionDep, _: Manager) -> UserPublic:
    return UserPublic.of(accounts.get_user(session, username))


@router.post("/users/{username}/disable")
def disable_user(username: str, session: SessionDep, viewer: Manager) -> UserPublic:
    """Takes effect at once: the user's API tokens are revoked and browser sessions ended."""
    return UserPublic.of(accounts.set_active(session, viewer, username, active=False))


@router.post("/users/{username}/enable")
def enable_user(username: str, session: SessionDep, viewer: Manager) -> UserPublic:
    return UserPublic.of(accounts.set_active(session, viewer, username, active=True))


@router.get("/users/{username}/tokens")
def list_tokens(username: str, session: SessionDep, _: Manager) -> list[TokenPublic]:
    return [TokenPublic.of(token) for token in accounts.list_tokens(session, username)]


@router.post("/users/{username}/tokens", status_code=status.HTTP_201_CREATED)
def create_token(
    username: str, body: TokenCreate, session: SessionDep, viewer: Manager
) -> TokenCreated:
    """Returns the token's secret this once; only its hash is kept."""
    token, secret = accounts.create_token(session, viewer, username, body.name, body.days)
    return TokenCreated(**TokenPublic.of(token).model_dump(), token=secret)


@router.post("/users/{username}/tokens/{name}/revoke")
def revoke_token(username: str, name: str, session: SessionDep, viewer: Manager) -> TokenPublic:
    return TokenPublic.of(accounts.revoke_token(session, viewer, username, name))
