"""TextPost: one item of a text feed a source supplies (news, social posts, a call-centre log)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citymeter.db.base import Base, utcnow

MAX_TEXT = 10_000


class TextPost(Base):
    __tablename__ = "text_post"
    __table_args__ = (
        UniqueConstraint("city_id", "source", "external_id"),
        Index("ix_text_post_city_published", "city_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(120))
    # The feed's own id of the item; a repeated push of the same id is ignored.
    external_id: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    published_at: Mapped[dt.datetime]
    text: Mapped[str] = mapped_column(Text)
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), index=True
    )
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
