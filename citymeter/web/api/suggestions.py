"""JSON API: citizen suggestions, their votes and the city's official responses."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, status
from pydantic import BaseModel, ConfigDict, Field

from citymeter.accounts.permissions import SUGGESTIONS_RESPOND, SUGGESTIONS_WRITE, Viewer
from citymeter.suggestions import service
from citymeter.suggestions.models import MAX_BODY, MAX_TITLE
from citymeter.suggestions.service import city_for
from citymeter.web.deps import PublicViewer, SessionDep, require

router = APIRouter(prefix="/api/v1", tags=["suggestions"])

Author = Annotated[Viewer, Depends(require(SUGGESTIONS_WRITE))]
Responder = Annotated[Viewer, Depends(require(SUGGESTIONS_RESPOND))]
CityCode = Annotated[str | None, Query(description="City code (default: the first city)")]


class SuggestionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=MAX_TITLE)
    body: str = Field(max_length=MAX_BODY)
    category: str = "other"
    lat: float | None = None
    lon: float | None = None
    area_code: str | None = Field(default=None, max_length=40)
    author_name: str | None = Field(default=None, max_length=120)
    author_contact: str | None = Field(default=None, max_length=200)


class ResponseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_BODY)
    outcome: str
    responder: str | None = Field(default=None, max_length=200)


@router.get("/suggestions")
def list_suggestions(
    session: SessionDep,
    viewer: PublicViewer,
    city: CityCode = None,
    status: str | None = None,
    category: str | None = None,
    district: str | None = None,
    sort: str = "new",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    where = city_for(session, city, viewer)
    page, total = service.list_suggestions(
        session,
        where,
        status=status,
        category=category,
        district_code=district,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return {"total": total, "items": [service.public_view(session, s) for s in page]}


@router.get("/suggestions/{suggestion_id}")
def show_suggestion(
    suggestion_id: int, session: SessionDep, viewer: PublicViewer, city: CityCode = None
) -> dict[str, Any]:
    found = service.get(session, city_for(session, city, viewer), suggestion_id)
    return service.internal_view(session, viewer, found)


@router.post("/suggestions", status_code=status.HTTP_201_CREATED)
def create_suggestion(
    body: SuggestionCreate, session: SessionDep, viewer: Author, city: CityCode = None
) -> dict[str, Any]:
    where = city_for(session, city, viewer)
    created = service.submit(session, viewer, where, service.NewSuggestion(**body.model_dump()))
    return service.public_view(session, created)


@router.post("/suggestions/{suggestion_id}/votes", status_code=status.HTTP_201_CREATED)
def vote(
    suggestion_id: int,
    session: SessionDep,
    viewer: PublicViewer,
    city: CityCode = None,
    x_client_token: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """One vote per account, or per client token for visitors without an account."""
    found = service.get(session, city_for(session, city, viewer), suggestion_id)
    service.vote(session, viewer, found, x_client_token)
    return {"id": found.id, "votes": found.vote_count}


@router.post("/suggestions/{suggestion_id}/review")
def mark_under_review(
    suggestion_id: int, session: SessionDep, viewer: Responder, city: CityCode = None
) -> dict[str, Any]:
    found = service.get(session, city_for(session, city, viewer), suggestion_id)
    service.mark_under_review(session, viewer, found)
    return service.public_view(session, found)


@router.put("/suggestions/{suggestion_id}/response")
def respond(
    suggestion_id: int,
    body: ResponseCreate,
    session: SessionDep,
    viewer: Responder,
    city: CityCode = None,
) -> dict[str, Any]:
    found = service.get(session, city_for(session, city, viewer), suggestion_id)
    service.respond(
        session,
        viewer,
        found,
        text=body.text,
        outcome=body.outcome,
        responder=body.responder,
        at=dt.datetime.now(dt.UTC),
    )
    return service.public_view(session, found)
