"""A small city (two districts) with one account per role that suggestions, trends and
directives tests need, each with an API token."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER, Viewer
from tests.entities.conftest import SmallCity, small_city

__all__ = ["People", "SmallCity", "people", "small_city"]

# username, role; the district head heads West (code "W").
ROLES = (
    ("resident", "public"),
    ("mayor", "mayor"),
    ("head.west", "district_head"),
    ("official", "official"),
    ("steward", "data_steward"),
    ("assessor", "assessor"),
)


@dataclass
class People:
    tokens: dict[str, str]
    viewers: dict[str, Viewer]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


@pytest.fixture
def people(db: Session, small_city: SmallCity) -> People:
    tokens: dict[str, str] = {}
    viewers: dict[str, Viewer] = {}
    for username, role in ROLES:
        user = accounts.create_user(
            db,
            SYSTEM_VIEWER,
            username=username,
            role=role,
            password=None,
            district_code="W" if role == "district_head" else None,
        )
        _, tokens[username] = accounts.create_token(db, SYSTEM_VIEWER, username, "tests")
        viewers[username] = accounts.viewer_for(user)
    db.flush()
    return People(tokens, viewers)
