"""Rising topics and term series over complaint texts, suggestions and text feeds.

Counts are document counts: a complaint that says "주차" five times counts once for "주차", so a
single long post cannot make a topic rise. Weeks are rolling seven-day windows in the city's time
zone ending on the chosen day, so "this week" is always a full week and compares fairly with the
weeks before it. Terms are computed when asked (see docs/trends.md for the cost).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import INGEST_WRITE, Viewer
from citymeter.complaints.models import ServiceRequest
from citymeter.errors import InvalidInput, PermissionDenied
from citymeter.places import service as places
from citymeter.places.models import Area, City
from citymeter.suggestions.models import Suggestion
from citymeter.trends.models import MAX_TEXT, TextPost
from citymeter.trends.tokens import language_of, normalise_term, terms

KINDS = ("complaints", "suggestions", "posts")
GRAINS = ("day", "week")
MAX_WEEKS = 26
MAX_SERIES_DAYS = 400


class TextPostIn(BaseModel):
    """One feed item as a source pushes it."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=120)
    external_id: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=8)
    published_at: AwareDatetime
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    district: str | None = Field(default=None, max_length=40, description="District area code")


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int


def ingest_posts(
    session: Session, viewer: Viewer, city: City, items: list[TextPostIn]
) -> IngestResult:
    """Store feed items; all are checked first (unknown districts refuse the whole batch).
    An item whose (source, external_id) is stored already is skipped as a duplicate."""
    if not viewer.can(INGEST_WRITE):
        raise PermissionDenied(f"The role {viewer.role!r} may not push text feeds.")
    problems: list[str] = []
    districts: dict[str, int] = {}
    for i, item in enumerate(items, start=1):
        if item.district and item.district not in districts:
            area = places.find_area(session, city, item.district)
            if area is None or area.level != "district":
                problems.append(f"item {i}: {city.name} has no district {item.district!r}")
            else:
                districts[item.district] = area.id
    if problems:
        raise InvalidInput(
            "No item was stored: " + "; ".join(problems[:20]), details={"errors": problems}
        )
    seen: set[tuple[str, str]] = set()
    stored = duplicates = 0
    for item in items:
        if item.external_id is not None:
            key = (item.source, item.external_id)
            exists = key in seen or session.scalar(
                select(TextPost.id).where(
                    TextPost.city_id == city.id,
                    TextPost.source == item.source,
                    TextPost.external_id == item.external_id,
                )
            )
            seen.add(key)
            if exists:
                duplicates += 1
                continue
        session.add(
            TextPost(
                city_id=city.id,
                source=item.source,
                external_id=item.external_id,
                language=item.language or language_of(item.text),
                published_at=item.published_at,
                text=item.text,
                district_id=districts.get(item.district) if item.district else None,
            )
        )
        stored += 1
    session.flush()
    audit.record(
        session,
        viewer,
        "trends.ingest",
        "text_post",
        None,
        {"stored": stored, "duplicates": duplicates},
    )
    return IngestResult(stored, duplicates)


def district_area(session: Session, city: City, code: str | None) -> Area | None:
    if not code:
        return None
    area = places.get_area(session, city, code)
    if area.level != "district":
        raise InvalidInput(f"{code!r} is a {area.level}, not a district.")
    return area


def _check_kinds(kinds: tuple[str, ...]) -> None:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InvalidInput(f"Text kinds are among {', '.join(KINDS)}; not {', '.join(unknown)}.")


