"""Pages: the mayor's pledges — the board (on track / at risk / off track) and one pledge with its
progress against the target, milestones and status history. Pledges are city-wide: internal ones
only for those who read the whole city internally."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from citymeter.errors import CityMeterError
from citymeter.indicators import pledges
from citymeter.portal import access, locale, web
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "title": "시장 공약",
        "intro": "공약별 목표와 현재 진척도입니다. 진척도는 기준값에서 목표값까지 간 비율이고, "
        "기대 진척도는 기준일부터 목표일까지 지난 시간의 비율입니다.",
        "summary": "상태별 공약 수",
        "achieved": "달성",
        "on_track": "순항",
        "at_risk": "주의",
        "off_track": "부진",
        "no_data": "자료 없음",
        "number": "공약",
        "department": "담당 부서",
        "indicator": "지표",
        "baseline": "기준",
        "target": "목표",
        "latest": "최근 값",
        "progress": "진척도",
        "expected": "기대 진척도",
        "status": "상태",
        "none": "등록된 공약이 없습니다. `citymeter pledges add`로 공약을 등록하세요.",
        "milestones": "중간 목표",
        "due": "기한",
        "reached": "도달",
        "not_reached": "미도달",
        "history": "상태 기록",
        "assessed": "평가 시각",
        "note": "메모",
        "no_milestones": "중간 목표가 없습니다.",
        "progress_label": "진척도 {progress}, 기대 {expected}",
        "internal": "내부 공약",
        "as_of": "{date} 기준",
    },
    "en": {
        "title": "Mayoral pledges",
        "intro": "Each pledge's target and how far it has come. Progress is the share of the way "
        "from the baseline to the target; expected is the share of the time from the baseline "
        "date to the target date that has passed.",
        "summary": "Pledges by status",
        "achieved": "achieved",
        "on_track": "on track",
        "at_risk": "at risk",
        "off_track": "off track",
        "no_data": "no data",
        "number": "Pledge",
        "department": "Department",
        "indicator": "Indicator",
        "baseline": "Baseline",
        "target": "Target",
        "latest": "Latest value",
        "progress": "Progress",
        "expected": "Expected",
        "status": "Status",
        "none": "There are no pledges yet; add one with `citymeter pledges add`.",
        "milestones": "Milestones",
        "due": "Due",
        "reached": "reached",
        "not_reached": "not reached",
        "history": "Status history",
        "assessed": "Assessed",
        "note": "Note",
        "no_milestones": "No milestones.",
        "progress_label": "Progress {progress}, expected {expected}",
        "internal": "internal pledge",
        "as_of": "as of {date}",
    },
}


def _title(p: pledges.PledgeView, lang: str) -> str:
    return (p.title_ko if lang == "ko" else p.title_en) or p.title_en or p.title_ko or p.number


@router.get("/pledges", response_class=HTMLResponse)
def pledge_board(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
) -> HTMLResponse:
    language = locale.language(lang)
    ctx = web.context(
        request, session, viewer, language, TEXT[language], tz=settings.timezone,
        current="/pledges",
    )  # fmt: skip
    try:
        the_city = access.city_for(session, city)
        views = pledges.board(session, access.reader_for(viewer, None), the_city.code)
    except CityMeterError as exc:
        return web.error_page(request, ctx, exc)
    ctx.update(
        {
            "pledges": [(p, _title(p, language)) for p in views],
            "summary": pledges.board_summary(views),
            "statuses": pledges.STATUSES,
        }
    )
    return web.render(request, "pledge_board.html", ctx)


@router.get("/pledges/{number}", response_class=HTMLResponse)
def pledge_page(
    request: Request,
    number: str,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
) -> HTMLResponse:
    language = locale.language(lang)
    ctx = web.context(
        request, session, viewer, language, TEXT[language], tz=settings.timezone,
        current="/pledges",
    )  # fmt: skip
    try:
        the_city = access.city_for(session, city)
        reader = access.reader_for(viewer, None)
        view = pledges.view(session, pledges.get_pledge(session, reader, the_city.code, number))
    except CityMeterError as exc:
        return web.error_page(request, ctx, exc)
    ctx.update({"p": view, "title": _title(view, language)})
    return web.render(request, "pledge_page.html", ctx)
