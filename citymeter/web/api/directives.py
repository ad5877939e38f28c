"""JSON API: directives from the mayor or a district head to a department, and their answers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from citymeter.accounts.permissions import (
    DIRECTIVES_ANSWER,
    DIRECTIVES_ISSUE,
    READ_INTERNAL,
    Viewer,
)
from citymeter.directives import service
from citymeter.suggestions.service import city_for
from citymeter.web.deps import SessionDep, require

router = APIRouter(prefix="/api/v1", tags=["directives"])

Reader = Annotated[Viewer, Depends(require(READ_INTERNAL))]
Issuer = Annotated[Viewer, Depends(require(DIRECTIVES_ISSUE))]
Answerer = Annotated[Viewer, Depends(require(DIRECTIVES_ANSWER))]
CityCode = Annotated[str | None, Query(description="City code (default: the first city)")]


class DirectiveCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: str = Field(max_length=200)
    title: str = Field(max_length=200)
    instruction: str = Field(max_length=service.MAX_TEXT)
    due_on: dt.date
    district: str | None = Field(default=None, max_length=40)
    incident: str | None = Field(default=None, max_length=64)
    complaints: list[str] = Field(default_factory=list, max_length=service.MAX_CLUSTER)
    service_code: str | None = Field(default=None, max_length=120)
    indicator: str | None = Field(default=None, max_length=120)


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=service.MAX_TEXT)


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=service.MAX_TEXT)


@router.get("/directives")
def list_directives(
    session: SessionDep,
    viewer: Reader,
    city: CityCode = None,
    status: str | None = None,
    department: str | None = None,
    overdue: bool = False,
) -> dict[str, Any]:
    where = city_for(session, city, viewer)
    found = service.list_directives(
        session, viewer, where, status=status, department=department, overdue=overdue
    )
    return {"items": [service.describe(session, d, where) for d in found]}


@router.get("/directives/{directive_id}")
def show_directive(
    directive_id: int, session: SessionDep, viewer: Reader, city: CityCode = None
) -> dict[str, Any]:
    where = city_for(session, city, viewer)
    return service.describe(session, service.get(session, viewer, directive_id), where)


@router.post("/directives", status_code=status.HTTP_201_CREATED)
def issue(
    body: DirectiveCreate, session: SessionDep, viewer: Issuer, city: CityCode = None
) -> dict[str, Any]:
    where = city_for(session, city, viewer)
    fields = body.model_dump()
    fields["district_code"] = fields.pop("district")
    fields["complaints"] = tuple(fields["complaints"])
    created = service.issue(session, viewer, where, service.NewDirective(**fields))
    return service.describe(session, created, where)


@router.post("/directives/{directive_id}/acknowledge")
def acknowledge(
    directive_id: int, session: SessionDep, viewer: Answerer, city: CityCode = None
) -> dict[str, Any]:
    where = city_for(session, city, viewer)
    found = service.acknowledge(session, viewer, service.get(session, viewer, directive_id))
    return service.describe(session, found, where)


@router.post("/directives/{directive_id}/answer")
def answer(
    directive_id: int,
    body: AnswerBody,
    session: SessionDep,
    viewer: Answerer,
    city: CityCode = None,
) -> dict[str, Any]:
    where = city_for(session, city, viewer)
    found = service.answer(session, viewer, service.get(session, viewer, directive_id), body.text)
    return service.describe(session, found, where)


@router.post("/directives/{directive_id}/close")
def close(
    directive_id: int,
    body: CloseBody,
    session: SessionDep,
    viewer: Issuer,
    city: CityCode = None,
) -> dict[str, Any]:
    where = city_for(session, city, viewer)
    found = service.close(session, viewer, service.get(session, viewer, directive_id), body.note)
    return service.describe(session, found, where)