def documents(
    session: Session,
    city: City,
    start: dt.datetime,
    end: dt.datetime,
    *,
    district_id: int | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> Iterator[tuple[dt.datetime, str]]:
    """(time, text) of every text of the city in [start, end), from the chosen kinds."""
    if "complaints" in kinds:
        query = select(ServiceRequest.requested_at, ServiceRequest.description).where(
            ServiceRequest.city_id == city.id,
            ServiceRequest.requested_at >= start,
            ServiceRequest.requested_at < end,
            ServiceRequest.description.is_not(None),
        )
        if district_id is not None:
            query = query.where(ServiceRequest.district_id == district_id)
        for at, text in session.execute(query):
            yield at, text or ""
    if "suggestions" in kinds:
        squery = select(Suggestion.created_at, Suggestion.title, Suggestion.body).where(
            Suggestion.city_id == city.id,
            Suggestion.created_at >= start,
            Suggestion.created_at < end,
        )
        if district_id is not None:
            squery = squery.where(Suggestion.district_id == district_id)
        for at, title, body in session.execute(squery):
            yield at, f"{title}\n{body}"
    if "posts" in kinds:
        pquery = select(TextPost.published_at, TextPost.text).where(
            TextPost.city_id == city.id,
            TextPost.published_at >= start,
            TextPost.published_at < end,
        )
        if district_id is not None:
            pquery = pquery.where(TextPost.district_id == district_id)
        for at, text in session.execute(pquery):
            yield at, text


def _local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def today_in(city: City) -> dt.date:
    return dt.datetime.now(ZoneInfo(city.timezone)).date()


@dataclass(frozen=True)
class RisingTerm:
    term: str
    count: int
    baseline: float

    @property
    def score(self) -> float:
        return (self.count - self.baseline) / math.sqrt(self.baseline + 1)

    @property
    def ratio(self) -> float:
        """Smoothed growth factor, for display."""
        return (self.count + 1) / (self.baseline + 1)

    @property
    def is_phrase(self) -> bool:
        return " " in self.term


@dataclass(frozen=True)
class RisingReport:
    district: str | None
    week_start: dt.date
    week_end: dt.date
    weeks: int
    documents: int
    terms: list[RisingTerm]

    def as_dict(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "week": {"start": self.week_start.isoformat(), "end": self.week_end.isoformat()},
            "baseline_weeks": self.weeks,
            "documents_this_week": self.documents,
            "terms": [
                {
                    "term": t.term,
                    "phrase": t.is_phrase,
                    "count": t.count,
                    "baseline": round(t.baseline, 2),
                    "ratio": round(t.ratio, 2),
                    "score": round(t.score, 2),
                }
                for t in self.terms
            ],
        }


def rising(
    session: Session,
    city: City,
    *,
    district_code: str | None = None,
    as_of: dt.date | None = None,
    weeks: int = 4,
    min_count: int = 3,
    limit: int = 20,
    kinds: tuple[str, ...] = KINDS,
) -> RisingReport:
    """The terms whose count in the seven days ending `as_of` rose most against the average of
    the `weeks` weeks before. Ranked by score = (count - baseline) / sqrt(baseline + 1): the
    rise in (Poisson) standard deviations, so that 1 → 12 outranks 0 → 6 and a common word's
    small wobble does not count. A term needs at least `min_count` texts this week and more than
    its baseline."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput(f"Compare with 1-{MAX_WEEKS} earlier weeks, not {weeks}.")
    if min_count < 1 or not 1 <= limit <= 200:
        raise InvalidInput("The minimum count is at least 1 and the limit 1-200.")
    _check_kinds(kinds)
    district = district_area(session, city, district_code)
    zone = ZoneInfo(city.timezone)
    end_day = as_of or today_in(city)
    first_day = end_day - dt.timedelta(days=7 * (weeks + 1) - 1)
    start = _local_midnight(first_day, zone)
    end = _local_midnight(end_day + dt.timedelta(days=1), zone)
    current: Counter[str] = Counter()
    earlier: Counter[str] = Counter()
    docs_now = 0
    for at, text in documents(
        session, city, start, end, district_id=district.id if district else None, kinds=kinds
    ):
        days_back = (end_day - at.astimezone(zone).date()).days
        found = terms(text)
        if days_back < 7:
            current.update(found)
            docs_now += 1
        else:
            earlier.update(found)
    ranked: list[RisingTerm] = []
    for term, count in current.items():
        baseline = earlier.get(term, 0) / weeks
        if count >= min_count and count > baseline:
            ranked.append(RisingTerm(term, count, baseline))
    ranked.sort(key=lambda t: (-t.score, -t.count, t.term))
    return RisingReport(
        district=district.code if district else None,
        week_start=end_day - dt.timedelta(days=6),
        week_end=end_day,
        weeks=weeks,
        documents=docs_now,
        terms=ranked[:limit],
    )


@dataclass(frozen=True)
class TermSeries:
    term: str
    grain: str
    district: str | None
    points: list[tuple[dt.date, int]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "grain": self.grain,
            "district": self.district,
            "series": [{"period": p.isoformat(), "count": c} for p, c in self.points],
        }


def series(
    session: Session,
    city: City,
    term: str,
    *,
    grain: str = "week",
    start: dt.date | None = None,
    end: dt.date | None = None,
    district_code: str | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> TermSeries:
    """How many texts contained `term` per day or per week (weeks start on Monday), zeros
    included, between `start` and `end` (default: the last twelve weeks)."""
    if grain not in GRAINS:
        raise InvalidInput(f"The grain is one of {', '.join(GRAINS)}, not {grain!r}.")
    _check_kinds(kinds)
    wanted = normalise_term(term)
    if wanted is None:
        raise InvalidInput(
            f"{term!r} has no countable word (or more than two); give a word or a two-word phrase."
        )
    zone = ZoneInfo(city.timezone)
    end = end or today_in(city)
    start = start or end - dt.timedelta(weeks=12)
    if start > end or (end - start).days > MAX_SERIES_DAYS:
        raise InvalidInput(f"Give a start before the end, at most {MAX_SERIES_DAYS} days apart.")
    district = district_area(session, city, district_code)

    def period(day: dt.date) -> dt.date:
        return day if grain == "day" else day - dt.timedelta(days=day.weekday())

    counts: Counter[dt.date] = Counter()
    for at, text in documents(
        session,
        city,
        _local_midnight(start, zone),
        _local_midnight(end + dt.timedelta(days=1), zone),
        district_id=district.id if district else None,
        kinds=kinds,
    ):
        if wanted in terms(text):
            counts[period(at.astimezone(zone).date())] += 1
    step = dt.timedelta(days=1 if grain == "day" else 7)
    points: list[tuple[dt.date, int]] = []
    current = period(start)
    while current <= end:
        points.append((current, counts.get(current, 0)))
        current += step
    return TermSeries(wanted, grain, district.code if district else None, points)
