"""Fixtures for the accounts tests: a district to scope a district head to, and users."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from citymeter.accounts import service
from citymeter.accounts.models import User
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.places.models import Area, City

PASSWORD = "correct horse battery"

MakeUser = Callable[..., User]


@pytest.fixture
def district(db: Session) -> Area:
    city = City(code="TESTCITY", name="테스트시")
    db.add(city)
    db.flush()
    area = Area(city_id=city.id, code="1111000000", level="district", name="종로구")
    db.add(area)
    db.flush()
    return area


@pytest.fixture
def make_user(db: Session, district: Area) -> MakeUser:
    """make_user(role, username=role, password=None): a user; district heads get `district`."""

    def _make(role: str, username: str | None = None, password: str | None = None) -> User:
        return service.create_user(
            db,
            SYSTEM_VIEWER,
            username=username or role.replace("_", "-"),
            role=role,
            password=password,
            district_code=district.code if role == "district_head" else None,
        )

    return _make


Bearer = Callable[..., dict[str, str]]


@pytest.fixture
def bearer(db: Session) -> Bearer:
    """bearer(username, days=None): Authorization headers with a new API token of that user."""

    def _bearer(username: str, days: int | None = None) -> dict[str, str]:
        _, secret = service.create_token(db, SYSTEM_VIEWER, username, f"test-{days}", days)
        return {"Authorization": f"Bearer {secret}"}

    return _bearer


@pytest.fixture
def password() -> str:
    return PASSWORD
