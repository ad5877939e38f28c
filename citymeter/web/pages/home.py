"""Pages: `/`, the mayor's dashboard — real-time city status, citizens' voice and administration
on one screen, refreshed live; `/?district=CODE` is the same as the district page. An empty store
says what to do. `/dashboard/panels/{area}` serves one area's HTML for the live refresh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from citymeter.accounts.permissions import Viewer
from citymeter.dashboard import service
from citymeter.dashboard.scope import Scope
from citymeter.dashboard.status import PM25_BANDS
from citymeter.db.base import utcnow
from citymeter.errors import InvalidInput
from citymeter.settings import Settings
from citymeter.web import i18n
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep
from citymeter.web.pages.dashboard_text import TEXT, View

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

AREAS = {"status": "dashboard_status.html", "voice": "dashboard_voice.html",
         "administration": "dashboard_admin.html", "districts": "district_table.html"}  # fmt: skip
# What each refreshable part of the page is computed from: the district table puts the status
# and the voice areas side by side, so it is refreshed with them, from the same figures.
AREA_INPUTS = {"status": ("status",), "voice": ("voice",), "administration": ("administration",),
               "districts": ("status", "voice")}  # fmt: skip
# The words the dashboard script needs (live state, the CCTV panel, the map legend).
SCRIPT_WORDS = (
    "live_on", "live_off", "live_wait", "refresh_error", "cctv_near", "cctv_none", "cctv_loading",
    "cctv_error", "map_error", "pm25", "pm10", "ugm3", "band_none", "severity", "updated",
)  # fmt: skip


def _view(scope: Scope, lang: str) -> View:
    return View(
        lang=lang,
        tz=scope.tz,
        now=utcnow(),
        district_names={d.code: d.label(lang) for d in scope.districts},
    )


def map_data(board: service.Dashboard, view: View) -> dict[str, Any]:
    """What the map draws, in the page's language: air by district and the open incidents."""
    return {
        "air": {
            d.code: {"pm25": d.pm25, "pm10": d.pm10, "stations": d.stations}
            for d in board.status.air.districts
        },
        "incidents": [
            {
                "number": i.number,
                "lat": i.lat,
                "lon": i.lon,
                "severity": i.severity,
                "label": f"{view.word('cat', i.category)} · {view.t['severity']} {i.severity}"
                f" · {view.time(i.reported_at)}",
            }
            for i in board.status.incidents.active
            if i.lat is not None and i.lon is not None
        ],
        "pulse": {
            "incidents": board.status.incidents.latest_id,
            "complaints": board.voice.complaints.latest_id,
        },
        "updated": view.time(board.generated_at),
    }


def district_rows(board: service.Dashboard) -> list[dict[str, Any]]:
    """One row per district: air, traffic, parking and complaints side by side."""
    air = {d.code: d for d in board.status.air.districts}
    moving = {d.code: d for d in board.status.mobility.districts}
    voices = {d.code: d for d in board.voice.complaints.districts}
    return [
        {"code": d.code, "air": air.get(d.code), "mobility": moving.get(d.code),
         "complaints": voices.get(d.code)}
        for d in board.scope.districts
        if board.scope.district is None or d.code == board.scope.district.code
    ]  # fmt: skip


def _context(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    settings: Settings,
    lang: str | None,
    city: str | None,
    district: str | None,
    areas: tuple[str, ...] = service.AREAS,
) -> dict[str, Any]:
    scope = service.resolve(session, viewer, city_code=city, district=district)
    default = scope.city.default_language if scope is not None else "ko"
    language = i18n.pick_language(request, lang, default)
    context: dict[str, Any] = {
        "lang": language,
        "other_lang": i18n.other_language(language),
        "t": TEXT[language],
        "viewer": viewer,
        "scope": scope,
        "city_param": city,
    }
    if scope is None:
        return context
    view = _view(scope, language)
    board = service.dashboard(session, scope, min_count=settings.public_min_count, areas=areas)
    city_name = scope.city.names.get(language) or scope.city.name
    context.update(
        {
            "v": view,
            "d": board,
            "city_name": city_name,
            "district_name": scope.district.label(language) if scope.district else None,
            "pm25_bands": PM25_BANDS,
            "map_json": json.dumps(map_data(board, view), ensure_ascii=False).replace("</", "<\\/"),
            "district_rows": (district_rows(board) if {"status", "voice"} <= set(areas) else []),
        }
    )
    return context


def render_dashboard(
    request: Request,
    session: SessionDep,
    viewer: Viewer,
    settings: Settings,
    *,
    lang: str | None,
    city: str | None,
    district: str | None,
    printing: bool,
) -> HTMLResponse:
    context = _context(request, session, viewer, settings, lang, city, district)
    context["printing"] = printing
    scope: Scope | None = context["scope"]
    if scope is not None:
        t = context["t"]
        context["page_title"] = (
            t["district_title"].format(district=context["district_name"])
            if scope.district
            else f"{context['city_name']} · {t['title']}"
        )
        context["script_words"] = json.dumps({k: t[k] for k in SCRIPT_WORDS}, ensure_ascii=False)
    response = templates.TemplateResponse(request, "home.html", context)
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.LANG_COOKIE, str(lang), max_age=365 * 86400, samesite="lax")
    return response


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
    district: str | None = Query(None, max_length=40),
    printing: bool = Query(False, alias="print"),
) -> HTMLResponse:
    return render_dashboard(
        request, session, viewer, settings,
        lang=lang, city=city, district=district, printing=printing,
    )  # fmt: skip


@router.get("/dashboard/panels/{area}", response_class=HTMLResponse)
def panel(
    area: str,
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
    district: str | None = Query(None, max_length=40),
) -> Response:
    """One area of the dashboard as an HTML fragment (the live refresh swaps it in)."""
    if area not in AREAS:
        raise InvalidInput(f"The dashboard areas are {', '.join(AREAS)}, not {area!r}.")
    context = _context(request, session, viewer, settings, lang, city, district, AREA_INPUTS[area])
    if context["scope"] is None:
        return HTMLResponse("", status_code=204)
    context["printing"] = False
    response = templates.TemplateResponse(request, AREAS[area], context)
    response.headers["Cache-Control"] = "no-store"
    return response
