"""Suggestion, SuggestionVote and SuggestionResponse: a resident's proposal, its support and the
city's answer. The author's name and contact are personal and never leave the service layer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citymeter.db.base import Base, utcnow

STATUSES = ("open", "under_review", "answered", "adopted", "declined")
# What an official response decides; each is also the status the suggestion takes.
OUTCOMES = ("answered", "adopted", "declined")
CATEGORIES = (
    "transport",
    "environment",
    "safety",
    "welfare",
    "culture",
    "economy",
    "housing",
    "administration",
    "other",
)
MAX_TITLE = 200
MAX_BODY = 4000


class Suggestion(Base):
    __tablename__ = "suggestion"
    __table_args__ = (Index("ix_suggestion_city_created", "city_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32), default="other")
    status: Mapped[str] = mapped_column(String(16), default="open")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id", ondelete="SET NULL"))
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="SET NULL"), index=True
    )
    # Personal: who filed it. Kept for follow-up, never in any public output.
    author_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    author_name: Mapped[str | None] = mapped_column(String(120))
    author_contact: Mapped[str | None] = mapped_column(String(200))
    # How it arrived: "api", "import", "demo".
    channel: Mapped[str] = mapped_column(String(16), default="api")
    external_id: Mapped[str | None] = mapped_column(String(120))
    import_batch: Mapped[str | None] = mapped_column(String(64), index=True)
    vote_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SuggestionVote(Base):
    """One voter's support. `voter` is "user:<id>" for an account or "client:<hash>" for a
    browser or app's client token (only a hash of the token is kept)."""

    __tablename__ = "suggestion_vote"
    __table_args__ = (UniqueConstraint("suggestion_id", "voter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(
        ForeignKey("suggestion.id", ondelete="CASCADE"), index=True
    )
    voter: Mapped[str] = mapped_column(String(80))
    voted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SuggestionResponse(Base):
    """The city's official answer; one per suggestion (a new answer replaces the old one)."""

    __tablename__ = "suggestion_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(
        ForeignKey("suggestion.id", ondelete="CASCADE"), unique=True
    )
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    responder: Mapped[str] = mapped_column(String(200))
    responder_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    responded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
