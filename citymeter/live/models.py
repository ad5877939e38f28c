"""Live events too large for a PostgreSQL NOTIFY travel by reference through this table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citymeter.db.base import Base, utcnow


class LiveEventPayload(Base):
    """The JSON of one large live event, read by the other processes and deleted after an hour."""

    __tablename__ = "live_event_payloads"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
