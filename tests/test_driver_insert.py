"""`DriverInsert` stores what SQLAlchemy's own INSERT stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from citymeter.cli.common import CLI_ACTOR
from citymeter.complaints import service as complaints
from citymeter.complaints.models import ServiceRequest
from citymeter.db.driver_insert import DriverInsert
from citymeter.places.service import create_city

TABLE = cast(Table, ServiceRequest.__table__)
COLUMNS = [c.key for c in TABLE.c if c.key != "id"]


def _request(city_id: int, type_id: int, number: str) -> dict[str, Any]:
    at = dt.datetime(2026, 12, 3, 23, 59, 58, 123456, tzinfo=dt.UTC)
    values: dict[str, Any] = dict.fromkeys(COLUMNS)
    values.update(
        city_id=city_id,
        service_request_id=number,
        service_type_id=type_id,
        service_code="pothole",
        status="open",
        description="A hole — 도로 파손",
        requested_at=at,
        updated_at=at,
        expected_at=at + dt.timedelta(hours=48),
        lat=37.55,
        long=127.05,
        attributes={"depth": "deep", "sizes": ["s", "m"]},
    )
    return values


def test_a_row_through_the_driver_equals_a_row_through_sqlalchemy(db: Session) -> None:
    city = create_city(db, CLI_ACTOR, code="drivers", name="Drivers")
    kind = complaints.create_service_type(db, CLI_ACTOR, city, code="pothole", name="Pothole")
    db.flush()
    connection = db.connection()
    by_driver = DriverInsert(TABLE, COLUMNS, returning="id").run(
        connection, _request(city.id, kind.id, "by-driver")
    )
    by_core = connection.execute(
        insert(TABLE).returning(TABLE.c.id), _request(city.id, kind.id, "by-core")
    ).scalar_one()
    assert isinstance(by_driver, int) and by_driver != by_core
    rows = {
        row.id: row._asdict()
        for row in connection.execute(select(TABLE).where(TABLE.c.id.in_([by_driver, by_core])))
    }
    driver_row, core_row = rows[by_driver], rows[by_core]
    for row in (driver_row, core_row):
        row.pop("id")
        row.pop("service_request_id")
    assert driver_row == core_row
    assert driver_row["requested_at"] == dt.datetime(2026, 12, 3, 23, 59, 58, 123456, tzinfo=dt.UTC)
    assert driver_row["attributes"] == {"depth": "deep", "sizes": ["s", "m"]}
    # Stored alike underneath too (SQLite's text, PostgreSQL's types).
    raw = connection.exec_driver_sql(
        "SELECT requested_at, attributes FROM complaint_requests WHERE id IN "
        f"({int(by_driver)}, {int(by_core)}) ORDER BY id"
    ).all()
    assert raw[0] == raw[1]


def test_without_returning_it_answers_none_and_names_unknown_columns(db: Session) -> None:
    with pytest.raises(ValueError, match="no column colour"):
        DriverInsert(TABLE, ["city_id", "colour"])
    city = create_city(db, CLI_ACTOR, code="plain", name="Plain")
    kind = complaints.create_service_type(db, CLI_ACTOR, city, code="pothole", name="Pothole")
    db.flush()
    plain = DriverInsert(TABLE, COLUMNS)
    assert plain.run(db.connection(), _request(city.id, kind.id, "plain-1")) is None
    stored = db.scalars(select(ServiceRequest).where(ServiceRequest.city_id == city.id)).all()
    assert [r.service_request_id for r in stored] == ["plain-1"]
