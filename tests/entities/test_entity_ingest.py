"""Ingest of readings: idempotent, all or nothing, dead letters, roll-ups, area resolution."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.entities import service
from citymeter.entities.history import count_points
from citymeter.entities.ingest import Reading, ingest_readings, record_dead_letter
from citymeter.entities.models import AttributeRollup, DeadLetter, Entity
from citymeter.live.events import LiveEvent, get_bus
from tests.entities.conftest import EAST_POINT, OUTSIDE_POINT, WEST_POINT, SmallCity

T0 = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)


def reading(local_id: str = "s1", minutes: int = 0, **attrs: Any) -> dict[str, Any]:
    return {
        "type": "AirQualityStation",
        "id": local_id,
        "observed_at": (T0 + dt.timedelta(minutes=minutes)).isoformat(),
        "attrs": attrs or {"pm10": 40.0, "pm25": 20.0},
        "location": WEST_POINT,
    }


def snapshot(db: Session) -> tuple[Any, ...]:
    """Everything ingest may change except the dead letters."""
    db.expire_all()
    entities = sorted(
        (e.entity_id, repr(e.attributes), e.lat, e.lon) for e in db.scalars(select(Entity))
    )
    points = count_points(db)
    rollups = sorted(
        db.execute(select(AttributeRollup.attr, AttributeRollup.grain, AttributeRollup.count)).all()
    )
    return tuple(entities), points, tuple(rollups)


def dead_letters(db: Session) -> list[DeadLetter]:
    return list(db.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def test_readings_are_stored_with_their_area_and_district(
    db: Session, small_city: SmallCity
) -> None:
    result = ingest_readings(
        db,
        [reading("w", pm10=31.0), {**reading("e", pm10=12.0), "location": EAST_POINT}],
        city=small_city.city,
    )
    assert (result.accepted, result.duplicates, result.rejected) == (2, 0, 0)
    west = service.get_entity(db, "urn:ngsi-ld:AirQualityStation:w")
    east = service.get_entity(db, "urn:ngsi-ld:AirQualityStation:e")
    assert west.area_id == small_city.west_old_town.id
    assert west.district_id == small_city.west.id
    assert east.area_id == east.district_id == small_city.east.id
    assert west.attributes["pm10"] == {
        "type": "Property",
        "value": 31.0,
        "unitCode": "GQ",
        "observedAt": "2024-05-01T09:00:00Z",
    }
    assert west.location == {"type": "Point", "coordinates": [127.02, 37.5]}


def test_the_entity_rows_hold_the_state_not_only_the_session(
    db: Session, small_city: SmallCity
) -> None:
    ingest_readings(db, [reading("w", pm10=31.0)], city=small_city.city)
    ingest_readings(
        db,
        [{**reading("w", minutes=5, pm10=35.0), "location": EAST_POINT}],
        city=small_city.city,
    )
    cached = service.get_entity(db, "urn:ngsi-ld:AirQualityStation:w")
    assert not db.dirty
    in_session = (cached.attributes, cached.observed_at, cached.location, cached.district_id)
    db.expire_all()  # read the row again
    stored = service.get_entity(db, "urn:ngsi-ld:AirQualityStation:w")
    assert (stored.attributes, stored.observed_at, stored.location, stored.district_id) == (
        in_session
    )
    assert stored.attributes["pm10"]["value"] == 35.0
    assert stored.observed_at == T0 + dt.timedelta(minutes=5)
    assert stored.district_id == small_city.east.id
    assert stored.modified_at >= stored.created_at


def test_the_same_reading_twice_is_stored_once(db: Session, small_city: SmallCity) -> None:
    batch = [reading(minutes=0), reading(minutes=10)]
    first = ingest_readings(db, batch, city=small_city.city)
    before = snapshot(db)
    second = ingest_readings(db, [*batch, reading(minutes=10)], city=small_city.city)
    assert (first.accepted, first.duplicates) == (2, 0)
    assert (second.accepted, second.duplicates, second.rejected) == (0, 3, 0)
    assert second.received == 3
    assert snapshot(db) == before
    assert count_points(db) == 4  # 2 readings x 2 attributes


def test_a_later_reading_at_the_same_time_adds_only_the_missing_values(
    db: Session, small_city: SmallCity
) -> None:
    ingest_readings(db, [reading(pm10=40.0)], city=small_city.city)
    # Same time: pm10 is already stored (its first value stays), pm25 is new.
    second = ingest_readings(db, [reading(pm10=99.0, pm25=7.0)], city=small_city.city)
    # In one batch, two readings at one time: the second one's only value is a repeat.
    third = ingest_readings(
        db, [reading(minutes=1, pm10=1.0), reading(minutes=1, pm10=2.0)], city=small_city.city
    )
    assert (second.accepted, second.duplicates) == (1, 0)
    assert (third.accepted, third.duplicates) == (1, 1)
    entity_id = "urn:ngsi-ld:AirQualityStation:s1"
    raw = service.entity_history(db, entity_id, None)
    assert [(p.attr, p.at.minute, p.value) for p in raw] == [
        ("pm10", 0, 40.0),
        ("pm10", 1, 1.0),
        ("pm25", 0, 7.0),
    ]
    hours = service.entity_history(db, entity_id, None, grain="hour")
    assert [(p.attr, p.count, p.value) for p in hours] == [
        ("pm10", 2, pytest.approx(20.5)),
        ("pm25", 1, 7.0),
    ]


def test_rollups_hold_the_mean_count_min_and_max(db: Session, small_city: SmallCity) -> None:
    values = [10.0, 20.0, 60.0, 5.0]  # 09:00, 09:20, 09:40 in one hour; 10:00 in the next
    batch = [reading(minutes=20 * i, pm10=v) for i, v in enumerate(values)]
    ingest_readings(db, batch[:2], city=small_city.city)
    ingest_readings(db, batch[1:], city=small_city.city)  # overlaps: incremental and idempotent
    entity_id = "urn:ngsi-ld:AirQualityStation:s1"
    hours = service.entity_history(db, entity_id, "pm10", grain="hour")
    assert [(p.at.hour, p.count, p.value, p.min, p.max) for p in hours] == [
        (9, 3, pytest.approx(30.0), 10.0, 60.0),
        (10, 1, 5.0, 5.0, 5.0),
    ]
    (day,) = service.entity_history(db, entity_id, "pm10", grain="day")
    assert (day.count, day.value) == (4, pytest.approx(sum(values) / 4))
    raw = service.entity_history(db, entity_id, "pm10", last_n=2)
    assert [p.value for p in raw] == [60.0, 5.0]
    window = service.entity_history(
        db, entity_id, "pm10", T0 + dt.timedelta(minutes=20), T0 + dt.timedelta(minutes=60)
    )
    assert [p.value for p in window] == [20.0, 60.0]


def test_older_reading_adds_history_but_keeps_the_newer_current_value(
    db: Session, small_city: SmallCity
) -> None:
    ingest_readings(db, [reading(minutes=30, pm10=50.0)], city=small_city.city)
    result = ingest_readings(db, [reading(minutes=0, pm10=10.0)], city=small_city.city)
    assert result.accepted == 1
    entity = service.get_entity(db, "urn:ngsi-ld:AirQualityStation:s1")
    assert entity.attributes["pm10"]["value"] == 50.0
    assert [p.value for p in service.entity_history(db, entity.entity_id, "pm10")] == [10.0, 50.0]


BAD_READINGS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown type", {**reading(), "type": "Spaceship"}, "unknown entity type 'Spaceship'"),
    ("unknown attribute", reading(co2=400.0), "unknown attribute 'co2'"),
    ("wrong value type", reading(pm10="high"), "'pm10' needs a number"),
    ("bool for a number", reading(pm10=True), "'pm10' needs a number"),
    ("out of range", reading(pm10=-3.0), "below its allowed minimum"),
    ("time without zone", {**reading(), "observed_at": "2024-05-01T09:00:00"}, "timezone"),
    (
        "far future",
        {**reading(), "observed_at": "2999-01-01T00:00:00+00:00"},
        "in the future",
    ),
    ("outside the city", {**reading(), "location": OUTSIDE_POINT}, "outside Testville"),
    ("no id", {k: v for k, v in reading().items() if k != "id"}, "needs an entity_id or an id"),
    ("extra field", {**reading(), "colour": "red"}, "colour: Extra inputs"),
    ("bad entity id", {**reading(), "entity_id": "not a uri"}, "white space"),
]


@pytest.mark.parametrize(
    ("bad", "needle"), [(b, n) for _, b, n in BAD_READINGS], ids=[c for c, _, _ in BAD_READINGS]
)
def test_one_bad_reading_refuses_the_batch_and_is_dead_lettered(
    db: Session, small_city: SmallCity, bad: dict[str, Any], needle: str
) -> None:
    ingest_readings(db, [reading(minutes=0)], city=small_city.city)
    before = snapshot(db)
    batch = [reading(minutes=10), bad, reading("s2", minutes=10)]
    result = ingest_readings(db, batch, city=small_city.city)
    assert (result.accepted, result.duplicates, result.rejected) == (0, 0, 3)
    assert [e.index for e in result.errors] == [1]
    assert needle in result.errors[0].reason
    assert snapshot(db) == before
    (letter,) = dead_letters(db)
    assert letter.id == result.dead_letter_ids[0] == result.errors[0].dead_letter_id
    assert letter.channel == "http"
    assert needle in letter.reason
    assert '"AirQualityStation"' in letter.payload or "Spaceship" in letter.payload


def test_every_bad_reading_of_a_batch_is_listed(db: Session, small_city: SmallCity) -> None:
    batch = [b for _, b, _ in BAD_READINGS] + [reading()]
    result = ingest_readings(db, batch, city=small_city.city)
    assert [e.index for e in result.errors] == list(range(len(BAD_READINGS)))
    assert len(dead_letters(db)) == len(BAD_READINGS)
    assert result.received == len(batch)
    assert db.scalar(select(func.count(Entity.id))) == 0


def test_future_tolerance_allows_a_clock_slightly_ahead(db: Session, small_city: SmallCity) -> None:
    now = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)
    ahead = {**reading(), "observed_at": (now + dt.timedelta(seconds=60)).isoformat()}
    too_far = {**reading(), "observed_at": (now + dt.timedelta(hours=1)).isoformat()}
    assert ingest_readings(db, [ahead], city=small_city.city, now=now).accepted == 1
    assert ingest_readings(db, [too_far], city=small_city.city, now=now).rejected == 1


def test_an_entity_keeps_its_type(db: Session, small_city: SmallCity) -> None:
    ingest_readings(db, [reading("x")], city=small_city.city)
    other = {
        "entity_id": "urn:ngsi-ld:AirQualityStation:x",
        "type": "WeatherStation",
        "observed_at": T0.isoformat(),
        "attrs": {"temperature": 20.0},
    }
    result = ingest_readings(db, [other], city=small_city.city)
    assert "is a AirQualityStation, not a WeatherStation" in result.errors[0].reason


def test_text_and_relationship_attributes_are_current_state_only(
    db: Session, small_city: SmallCity
) -> None:
    camera = {
        "type": "CctvCamera",
        "id": "c1",
        "observed_at": T0.isoformat(),
        "attrs": {"status": "working", "refPoliceStation": "urn:ngsi-ld:PoliceStation:p1"},
        "location": EAST_POINT,
        "name": "Market gate",
    }
    assert ingest_readings(db, [camera], city=small_city.city).accepted == 1
    again = ingest_readings(db, [camera], city=small_city.city)
    assert (again.accepted, again.duplicates) == (0, 1)
    entity = service.get_entity(db, "urn:ngsi-ld:CctvCamera:c1")
    assert entity.attributes["refPoliceStation"]["object"] == "urn:ngsi-ld:PoliceStation:p1"
    assert entity.attributes["name"]["value"] == "Market gate"
    assert count_points(db) == 0


def test_reading_objects_are_accepted_too(db: Session, small_city: SmallCity) -> None:
    item = Reading(type="WeatherStation", id="w1", observed_at=T0, attrs={"temperature": 21.5})
    result = ingest_readings(db, [item], city=small_city.city)
    assert result.entity_ids == ["urn:ngsi-ld:WeatherStation:w1"]


def test_times_given_as_datetimes_need_a_zone_as_text_does(
    db: Session, small_city: SmallCity
) -> None:
    """In-process callers (the MQTT connector) hand over datetimes: an aware one is stored as its
    ISO text would be; a naive one is refused with the model's message."""
    aware = {
        **reading("dt", pm10=5.0),
        "observed_at": T0.astimezone(dt.timezone(dt.timedelta(hours=9))),
    }
    result = ingest_readings(db, [aware], city=small_city.city)
    assert (result.accepted, result.rejected) == (1, 0)
    same = ingest_readings(db, [reading("dt", pm10=5.0)], city=small_city.city)
    assert (same.accepted, same.duplicates) == (0, 1)
    naive = {**reading("dt", minutes=1), "observed_at": T0.replace(tzinfo=None)}
    refused = ingest_readings(db, [naive], city=small_city.city)
    assert refused.rejected == 1
    assert "timezone" in refused.errors[0].reason


