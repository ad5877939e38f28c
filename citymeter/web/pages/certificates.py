"""Pages: the public certificate registry and the verification page of one certificate."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from citymeter.assessment import certificates
from citymeter.errors import NotFound
from citymeter.web.deps import PublicViewer, SessionDep

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


@router.get("/certificates", response_class=HTMLResponse)
def registry(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    round: str | None = Query(None, max_length=80),
    class_: str | None = Query(None, alias="class", max_length=40),
) -> HTMLResponse:
    entries = certificates.registry(session, round, class_)
    return templates.TemplateResponse(
        request,
        "certificate_registry.html",
        {"entries": entries, "round": round, "class_id": class_, "viewer": viewer},
    )


@router.get("/certificates/{number}", response_class=HTMLResponse)
def verification(
    request: Request, number: str, session: SessionDep, viewer: PublicViewer
) -> HTMLResponse:
    try:
        found = certificates.verify(session, number)
    except NotFound:
        return templates.TemplateResponse(
            request,
            "certificate_verify.html",
            {"certificate": None, "number": number, "viewer": viewer},
            status_code=404,
        )
    return templates.TemplateResponse(
        request,
        "certificate_verify.html",
        {"certificate": found, "number": number, "viewer": viewer},
    )
