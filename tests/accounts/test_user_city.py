"""A city's officials and data stewards can be tied to their city (e.g. as its coordinator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from citymeter.accounts import service
from citymeter.accounts.models import AuditEntry, User
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.cli.main import app
from citymeter.db.engine import make_engine
from citymeter.errors import InvalidInput, NotFound
from citymeter.places.models import Area
from citymeter.settings import get_settings

PASSWORD = "a long enough password"


def test_official_is_tied_to_a_city_by_code(db: Session, district: Area) -> None:
    user = service.create_user(
        db,
        SYSTEM_VIEWER,
        username="coord",
        role="official",
        password=PASSWORD,
        city_code="TESTCITY",
    )
    assert user.city_id == district.city_id
    assert user.district_id is None
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.create")).all()[-1]
    assert entry.detail["city"] == "TESTCITY"


def test_unknown_city_is_refused_and_nothing_is_stored(db: Session, district: Area) -> None:
    with pytest.raises(NotFound, match="NOWHERE"):
        service.create_user(
            db,
            SYSTEM_VIEWER,
            username="coord",
            role="official",
            password=PASSWORD,
            city_code="NOWHERE",
        )
    assert db.scalar(select(User).where(User.username == "coord")) is None


def test_district_head_outside_the_named_city_is_refused(db: Session, district: Area) -> None:
    from citymeter.places.models import City

    db.add(City(code="OTHER", name="다른시"))
    db.flush()
    with pytest.raises(InvalidInput, match="not in the city OTHER"):
        service.create_user(
            db,
            SYSTEM_VIEWER,
            username="head",
            role="district_head",
            password=PASSWORD,
            district_code=district.code,
            city_code="OTHER",
        )


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def test_users_add_with_city_on_the_command_line(store: str) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["cities", "add", "3611000000", "세종특별자치시"])
    assert added.exit_code == 0, added.output
    result: Any = runner.invoke(
        app,
        [
            "users",
            "add",
            "sejong.coord",
            "--role",
            "data_steward",
            "--city",
            "3611000000",
            "--password",
            PASSWORD,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "for city 3611000000" in result.output
    engine = make_engine(store)
    with Session(engine) as session:
        user = session.scalars(select(User).where(User.username == "sejong.coord")).one()
        assert user.city_id is not None
    engine.dispose()
