"""JSON API: rising topics and term series (counts only, never the texts), and the text feed
ingest route."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from citymeter.accounts.permissions import INGEST_WRITE, Viewer
from citymeter.suggestions.service import city_for
from citymeter.trends import service
from citymeter.trends.service import TextPostIn
from citymeter.web.deps import PublicViewer, SessionDep, require

router = APIRouter(prefix="/api/v1", tags=["trends"])

Feeder = Annotated[Viewer, Depends(require(INGEST_WRITE))]
CityCode = Annotated[str | None, Query(description="City code (default: the first city)")]
Kinds = Annotated[
    str, Query(description="Comma-separated text kinds: complaints, suggestions, posts")
]


class PostBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[TextPostIn] = Field(min_length=1, max_length=1000)


def _kinds(text: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in text.split(",") if k.strip())


@router.get("/trends/rising")
def rising(
    session: SessionDep,
    viewer: PublicViewer,
    city: CityCode = None,
    district: str | None = None,
    weeks: int = 4,
    as_of: dt.date | None = None,
    min_count: int = 3,
    limit: int = 20,
    kinds: Kinds = ",".join(service.KINDS),
) -> dict[str, Any]:
    report = service.rising(
        session,
        city_for(session, city, viewer),
        district_code=district,
        as_of=as_of,
        weeks=weeks,
        min_count=min_count,
        limit=limit,
        kinds=_kinds(kinds),
    )
    return report.as_dict()


@router.get("/trends/terms/{term}")
def term_series(
    term: str,
    session: SessionDep,
    viewer: PublicViewer,
    city: CityCode = None,
    district: str | None = None,
    grain: str = "week",
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    kinds: Kinds = ",".join(service.KINDS),
) -> dict[str, Any]:
    found = service.series(
        session,
        city_for(session, city, viewer),
        term,
        grain=grain,
        start=start,
        end=end,
        district_code=district,
        kinds=_kinds(kinds),
    )
    return found.as_dict()


@router.post("/trends/posts", status_code=status.HTTP_201_CREATED)
def ingest_posts(
    body: PostBatch, session: SessionDep, viewer: Feeder, city: CityCode = None
) -> dict[str, Any]:
    result = service.ingest_posts(session, viewer, city_for(session, city, viewer), body.items)
    return {"stored": result.stored, "duplicates": result.duplicates}
