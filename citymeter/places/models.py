"""City and Area: the map every other record points at."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citymeter.db.base import Base, utcnow

# Levels in the order a tree usually nests; deeper custom levels are allowed.
AREA_LEVELS = ("city", "district", "neighbourhood")


class CityKey(Protocol):
    """What code that only files into or locates within a city needs of it: a City, or a
    `CityRow` read without the ORM on a hot path."""

    @property
    def id(self) -> int: ...

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class CityRow:
    id: int
    code: str
    name: str


class City(Base):
    __tablename__ = "city"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    names: Mapped[dict[str, str]] = mapped_column(default=dict)
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Seoul")
    default_language: Mapped[str] = mapped_column(String(16), default="ko")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    areas: Mapped[list[Area]] = relationship(back_populates="city", cascade="all, delete-orphan")


class Area(Base):
    """One node of a city's area tree, valid between two dates (boundaries change)."""

    __tablename__ = "area"
    __table_args__ = (
        UniqueConstraint("city_id", "code", "valid_from"),
        Index("ix_area_city_level", "city_id", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), index=True
    )
    code: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    names: Mapped[dict[str, str]] = mapped_column(default=dict)
    # GeoJSON geometry in WGS84 (lon, lat), as text so that SQLite and PostgreSQL store it alike.
    boundary: Mapped[str | None] = mapped_column(Text)
    centroid_lon: Mapped[float | None]
    centroid_lat: Mapped[float | None]
    area_km2: Mapped[float | None]
    population: Mapped[int | None]
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Bumped when a re-import changes the area; point-in-area caches key on it.
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    city: Mapped[City] = relationship(back_populates="areas")
    parent: Mapped[Area | None] = relationship(remote_side=[id])
