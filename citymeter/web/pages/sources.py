"""Page: /sources — every connected system the viewer may see, with its health."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from citymeter.sources import service
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Data sources",
        "intro": "The city systems CityMeter takes data from, and whether their data is current.",
        "caption": "Sources and their health",
        "source": "Source",
        "kind": "Kind",
        "department": "Department",
        "state": "State",
        "last_success": "Last success",
        "today": "Today: in / accepted / rejected",
        "last_error": "Last error",
        "off": "disabled",
        "none": "No sources yet.",
        "never": "never",
        "fresh": "Fresh",
        "late": "Late",
        "stale": "Stale",
        "failing": "Failing",
        "unknown": "No data yet",
        "other_language": "한국어",
    },
    "ko": {
        "title": "데이터 출처",
        "intro": "CityMeter가 데이터를 받는 도시 시스템과 그 데이터가 최신인지 보여 줍니다.",
        "caption": "출처별 상태",
        "source": "출처",
        "kind": "방식",
        "department": "담당 부서",
        "state": "상태",
        "last_success": "마지막 성공",
        "today": "오늘: 수신 / 저장 / 거부",
        "last_error": "마지막 오류",
        "off": "사용 안 함",
        "none": "아직 등록된 출처가 없습니다.",
        "never": "없음",
        "fresh": "최신",
        "late": "지연",
        "stale": "오래됨",
        "failing": "실패",
        "unknown": "자료 없음",
        "other_language": "English",
    },
}
# A symbol as well as a colour, so the state reads without colour.
SYMBOLS = {"fresh": "●", "late": "◐", "stale": "○", "failing": "✕", "unknown": "–"}


def _when(value: dt.datetime | None, tz: str, never: str) -> str:
    if value is None:
        return never
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@router.get("/sources", response_class=HTMLResponse)
def sources_page(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
) -> HTMLResponse:
    language = lang if lang in TEXT else "ko"
    text = TEXT[language]
    tz = settings.timezone
    rows: list[dict[str, Any]] = []
    for source in service.visible_sources(session, viewer):
        out = service.describe(session, viewer, source, tz=tz)
        rows.append(
            {
                "source": out,
                "state": out.health.freshness,
                "symbol": SYMBOLS[out.health.freshness],
                "state_label": text[out.health.freshness],
                "last_success": _when(out.health.last_success_at, tz, text["never"]),
            }
        )
    context = {
        "lang": language,
        "other_lang": "en" if language == "ko" else "ko",
        "t": text,
        "rows": rows,
        "viewer": viewer,
        "timezone": tz,
    }
    return templates.TemplateResponse(request, "sources.html", context)
