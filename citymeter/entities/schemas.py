"""What the entity API answers with."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from citymeter.entities.history import HistoryPoint
from citymeter.entities.models import DeadLetter, Entity


class EntityPublic(BaseModel):
    entity_id: str
    type: str
    name: str | None
    city_id: int | None
    area_id: int | None
    district_id: int | None
    lat: float | None
    lon: float | None
    location: dict[str, Any] | None
    attributes: dict[str, Any]
    observed_at: dt.datetime | None
    modified_at: dt.datetime
    visibility: str

    @classmethod
    def of(cls, entity: Entity) -> EntityPublic:
        name = entity.attributes.get("name", {}).get("value")
        return cls(
            entity_id=entity.entity_id,
            type=entity.type,
            name=name if isinstance(name, str) else None,
            city_id=entity.city_id,
            area_id=entity.area_id,
            district_id=entity.district_id,
            lat=entity.lat,
            lon=entity.lon,
            location=entity.location,
            attributes=entity.attributes,
            observed_at=entity.observed_at,
            modified_at=entity.modified_at,
            visibility=entity.visibility,
        )


class EntityPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[EntityPublic]


class HistoryPointPublic(BaseModel):
    attr: str
    at: dt.datetime
    value: float
    count: int
    min: float | None
    max: float | None

    @classmethod
    def of(cls, point: HistoryPoint) -> HistoryPointPublic:
        return cls(
            attr=point.attr,
            at=point.at,
            value=point.value,
            count=point.count,
            min=point.min,
            max=point.max,
        )


class EntityHistory(BaseModel):
    entity_id: str
    grain: str
    points: list[HistoryPointPublic]


class DeadLetterPublic(BaseModel):
    id: int
    received_at: dt.datetime
    source_id: int | None
    channel: str
    reason: str
    entity_id: str | None
    payload: str

    @classmethod
    def of(cls, letter: DeadLetter) -> DeadLetterPublic:
        return cls(
            id=letter.id,
            received_at=letter.received_at,
            source_id=letter.source_id,
            channel=letter.channel,
            reason=letter.reason,
            entity_id=letter.entity_id,
            payload=letter.payload,
        )


class DeadLetterPage(BaseModel):
    total: int
    items: list[DeadLetterPublic]
