"""Pages: citizen suggestions — the list (status, category, district; newest or most supported)
and one suggestion with its votes and the city's official response. The author and the exact
point only for those who see the suggestion's district internally."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from citymeter.errors import CityMeterError
from citymeter.portal import access, locale, web
from citymeter.suggestions import service as suggestions
from citymeter.suggestions.models import CATEGORIES, STATUSES
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "title": "시민 제안",
        "intro": "시민이 낸 제안과 공감 수, 시의 공식 답변입니다. 제안자는 공개하지 않습니다.",
        "status": "상태",
        "any_status": "모든 상태",
        "category": "분야",
        "any_category": "모든 분야",
        "district": "자치구",
        "any_district": "모든 자치구",
        "sort": "정렬",
        "sort_new": "최신순",
        "sort_votes": "공감순",
        "votes": "공감",
        "filed": "접수",
        "none": "조건에 맞는 제안이 없습니다.",
        "response": "공식 답변",
        "no_response": "아직 공식 답변이 없습니다.",
        "responder": "답변 부서",
        "responded": "답변일",
        "author": "제안자 (내부)",
        "contact": "연락처 (내부)",
        "channel": "접수 경로 (내부)",
        "public_fields": "제안자 이름과 연락처, 정확한 위치는 공개하지 않습니다.",
        "open": "접수",
        "under_review": "검토 중",
        "answered": "답변 완료",
        "adopted": "채택",
        "declined": "불채택",
        "transport": "교통",
        "environment": "환경",
        "safety": "안전",
        "welfare": "복지",
        "culture": "문화",
        "economy": "경제",
        "housing": "주택",
        "administration": "행정",
        "other": "기타",
        "caption": "제안 목록",
    },
    "en": {
        "title": "Citizen suggestions",
        "intro": "Residents' suggestions, their support and the city's official answers. Authors "
        "are not shown.",
        "status": "Status",
        "any_status": "Any status",
        "category": "Category",
        "any_category": "All categories",
        "district": "District",
        "any_district": "All districts",
        "sort": "Sort",
        "sort_new": "Newest",
        "sort_votes": "Most supported",
        "votes": "Votes",
        "filed": "Filed",
        "none": "No suggestion matches these filters.",
        "response": "Official response",
        "no_response": "No official response yet.",
        "responder": "Answered by",
        "responded": "Answered",
        "author": "Author (internal)",
        "contact": "Contact (internal)",
        "channel": "Channel (internal)",
        "public_fields": "The author's name, contact and exact location are not published.",
        "open": "open",
        "under_review": "under review",
        "answered": "answered",
        "adopted": "adopted",
        "declined": "declined",
        "transport": "transport",
        "environment": "environment",
        "safety": "safety",
        "welfare": "welfare",
        "culture": "culture",
        "economy": "economy",
        "housing": "housing",
        "administration": "administration",
        "other": "other",
        "caption": "Suggestions",
    },
}


@router.get("/suggestions", response_class=HTMLResponse)
def suggestion_list(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
    status: str | None = Query(None, max_length=16),
    category: str | None = Query(None, max_length=32),
    district: str | None = Query(None, max_length=40),
    sort: str = Query("new", max_length=8),
    page: int = Query(1, ge=1, le=10_000),
) -> HTMLResponse:
    language = locale.language(lang)
    ctx = web.context(
        request, session, viewer, language, TEXT[language], tz=settings.timezone,
        current="/suggestions",
    )  # fmt: skip
    ctx.update(
        {
            "status": status or "", "category": category or "", "district": district or "",
            "sort": sort, "statuses": STATUSES, "categories": CATEGORIES, "page": page,
        }
    )  # fmt: skip
    try:
        the_city = access.city_for(session, city)
        ctx["districts"] = access.districts(session, the_city)
        found, total = suggestions.list_suggestions(
            session, the_city, status=status or None, category=category or None,
            district_code=district or None, sort=sort, limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )  # fmt: skip
    except CityMeterError as exc:
        return web.error_page(request, ctx, exc)
    rows = []
    for s in found:
        view = suggestions.public_view(session, s)
        view["created"] = s.created_at
        rows.append(view)
    ctx.update({"rows": rows, "total": total, "has_next": page * PAGE_SIZE < total})
    return web.render(request, "suggestion_list.html", ctx)


@router.get("/suggestions/{suggestion_id}", response_class=HTMLResponse)
def suggestion_page(
    request: Request,
    suggestion_id: int,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
) -> HTMLResponse:
    language = locale.language(lang)
    ctx = web.context(
        request, session, viewer, language, TEXT[language], tz=settings.timezone,
        current="/suggestions",
    )  # fmt: skip
    try:
        the_city = access.city_for(session, city)
        found = suggestions.get(session, the_city, suggestion_id)
    except CityMeterError as exc:
        return web.error_page(request, ctx, exc)
    view = suggestions.internal_view(session, viewer, found)
    response = view.get("response")
    ctx.update(
        {
            "s": view,
            "created": found.created_at,
            "responded": dt.datetime.fromisoformat(response["responded_at"]) if response else None,
        }
    )
    return web.render(request, "suggestion_page.html", ctx)