def test_changed_entities_are_published_after_commit(db: Session, small_city: SmallCity) -> None:
    with get_bus().subscribe_sync() as subscription:
        ingest_readings(db, [reading(pm10=33.0)], city=small_city.city)
        assert subscription.get(timeout=0.05) is None  # nothing before the commit
        db.commit()  # the fixture's commit: a savepoint of the test's outer transaction
        event = subscription.get(timeout=2)
        ingest_readings(db, [reading(pm10=33.0)], city=small_city.city)  # a duplicate
        db.commit()
        silent = subscription.get(timeout=0.05)
    assert isinstance(event, LiveEvent)
    assert event.kind == "entity.updated"
    assert event.data["entity_id"] == "urn:ngsi-ld:AirQualityStation:s1"
    assert event.data["attrs"] == {"pm10": 33.0}
    assert event.district_id == small_city.west.id
    assert silent is None


def test_record_dead_letter_keeps_raw_bytes(db: Session) -> None:
    letter = record_dead_letter(
        db, channel="mqtt", reason="not JSON", payload=b"\xff{oops", entity_id=None
    )
    assert letter.id is not None
    assert letter.payload.endswith("{oops")
    rows, total = service.list_dead_letters(db, channel="mqtt")
    assert total == 1 and rows[0].reason == "not JSON"
