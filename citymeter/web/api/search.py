"""JSON API: command search — where a typed or spoken command leads, and type-ahead."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from citymeter.search import service
from citymeter.search.schemas import CommandResultPublic, CompletionPublic
from citymeter.web.deps import PublicViewer, SessionDep

router = APIRouter(prefix="/api/v1/search", tags=["search"])

Command = Annotated[str, Query(min_length=1, max_length=service.MAX_COMMAND)]


@router.get("/command")
def command(
    q: Command,
    session: SessionDep,
    viewer: PublicViewer,
    lang: Literal["ko", "en"] | None = None,
    city: str | None = None,
) -> CommandResultPublic:
    """The view a command asks for (path, query parameters, URL), the recognised parts with
    their spans, a confidence, and the closest matches when the command is not understood."""
    return CommandResultPublic.of(service.run_command(session, viewer, q, lang=lang, city=city))


@router.get("/suggest")
def suggest(
    q: Command,
    session: SessionDep,
    viewer: PublicViewer,
    city: str | None = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> list[CompletionPublic]:
    """Completions of the command's last word, for a search box's type-ahead."""
    return [
        CompletionPublic.of(c) for c in service.suggest(session, viewer, q, city=city, limit=limit)
    ]
