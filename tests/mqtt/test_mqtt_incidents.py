"""An incident system publishing over MQTT: new incidents and unit stages become incident records
(not entities), refused messages are dead-lettered with the reason, repeats are duplicates."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from citymeter.connectors.mqtt import MqttConnector, _Inbound, parse_config, store_messages
from citymeter.db.engine import make_sessionmaker
from citymeter.entities.models import DeadLetter
from citymeter.errors import InvalidInput
from citymeter.incidents.models import Incident, IncidentUnitStage
from tests.mqtt.mqtt_helpers import (
    BROKER_URL,
    Publisher,
    context,
    unique_prefix,
    wait_for,
)

T0 = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)


def _config(prefix: str) -> dict[str, object]:
    return {
        "url": BROKER_URL,
        "client_id": f"{prefix}-sub",
        "topics": [{"pattern": f"{prefix}/incidents/{{number}}", "records": "incidents"}],
    }


def _incident(number: str, **extra: object) -> str:
    return json.dumps(
        {
            "number": number,
            "type": "fire-building",
            "category": "fire",
            "severity": 3,
            "reported_at": T0.isoformat(),
            **extra,
        }
    )


def _stage(unit: str, stage: str, minutes: int) -> str:
    at = T0 + dt.timedelta(minutes=minutes)
    return json.dumps({"unit": unit, "stage": stage, "at": at.isoformat()})


def _inbound(topic: str, payload: str | bytes, mid: int) -> _Inbound:
    raw = payload.encode() if isinstance(payload, str) else payload
    return _Inbound(0, mid, 1, topic, raw, T0)


def test_incident_messages_are_stored_deduplicated_or_dead_lettered(db: Session) -> None:
    routes = parse_config(_config("cad"), "cad").routes
    topic = "cad/incidents/F-1"
    batch = [
        _inbound(topic, _incident("F-1", address="3 Hidden Lane"), 1),
        _inbound(topic, _incident("F-1", address="3 Hidden Lane"), 2),  # QoS 1 redelivery
        _inbound(topic, _stage("E1", "dispatched", 2), 3),  # the number comes from the topic
        _inbound(topic, _stage("E1", "on_scene", 9), 4),
        _inbound(topic, _stage("E1", "dispatched", 12), 5),  # out of order
        _inbound("cad/incidents/F-2", _incident("F-2", category="weather"), 6),
        _inbound("cad/incidents/F-3", b"{not json", 7),
        _inbound("cad/incidents/F-9", _stage("E2", "dispatched", 1), 8),  # no such incident
    ]
    stored, duplicates, dead = store_messages(db, batch, routes)
    assert (stored, duplicates, dead) == (3, 1, 4)
    assert stored + duplicates + dead == len(batch)
    incident = db.scalar(select(Incident).where(Incident.number == "F-1"))
    assert incident is not None and incident.status == "on_scene"
    stages = db.scalars(
        select(IncidentUnitStage.stage).where(IncidentUnitStage.incident_id == incident.id)
    ).all()
    assert sorted(stages) == ["dispatched", "on_scene"]
    assert db.scalar(select(func.count()).select_from(Incident)) == 1
    reasons = db.scalars(select(DeadLetter.reason).order_by(DeadLetter.id)).all()
    assert len(reasons) == 4
    assert "dispatched" in reasons[0]  # the out-of-order stage names itself
    assert "weather" in reasons[1]
    assert "not JSON" in reasons[2]
    assert "F-9" in reasons[3]
    # Nothing of a refused message was kept half-way: F-2 does not exist.
    assert db.scalar(select(Incident.id).where(Incident.number == "F-2")) is None


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ({"pattern": "a/{n}", "records": "incidents", "type": "Incident"}, "no type"),
        ({"pattern": "a/{n}", "records": "alarms"}, "records is one of"),
    ],
)
def test_bad_incident_topics_are_refused(topic: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_config({"url": BROKER_URL, "topics": [topic]})


@pytest.mark.mqtt
def test_an_incident_and_its_stages_arrive_through_mosquitto(store: Engine) -> None:
    prefix = unique_prefix()
    connector = MqttConnector()
    connector.start(context(store, _config(prefix), code="cad"))
    publisher = Publisher()
    try:
        wait_for(connector.connected.is_set, 10, "the connector to connect")
        time.sleep(0.3)  # the SUBACK
        topic = f"{prefix}/incidents/M-7"
        publisher.publish(topic, _incident("M-7"))
        publisher.publish(topic, _stage("A3", "dispatched", 1))
        publisher.publish(topic, _stage("A3", "on_scene", 8))
        publisher.publish(topic, _stage("A3", "en_route", 10))  # after on_scene: refused
        sessions = make_sessionmaker(store)

        def arrived() -> bool:
            with sessions() as session:
                stages = session.scalar(select(func.count()).select_from(IncidentUnitStage))
                letters = session.scalar(select(func.count()).select_from(DeadLetter))
            return (stages, letters) == (2, 1)

        wait_for(arrived, 20, "two stages stored and one dead letter")
        wait_for(
            lambda: connector.stats.stored + connector.stats.dead_lettered == publisher.sent,
            5,
            "the connector's counters to match what was published",
        )
        with sessions() as session:
            incident = session.scalar(select(Incident).where(Incident.number == "M-7"))
            assert incident is not None and incident.status == "on_scene"
    finally:
        publisher.close()
        connector.stop()
