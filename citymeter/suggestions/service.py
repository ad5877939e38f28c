"""File, list, vote on and answer citizen suggestions.

A suggestion is placed from a point (lat/lon, located with the city's boundaries) or from an area
code. The author's name, contact and account, and the exact point, are personal: `public_view`
leaves them out; `internal_view` adds them only for staff who see the district's internal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import SUGGESTIONS_RESPOND, SUGGESTIONS_WRITE, Viewer
from citymeter.complaints.service import locate
from citymeter.db.base import utcnow
from citymeter.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from citymeter.live.events import LiveEvent, publish_after_commit
from citymeter.places import service as places
from citymeter.places.models import Area, City
from citymeter.suggestions.models import (
    CATEGORIES,
    MAX_BODY,
    MAX_TITLE,
    OUTCOMES,
    STATUSES,
    Suggestion,
    SuggestionResponse,
    SuggestionVote,
)

DISTRICT_LEVEL = "district"
MAX_PAGE = 500
MIN_CLIENT_TOKEN = 16
# A decided suggestion no longer collects support.
_VOTING_CLOSED = frozenset({"adopted", "declined"})
SORTS = ("new", "votes")


@dataclass(frozen=True)
class NewSuggestion:
    title: str
    body: str
    category: str = "other"
    lat: float | None = None
    lon: float | None = None
    area_code: str | None = None
    author_name: str | None = None
    author_contact: str | None = None
    external_id: str | None = None
    # Imports and the demo give the original filing time; the API always files "now".
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class Placement:
    area_id: int | None
    district_id: int | None


def city_for(session: Session, code: str | None = None, viewer: Viewer | None = None) -> City:
    """The city with this code; without one, the viewer's own city, else the first city (as the
    overview does: a store with the demo and the certification cities still has a default)."""
    if code is not None:
        return places.get_city(session, code)
    if viewer is not None and viewer.city_id is not None:
        own = session.get(City, viewer.city_id)
        if own is not None:
            return own
    first = session.scalar(select(City).order_by(City.id).limit(1))
    if first is None:
        raise NotFound("There is no city yet; add one with `citymeter cities add`.")
    return first


def district_of(session: Session, area: Area) -> Area | None:
    """The district an area lies in (itself if it is one), None above district level."""
    if area.level == DISTRICT_LEVEL:
        return area
    for parent in places.ancestors(session, area):
        if parent.level == DISTRICT_LEVEL:
            return parent
    return None


def check(session: Session, city: City, new: NewSuggestion) -> Placement:
    """Validate a new suggestion and place it; raises InvalidInput with every problem found."""
    problems: list[str] = []
    if not new.title.strip():
        problems.append("A suggestion needs a title.")
    elif len(new.title) > MAX_TITLE:
        problems.append(f"The title has {len(new.title)} characters; at most {MAX_TITLE}.")
    if not new.body.strip():
        problems.append("A suggestion needs a body saying what to change.")
    elif len(new.body) > MAX_BODY:
        problems.append(f"The body has {len(new.body)} characters; at most {MAX_BODY}.")
    if new.category not in CATEGORIES:
        problems.append(f"The category is one of {', '.join(CATEGORIES)}, not {new.category!r}.")
    placement = Placement(None, None)
    has_point = new.lat is not None or new.lon is not None
    if has_point and new.area_code:
        problems.append("Give either a point (lat and lon) or an area code, not both.")
    elif has_point:
        if new.lat is None or new.lon is None:
            problems.append("A point needs both lat and lon.")
        elif not (-90 <= new.lat <= 90 and -180 <= new.lon <= 180):
            problems.append(f"({new.lat}, {new.lon}) is not a latitude and longitude.")
        else:
            area_id, district_id, inside = locate(session, city, new.lat, new.lon)
            if not inside:
                problems.append(f"The point ({new.lat}, {new.lon}) is outside {city.name}.")
            placement = Placement(area_id, district_id)
    elif new.area_code:
        area = places.find_area(session, city, new.area_code)
        if area is None:
            problems.append(f"{city.name} has no area with the code {new.area_code!r}.")
        else:
            district = district_of(session, area)
            placement = Placement(area.id, district.id if district else None)
    if problems:
        raise InvalidInput(" ".join(problems), details={"errors": problems})
    return placement


def submit(
    session: Session,
    viewer: Viewer,
    city: City,
    new: NewSuggestion,
    *,
    channel: str = "api",
    batch: str | None = None,
) -> Suggestion:
    """Store a suggestion filed by `viewer` (a resident's account or a city system's key)."""
    if viewer.user_id is None and channel == "api":
        raise PermissionDenied("Log in or use an API key to file a suggestion.")
    if not viewer.can(SUGGESTIONS_WRITE):
        raise PermissionDenied(f"The role {viewer.role!r} may not file suggestions.")
    placement = check(session, city, new)
    now = new.created_at or utcnow()
    suggestion = Suggestion(
        city_id=city.id,
        title=new.title.strip(),
        body=new.body.strip(),
        category=new.category,
        status="open",
        lat=new.lat,
        lon=new.lon,
        area_id=placement.area_id,
        district_id=placement.district_id,
        author_user_id=viewer.user_id if channel == "api" else None,
        author_name=new.author_name,
        author_contact=new.author_contact,
        channel=channel,
        external_id=new.external_id,
        import_batch=batch,
        vote_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(suggestion)
    session.flush()
    publish_after_commit(
        session,
        LiveEvent(
            kind="suggestion.created",
            # What the public list shows: never the author or the exact point.
            data={"id": suggestion.id, "title": suggestion.title, "category": suggestion.category},
            city_id=city.id,
            district_id=suggestion.district_id,
        ),
    )
    return suggestion


def get(session: Session, city: City, suggestion_id: int) -> Suggestion:
    found = session.get(Suggestion, suggestion_id)
    if found is None or found.city_id != city.id:
        raise NotFound(f"There is no suggestion {suggestion_id} in {city.name}.")
    return found


def list_suggestions(
    session: Session,
    city: City,
    *,
    status: str | None = None,
    category: str | None = None,
    district_code: str | None = None,
    sort: str = "new",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Suggestion], int]:
    """A page of the city's suggestions and the total matching."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"The status is one of {', '.join(STATUSES)}, not {status!r}.")
    if sort not in SORTS:
        raise InvalidInput(f"Sort by one of {', '.join(SORTS)}, not {sort!r}.")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"The limit is 1-{MAX_PAGE} and the offset not negative.")
    where = [Suggestion.city_id == city.id]
    if status:
        where.append(Suggestion.status == status)
    if category:
        where.append(Suggestion.category == category)
    if district_code:
        district = places.get_area(session, city, district_code)
        where.append(Suggestion.district_id == district.id)
    total = session.scalar(select(func.count(Suggestion.id)).where(*where)) or 0
    order = (
        (Suggestion.vote_count.desc(), Suggestion.id.desc())
        if sort == "votes"
        else (Suggestion.created_at.desc(), Suggestion.id.desc())
    )
    page = session.scalars(
        select(Suggestion).where(*where).order_by(*order).limit(limit).offset(offset)
    )
    return list(page), total


