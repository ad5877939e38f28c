"""Pages: `/districts/{area_code}` — the dashboard of one district (its neighbourhoods on the map,
its rank among the districts). Its district head sees its internal data; everyone else the
public level."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep
from citymeter.web.pages.home import render_dashboard

router = APIRouter(include_in_schema=False)


@router.get("/districts/{area_code}", response_class=HTMLResponse)
def district_page(
    area_code: str,
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
    printing: bool = Query(False, alias="print"),
) -> HTMLResponse:
    return render_dashboard(
        request, session, viewer, settings,
        lang=lang, city=city, district=area_code, printing=printing,
    )  # fmt: skip
