"""Incidents, complaints and suggestions are announced on the live stream once their transaction
commits, with what the public may see of them and nothing more (dashboards redraw on these)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER, Viewer
from citymeter.complaints import service as complaints
from citymeter.incidents import service as incidents
from citymeter.live.bus import LiveBus, set_bus
from citymeter.live.events import LiveEvent
from citymeter.places.models import City
from citymeter.places.service import add_area, create_city
from citymeter.suggestions import service as suggestions

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[127.0, 37.5], [127.1, 37.5], [127.1, 37.6], [127.0, 37.6], [127.0, 37.5]]],
}


@pytest.fixture
def bus() -> Iterator[LiveBus]:
    fresh = LiveBus(replay_size=100)
    previous = set_bus(fresh)
    yield fresh
    set_bus(previous)


@pytest.fixture
def city(db: Session) -> City:
    made = create_city(db, SYSTEM_VIEWER, code="evcity", name="Event City")
    add_area(
        db, SYSTEM_VIEWER, city=made, code="ev-d1", level="district", name="D1", boundary=SQUARE
    )
    complaints.create_service_type(
        db, SYSTEM_VIEWER, made, code="noise", name="Noise", target_hours=48
    )
    db.flush()
    return made


def _events(bus: LiveBus, prefix: str) -> list[LiveEvent]:
    return [e for e in bus.recent() if e.kind.startswith(prefix)]


def test_an_incident_and_its_stage_are_announced_without_address_or_remarks(
    db: Session, bus: LiveBus, city: City
) -> None:
    now = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
    incidents.create_incidents(
        db,
        SYSTEM_VIEWER,
        [
            incidents.IncidentIn(
                number="EV-1",
                type="fire-building",
                category="fire",
                severity=2,
                reported_at=now,
                lat=37.55,
                lon=127.05,
                address="12 Secret Road",
                remarks="caller's flat number",
            )
        ],
    )
    assert _events(bus, "incident") == []  # nothing before the commit
    db.commit()
    incidents.advance(db, SYSTEM_VIEWER, "EV-1", "E1", "dispatched", now + dt.timedelta(minutes=1))
    db.commit()
    created, updated = _events(bus, "incident")
    assert created.kind == "incident.created" and updated.kind == "incident.updated"
    assert created.visibility == "public" and created.city_id == city.id
    assert created.district_id is not None
    assert created.data["number"] == "EV-1" and created.data["district"] == "ev-d1"
    assert created.data["category"] == "fire" and created.data["status"] == "reported"
    assert updated.data["status"] == "dispatched"
    text = json.dumps([created.data, updated.data])
    assert "Secret" not in text and "flat" not in text


def test_a_complaint_is_announced_without_its_text_or_requester(
    db: Session, bus: LiveBus, city: City
) -> None:
    request = complaints.submit_request(
        db,
        SYSTEM_VIEWER,
        city,
        complaints.NewRequest(
            service_code="noise",
            lat=37.55,
            long=127.05,
            description="the neighbour at no. 7 plays drums",
            first_name="Hong",
            email="hong@example.org",
        ),
    )
    db.commit()
    complaints.set_status(db, SYSTEM_VIEWER, request, "closed", "spoken to")
    db.commit()
    created, updated = _events(bus, "complaint")
    assert (created.kind, updated.kind) == ("complaint.created", "complaint.updated")
    assert created.data["service_request_id"] == request.service_request_id
    assert (created.data["status"], updated.data["status"]) == ("open", "closed")
    assert created.data["district"] == "ev-d1" and created.city_id == city.id
    text = json.dumps([created.data, updated.data])
    assert "drums" not in text and "Hong" not in text and "example.org" not in text


def test_a_rolled_back_complaint_is_never_announced(db: Session, bus: LiveBus, city: City) -> None:
    complaints.submit_request(
        db, SYSTEM_VIEWER, city, complaints.NewRequest(service_code="noise", lat=37.55, long=127.05)
    )
    db.rollback()
    db.commit()
    assert _events(bus, "complaint") == []


def test_a_suggestion_is_announced_without_its_author(
    db: Session, bus: LiveBus, city: City
) -> None:
    kim = accounts.create_user(db, SYSTEM_VIEWER, username="kim", role="public", password=None)
    resident = Viewer(user_id=kim.id, username="kim", role="public")
    made = suggestions.submit(
        db,
        resident,
        city,
        suggestions.NewSuggestion(
            title="More benches",
            body="By the river.",
            category="environment",
            lat=37.55,
            lon=127.05,
            author_name="Kim Minsu",
            author_contact="010-1234-5678",
        ),
    )
    db.commit()
    (event,) = _events(bus, "suggestion")
    assert event.kind == "suggestion.created" and event.data["id"] == made.id
    assert event.data["title"] == "More benches" and event.district_id == made.district_id
    text = json.dumps(event.data)
    assert "Kim" not in text and "010" not in text and "37.55" not in text