def response_of(session: Session, suggestion: Suggestion) -> SuggestionResponse | None:
    return session.scalar(
        select(SuggestionResponse).where(SuggestionResponse.suggestion_id == suggestion.id)
    )


def voter_key(viewer: Viewer, client_token: str | None) -> str:
    """One identity per voter: the account when logged in, else a hash of the client token."""
    if viewer.user_id is not None:
        return f"user:{viewer.user_id}"
    if client_token is None or len(client_token.strip()) < MIN_CLIENT_TOKEN:
        raise InvalidInput(
            "To vote without an account, send a client token of at least "
            f"{MIN_CLIENT_TOKEN} characters (header X-Client-Token), kept by your app or browser."
        )
    digest = hashlib.sha256(client_token.strip().encode()).hexdigest()[:40]
    return f"client:{digest}"


def vote(
    session: Session, viewer: Viewer, suggestion: Suggestion, client_token: str | None = None
) -> Suggestion:
    """Add one vote; a second vote by the same voter is refused with Conflict."""
    key = voter_key(viewer, client_token)
    if suggestion.status in _VOTING_CLOSED:
        raise Conflict(
            f"Suggestion {suggestion.id} is {suggestion.status}; voting on it has closed."
        )
    already = session.scalar(
        select(SuggestionVote.id).where(
            SuggestionVote.suggestion_id == suggestion.id, SuggestionVote.voter == key
        )
    )
    if already is not None:
        raise Conflict(f"You have already voted for suggestion {suggestion.id}; one vote each.")
    session.add(SuggestionVote(suggestion_id=suggestion.id, voter=key))
    session.flush()
    # Recount rather than increment, so the stored figure always equals the votes kept.
    suggestion.vote_count = (
        session.scalar(
            select(func.count(SuggestionVote.id)).where(
                SuggestionVote.suggestion_id == suggestion.id
            )
        )
        or 0
    )
    session.flush()
    return suggestion


