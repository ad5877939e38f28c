"""Incident records that arrive one message at a time (an MQTT topic of an incident system): a new
incident, or a unit reaching a stage. The same checks as the API; a message delivered twice (QoS 1
after a reconnect) is a duplicate, not an error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.errors import InvalidInput
from citymeter.incidents import service
from citymeter.incidents.models import Incident, IncidentUnitStage

STORED = "stored"
DUPLICATE = "duplicate"


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"
        for error in exc.errors()
    )


def is_stage(body: Mapping[str, Any]) -> bool:
    """A stage update names a unit and a stage and no call time; anything else is an incident."""
    return "stage" in body and "unit" in body and "reported_at" not in body


def apply_message(
    session: Session,
    writer: Viewer,
    body: Mapping[str, Any],
    *,
    number: str | None = None,
    source_id: int | None = None,
) -> str:
    """Store what one message says; STORED or DUPLICATE. InvalidInput (nothing stored) says why
    a message is refused. `number` is the incident number the topic names, if the body has none."""
    data = dict(body)
    if number is not None:
        data.setdefault("number", number)
    if not isinstance(data.get("number"), str) or not data["number"]:
        raise InvalidInput("the message names no incident number (a 'number' field or topic level)")
    if is_stage(data):
        return _stage(session, writer, data)
    try:
        item = service.IncidentIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"incident {data['number']}: {_problems(exc)}") from None
    if session.scalar(select(Incident.id).where(Incident.number == item.number)) is not None:
        return DUPLICATE
    service.create_incidents(session, writer, [item], source_id=source_id)
    return STORED


def _stage(session: Session, writer: Viewer, data: dict[str, Any]) -> str:
    number = data.pop("number")
    try:
        stage = service.StageIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"incident {number}: {_problems(exc)}") from None
    incident = service.get_incident(session, number)
    seen = session.scalar(
        select(IncidentUnitStage.id).where(
            IncidentUnitStage.incident_id == incident.id,
            IncidentUnitStage.unit == stage.unit,
            IncidentUnitStage.stage == stage.stage,
            IncidentUnitStage.at == stage.at,
        )
    )
    if seen is not None:
        return DUPLICATE
    service.advance(session, writer, number, stage.unit, stage.stage, stage.at)
    return STORED
