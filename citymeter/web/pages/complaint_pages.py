"""Pages: civil complaints — the list (status, district, late) and one complaint with its status
history, deadline and whether it is late. Requester fields, the exact address and staff names only
for those who see the complaint's district internally."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from citymeter.errors import CityMeterError
from citymeter.portal import access, locale, web
from citymeter.portal import complaints as portal
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "title": "민원",
        "intro": "시민이 접수한 민원과 처리 상태입니다. 민원인 정보는 공개하지 않습니다.",
        "status": "상태",
        "any_status": "모든 상태",
        "open": "처리 중",
        "closed": "처리 완료",
        "district": "자치구",
        "any_district": "모든 자치구",
        "late_only": "기한 넘긴 민원만",
        "number": "번호",
        "service": "유형",
        "requested": "접수",
        "deadline": "처리 기한",
        "closed_at": "완료",
        "late": "기한 초과",
        "on_time": "기한 내",
        "no_deadline": "기한 없음",
        "caption": "민원 목록 ({tz})",
        "none": "조건에 맞는 민원이 없습니다.",
        "history": "처리 경과",
        "notes": "메모",
        "by": "처리자 (내부)",
        "description": "내용",
        "department": "담당 부서",
        "area": "지역",
        "internal_fields": "민원인 정보 (내부)",
        "requester": "민원인",
        "email": "이메일",
        "phone": "전화",
        "address": "주소",
        "coordinates": "좌표",
        "source": "출처",
        "public_fields": "민원인의 이름, 연락처, 정확한 주소는 공개하지 않습니다.",
        "still_open_late": "기한이 지났지만 아직 처리 중입니다.",
        "closed_late": "기한을 넘겨 처리되었습니다.",
    },
    "en": {
        "title": "Complaints",
        "intro": "Complaints filed by residents and where they stand. Requesters are never shown.",
        "status": "Status",
        "any_status": "Any status",
        "open": "open",
        "closed": "closed",
        "district": "District",
        "any_district": "All districts",
        "late_only": "Late ones only",
        "number": "Number",
        "service": "Type",
        "requested": "Filed",
        "deadline": "Deadline",
        "closed_at": "Closed",
        "late": "late",
        "on_time": "on time",
        "no_deadline": "no deadline",
        "caption": "Complaints ({tz})",
        "none": "No complaint matches these filters.",
        "history": "Status history",
        "notes": "Notes",
        "by": "By (internal)",
        "description": "Description",
        "department": "Department",
        "area": "Area",
        "internal_fields": "Requester (internal)",
        "requester": "Requester",
        "email": "E-mail",
        "phone": "Phone",
        "address": "Address",
        "coordinates": "Coordinates",
        "source": "Source",
        "public_fields": "The requester's name, contact and exact address are not published.",
        "still_open_late": "Past its deadline and still open.",
        "closed_late": "Closed after its deadline.",
    },
}


@router.get("/complaints", response_class=HTMLResponse)
def complaint_list(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
    status: str | None = Query(None, max_length=8),
    district: str | None = Query(None, max_length=40),
    late: str | None = Query(None, max_length=5),
    page: int = Query(1, ge=1, le=10_000),
) -> HTMLResponse:
    language = locale.language(lang)
    ctx = web.context(
        request, session, viewer, language, TEXT[language], tz=settings.timezone,
        current="/complaints",
    )  # fmt: skip
    is_late = late in ("1", "true", "yes", "on")
    ctx.update({"status": status or "", "district": district or "", "late": is_late, "page": page})
    try:
        the_city = access.city_for(session, city)
        ctx["districts"] = access.districts(session, the_city)
        rows, total = portal.find_complaints(
            session, the_city, status=status or None,
            district=portal.district_named(session, the_city, district), late=is_late, page=page,
        )  # fmt: skip
    except CityMeterError as exc:
        return web.error_page(request, ctx, exc)
    ctx.update(
        {
            "rows": rows,
            "total": total,
            "tz": settings.timezone,
            "has_next": page * portal.PAGE_SIZE < total,
        }
    )
    return web.render(request, "complaint_list.html", ctx)


@router.get("/complaints/{service_request_id}", response_class=HTMLResponse)
def complaint_page(
    request: Request,
    service_request_id: str,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
) -> HTMLResponse:
    language = locale.language(lang)
    ctx = web.context(
        request, session, viewer, language, TEXT[language], tz=settings.timezone,
        current="/complaints",
    )  # fmt: skip
    try:
        the_city = access.city_for(session, city)
        detail = portal.complaint_detail(session, viewer, the_city, service_request_id)
    except CityMeterError as exc:
        return web.error_page(request, ctx, exc)
    ctx.update({"c": detail, "tz": settings.timezone})
    return web.render(request, "complaint_page.html", ctx)