def _require_respond(viewer: Viewer, suggestion: Suggestion) -> None:
    if not viewer.can(SUGGESTIONS_RESPOND):
        raise PermissionDenied(f"The role {viewer.role!r} may not answer suggestions.")


def mark_under_review(session: Session, viewer: Viewer, suggestion: Suggestion) -> Suggestion:
    """Tell the author a department is looking at it."""
    _require_respond(viewer, suggestion)
    if suggestion.status != "open":
        raise Conflict(f"Suggestion {suggestion.id} is {suggestion.status}, not open.")
    suggestion.status = "under_review"
    suggestion.updated_at = utcnow()
    session.flush()
    audit.record(session, viewer, "suggestion.review", "suggestion", suggestion.id)
    return suggestion


def respond(
    session: Session,
    viewer: Viewer,
    suggestion: Suggestion,
    *,
    text: str,
    outcome: str,
    responder: str | None = None,
    at: dt.datetime | None = None,
) -> SuggestionResponse:
    """Record the city's official answer; the outcome becomes the suggestion's status. A later
    answer replaces the earlier one (the audit log keeps both)."""
    _require_respond(viewer, suggestion)
    if outcome not in OUTCOMES:
        raise InvalidInput(f"The outcome is one of {', '.join(OUTCOMES)}, not {outcome!r}.")
    if not text.strip():
        raise InvalidInput("An official response needs a text.")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"The response has {len(text)} characters; at most {MAX_BODY}.")
    when = at or utcnow()
    response = response_of(session, suggestion)
    if response is None:
        response = SuggestionResponse(suggestion_id=suggestion.id)
        session.add(response)
    response.text = text.strip()
    response.outcome = outcome
    response.responder = (responder or viewer.label).strip()
    response.responder_user_id = viewer.user_id
    response.responded_at = when
    suggestion.status = outcome
    suggestion.updated_at = when
    session.flush()
    audit.record(
        session,
        viewer,
        "suggestion.respond",
        "suggestion",
        suggestion.id,
        {"outcome": outcome, "responder": response.responder},
    )
    return response


def _area_label(session: Session, area_id: int | None) -> dict[str, str] | None:
    if area_id is None:
        return None
    area = session.get(Area, area_id)
    if area is None:
        return None
    return {"code": area.code, "name": area.name}


def public_view(session: Session, suggestion: Suggestion) -> dict[str, Any]:
    """What anyone may see: no author, no exact point."""
    response = response_of(session, suggestion)
    return {
        "id": suggestion.id,
        "title": suggestion.title,
        "body": suggestion.body,
        "category": suggestion.category,
        "status": suggestion.status,
        "district": _area_label(session, suggestion.district_id),
        "area": _area_label(session, suggestion.area_id),
        "votes": suggestion.vote_count,
        "created_at": suggestion.created_at.isoformat(),
        "updated_at": suggestion.updated_at.isoformat(),
        "response": None
        if response is None
        else {
            "text": response.text,
            "outcome": response.outcome,
            "responder": response.responder,
            "responded_at": response.responded_at.isoformat(),
        },
    }


def internal_view(session: Session, viewer: Viewer, suggestion: Suggestion) -> dict[str, Any]:
    """The public view, plus the personal fields for staff who see the district's internal data."""
    view = public_view(session, suggestion)
    if viewer.sees_internal_of(suggestion.district_id):
        view["internal"] = {
            "author_name": suggestion.author_name,
            "author_contact": suggestion.author_contact,
            "author_user_id": suggestion.author_user_id,
            "lat": suggestion.lat,
            "lon": suggestion.lon,
            "channel": suggestion.channel,
            "external_id": suggestion.external_id,
        }
    return view
