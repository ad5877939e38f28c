"""What every portal page shares: the templates, the language and the reader banner, locale
formatting bound to the language and the city's time zone, links that keep the query string, and
error pages in words (a page never shows a traceback or a JSON problem)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.errors import CityMeterError
from citymeter.places.models import Area
from citymeter.portal import access, locale

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "web" / "templates")


@dataclass(frozen=True)
class Formatter:
    """Locale formatting for templates: `f.number(x, 1)`, `f.moment(t)`, `f.why(reason)`."""

    lang: str
    tz: str

    def number(self, value: float | None, digits: int = 0) -> str:
        return locale.number(value, digits, self.lang)

    def smart(self, value: float | None) -> str:
        return locale.smart_number(value, self.lang)

    def month(self, day: dt.date) -> str:
        return locale.month(day, self.lang)

    def period(self, day: dt.date, grain: str) -> str:
        return locale.period(day, grain, self.lang)

    def date(self, day: dt.date | None) -> str:
        return locale.date(day, self.lang) if day is not None else "–"

    def moment(self, value: dt.datetime | None, seconds: bool = False) -> str:
        return locale.moment(value, self.tz, self.lang, seconds=seconds)

    def iso(self, value: dt.datetime) -> str:
        return locale.iso_local(value, self.tz)

    def duration(self, seconds: float | None) -> str:
        return locale.duration(seconds, self.lang)

    def distance(self, metres: float) -> str:
        return locale.distance(metres, self.lang)

    def why(self, reason: str | None) -> str:
        return locale.why_empty(reason, self.lang)

    def area(self, area: Area | None) -> str:
        return (
            locale.COMMON[self.lang]["no_value"]
            if area is None
            else access.area_name(area, self.lang)
        )


def link(request: Request, path: str | None = None, **changes: Any) -> str:
    """The current page (or `path`) with query parameters changed; None or "" removes one."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return (path or request.url.path) + (f"?{query}" if query else "")


def banner(session: Session, viewer: Viewer, lang: str) -> tuple[str, str]:
    """(kind, sentence) telling the reader which level of data the page shows."""
    words = locale.COMMON[lang]
    if not viewer.sees_internal_of(None) and viewer.role == "district_head":
        own = session.get(Area, viewer.district_id) if viewer.district_id else None
        name = access.area_name(own, lang) if own is not None else "–"
        return "district", words["district_view"].format(district=name)
    if viewer.sees_internal_of(None):
        return "internal", words["internal_view"].format(who=viewer.username)
    return "public", words["public_view"]


def context(
    request: Request,
    session: Session,
    viewer: Viewer,
    lang: str,
    text: dict[str, str],
    *,
    tz: str = "Asia/Seoul",
    current: str | None = None,
) -> dict[str, Any]:
    words = {**locale.COMMON[lang], **text}
    kind, sentence = banner(session, viewer, lang)
    return {
        "lang": lang,
        "other_lang": "en" if lang == "ko" else "ko",
        "t": words,
        "f": Formatter(lang, tz),
        "viewer": viewer,
        "banner_kind": kind,
        "banner": sentence,
        "nav": [(href, words[key], href == current) for href, key in locale.NAV],
        "switch_url": link(request, lang="en" if lang == "ko" else "ko"),
        "link": lambda path=None, **changes: link(request, path, **changes),
    }


def render(
    request: Request, name: str, ctx: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status_code)


def error_page(request: Request, ctx: dict[str, Any], exc: CityMeterError) -> HTMLResponse:
    """The error in words, with the status the API would give."""
    title = ctx["t"]["not_found_title"] if exc.status == 404 else ctx["t"]["error_title"]
    return render(
        request,
        "portal_error.html",
        {**ctx, "error_title": title, "error_message": exc.message},
        status_code=exc.status,
    )
