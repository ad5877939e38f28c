"""Creating incidents, stage order per unit, the midnight rule and response times."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER, SYSTEM_VIEWER
from citymeter.errors import InvalidInput, PermissionDenied
from citymeter.incidents import service
from citymeter.incidents.models import Incident, IncidentUnitStage
from citymeter.incidents.service import IncidentIn, StageIn
from tests.entities.conftest import WEST_POINT
from tests.incidents.conftest import SmallCity

T0 = dt.datetime(2024, 5, 1, 14, 0, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def fire(number: str = "F-1", stages: list[StageIn] | None = None, **extra: object) -> IncidentIn:
    return IncidentIn.model_validate(
        {
            "number": number,
            "type": "FIRE",
            "category": "fire",
            "reported_at": T0,
            "stages": stages or [],
            **extra,
        }
    )


def counts(db: Session) -> tuple[int, int]:
    return (
        int(db.scalar(select(func.count()).select_from(Incident)) or 0),
        int(db.scalar(select(func.count()).select_from(IncidentUnitStage)) or 0),
    )


def test_create_locates_and_derives_response_times(db: Session, small_city: SmallCity) -> None:
    stages = [
        StageIn(unit="E1", stage="dispatched", at=at(60)),
        StageIn(unit="M2", stage="dispatched", at=at(90)),
        StageIn(unit="E1", stage="on_scene", at=at(600)),
        StageIn(unit="M2", stage="on_scene", at=at(500)),
    ]
    [incident] = service.create_incidents(db, SYSTEM_VIEWER, [fire(stages=stages, **WEST_POINT)])
    assert incident.district_id == small_city.west.id
    assert incident.area_id == small_city.west_old_town.id
    assert incident.status == "on_scene"
    times = service.response_times(db, incident)
    assert times.call_to_dispatch_s == 60
    assert times.dispatch_to_arrival_s == 440  # first arrival (M2) − first dispatch (E1)


def test_stage_out_of_order_is_refused_and_nothing_stored(db: Session) -> None:
    good = fire("F-ok", [StageIn(unit="E1", stage="dispatched", at=at(10))])
    bad = fire(
        "F-bad",
        [
            StageIn(unit="E1", stage="on_scene", at=at(300)),
            StageIn(unit="E1", stage="en_route", at=at(400)),
        ],
    )
    with pytest.raises(InvalidInput, match="F-bad: unit E1: stage 'en_route' out of order"):
        service.create_incidents(db, SYSTEM_VIEWER, [good, bad])
    assert counts(db) == (0, 0)


def test_advance_checks_order_and_time(db: Session) -> None:
    service.create_incidents(db, SYSTEM_VIEWER, [fire()])
    service.advance(db, SYSTEM_VIEWER, "F-1", "E1", "dispatched", at(30))
    service.advance(db, SYSTEM_VIEWER, "F-1", "E1", "on_scene", at(400))
    with pytest.raises(InvalidInput, match="out of order"):
        service.advance(db, SYSTEM_VIEWER, "F-1", "E1", "en_route", at(500))
    with pytest.raises(InvalidInput, match="before its 'on_scene'"):
        service.advance(db, SYSTEM_VIEWER, "F-1", "E1", "cleared", at(100))
    with pytest.raises(PermissionDenied):
        service.advance(db, PUBLIC_VIEWER, "F-1", "E1", "cleared", at(900))
    incident = service.get_incident(db, "F-1")
    assert [s.stage for s in service.timeline_of(db, incident)] == ["dispatched", "on_scene"]
    assert incident.status == "on_scene"


def test_midnight_rule_moves_a_clock_time_to_the_next_day() -> None:
    day = dt.date(2024, 5, 1)
    dispatched = service.place_clock(day, dt.time(23, 58), None, dt.UTC)
    arrived = service.place_clock(day, dt.time(0, 6), dispatched, dt.UTC)
    assert arrived == dt.datetime(2024, 5, 2, 0, 6, tzinfo=dt.UTC)
    assert (arrived - dispatched).total_seconds() == 480
    same_day = service.place_clock(day, dt.time(23, 59), dispatched, dt.UTC)
    assert same_day.date() == day


def test_duplicate_number_and_outside_location_refuse_the_batch(
    db: Session, small_city: SmallCity
) -> None:
    with pytest.raises(InvalidInput, match="appears twice"):
        service.create_incidents(db, SYSTEM_VIEWER, [fire("A"), fire("A")])
    with pytest.raises(InvalidInput, match="outside Testville"):
        service.create_incidents(db, SYSTEM_VIEWER, [fire("B", lat=35.1, lon=129.0)])
    assert counts(db) == (0, 0)
