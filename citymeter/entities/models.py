"""Entity, AttributePoint (packed per reading), AttributeRollup and DeadLetter: the live entity
store."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citymeter.db.base import Base, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")

VISIBILITIES = ("public", "internal")
GRAINS = ("hour", "day")


class Entity(Base):
    """One typed live thing, shaped so that its NGSI-LD form is a thin mapping.

    `attributes` holds the current state in NGSI-LD normalized form, one entry per attribute:
    {"type": "Property"|"Relationship"|"GeoProperty", "value"|"object": ..., "unitCode"?: str,
    "observedAt"?: ISO-8601 UTC string}.
    """

    __tablename__ = "entity"
    __table_args__ = (Index("ix_entity_city_type", "city_id", "type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(256), unique=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    # The deepest area holding the location, and its district (for district-level views and rights).
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), index=True
    )
    lon: Mapped[float | None]
    lat: Mapped[float | None]
    # The GeoJSON geometry as given (a Point, or a LineString for a road segment, ...).
    location: Mapped[dict[str, Any] | None]
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    observed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    visibility: Mapped[str] = mapped_column(String(16), default="public")


class AttributePoint(Base):
    """The numeric values an entity's reading carried at one time, packed in one row as a JSON
    object {attribute: value}: a batch stores one small row per reading instead of one indexed
    row per value. A point stays idempotent per (entity, attribute, time): a value once stored is
    kept, and a later reading at the same time only adds the attributes the row lacks."""

    __tablename__ = "entity_reading"
    # SQLite: the rows live in the primary key's B-tree itself (no rowid, no second index).
    __table_args__ = ({"sqlite_with_rowid": False},)

    entity_pk: Mapped[int] = mapped_column(
        ForeignKey("entity.id", ondelete="CASCADE"), primary_key=True
    )
    # Microseconds since 1970-01-01 UTC: an integer key is cheaper to compare and to send.
    observed_us: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    attrs: Mapped[str] = mapped_column(Text)


class AttributeRollup(Base):
    """Count, sum, min and max of an attribute's points per hour or day (UTC), kept up to date on
    ingest so that charts over months read a few hundred rows."""

    __tablename__ = "entity_attribute_rollup"
    __table_args__ = (UniqueConstraint("entity_pk", "attr", "grain", "bucket_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity_pk: Mapped[int] = mapped_column(ForeignKey("entity.id", ondelete="CASCADE"))
    attr: Mapped[str] = mapped_column(String(100))
    grain: Mapped[str] = mapped_column(String(8))
    bucket_start: Mapped[dt.datetime]
    count: Mapped[int]
    sum: Mapped[float]
    min: Mapped[float]
    max: Mapped[float]


class DeadLetter(Base):
    """Something a channel received and refused: the reason and the raw payload, for replay."""

    __tablename__ = "dead_letter"
    __table_args__ = (Index("ix_dead_letter_received", "received_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("source.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str | None] = mapped_column(String(256))
