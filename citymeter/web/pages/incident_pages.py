"""Pages: incidents — the list (near a point, by type, since a time) and one incident with each
unit's timeline, response times, location and what is near it (CCTV nearest first, the nearest
police station and hospitals). Address and dispatcher remarks only for those who see the
incident's district internally."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from citymeter.errors import CityMeterError, InvalidInput
from citymeter.portal import incidents as portal
from citymeter.portal import locale, web
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "title": "사건·사고",
        "intro": "접수된 안전 사건과 출동 기록입니다. 위치 근처, 유형, 시점으로 거를 수 있습니다.",
        "near": "위치 (위도,경도)",
        "radius": "반경 (m)",
        "type": "유형",
        "any_type": "모든 유형",
        "since": "이후",
        "number": "번호",
        "reported": "접수",
        "status": "상태",
        "district": "자치구",
        "distance": "거리",
        "severity": "심각도",
        "caption": "사건 목록 ({tz})",
        "none": "조건에 맞는 사건이 없습니다.",
        "list_count": "{shown}건 표시 (전체 {total}건)",
        "timeline": "출동 단위별 진행",
        "unit": "출동 단위",
        "after_call": "접수 후",
        "no_timeline": "아직 출동 기록이 없습니다.",
        "response": "대응 시간",
        "call_to_dispatch": "접수→출동",
        "dispatch_to_arrival": "출동→현장 도착",
        "unknown_time": "알 수 없음",
        "location": "위치",
        "coordinates": "좌표",
        "no_location": "위치가 기록되지 않았습니다.",
        "address": "주소 (내부)",
        "remarks": "상황실 메모 (내부)",
        "internal_fields": "내부 정보",
        "public_fields": "주소와 상황실 메모는 개인정보가 있을 수 있어 공개하지 않습니다.",
        "nearby": "주변 시설",
        "cctv": "반경 {radius} 안의 CCTV (가까운 순)",
        "no_cctv": "반경 안에 공개된 CCTV가 없습니다.",
        "police": "가장 가까운 경찰서",
        "hospitals": "가까운 병원",
        "none_found": "찾지 못함",
        "name": "이름",
        "dispatched": "출동",
        "en_route": "이동 중",
        "on_scene": "현장 도착",
        "cleared": "종료",
        "resolved": "해결",
        "reported_status": "접수",
        "fire": "화재",
        "rescue": "구조",
        "medical": "구급",
        "crime": "범죄",
        "traffic_accident": "교통사고",
        "flood": "침수",
        "gas": "가스",
        "other": "기타",
    },
    "en": {
        "title": "Incidents",
        "intro": "Safety incidents and their dispatch records. Filter by a place, a type or a "
        "time.",
        "near": "Near (lat,lon)",
        "radius": "Radius (m)",
        "type": "Type",
        "any_type": "All types",
        "since": "Since",
        "number": "Number",
        "reported": "Reported",
        "status": "Status",
        "district": "District",
        "distance": "Distance",
        "severity": "Severity",
        "caption": "Incidents ({tz})",
        "none": "No incident matches these filters.",
        "list_count": "Showing {shown} of {total}",
        "timeline": "Timeline by unit",
        "unit": "Unit",
        "after_call": "After the call",
        "no_timeline": "No unit has been dispatched yet.",
        "response": "Response times",
        "call_to_dispatch": "Call to dispatch",
        "dispatch_to_arrival": "Dispatch to arrival",
        "unknown_time": "not known",
        "location": "Location",
        "coordinates": "Coordinates",
        "no_location": "No location was recorded.",
        "address": "Address (internal)",
        "remarks": "Dispatcher remarks (internal)",
        "internal_fields": "Internal details",
        "public_fields": "The address and the dispatcher's remarks may hold personal data and are "
        "not published.",
        "nearby": "Nearby",
        "cctv": "CCTV within {radius}, nearest first",
        "no_cctv": "No public CCTV site within the radius.",
        "police": "Nearest police station",
        "hospitals": "Nearest hospitals",
        "none_found": "none found",
        "name": "Name",
        "dispatched": "dispatched",
        "en_route": "en route",
        "on_scene": "on scene",
        "cleared": "cleared",
        "resolved": "resolved",
        "reported_status": "reported",
        "fire": "fire",
        "rescue": "rescue",
        "medical": "medical",
        "crime": "crime",
        "traffic_accident": "traffic accident",
        "flood": "flood",
        "gas": "gas",
        "other": "other",
    },
}


def _since(text: str | None, tz: str) -> dt.datetime | None:
    """An ISO date or date-time (city time when without an offset), or 24h / 7d back from now."""
    if not text:
        return None
    text = text.strip()
    if text[-1:] in ("h", "d") and text[:-1].isdigit():
        hours = int(text[:-1]) * (24 if text.endswith("d") else 1)
        return dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"since is a date (2026-10-01), a date-time, or 24h / 7d; not {text!r}."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment


@router.get("/incidents", response_class=HTMLResponse)
def incident_list(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    near: str | None = Query(None, max_length=60),
    radius: float = Query(portal.DEFAULT_RADIUS_M),
    type: str | None = Query(None, max_length=64),
    since: str | None = Query(None, max_length=40),
) -> HTMLResponse:
    language = locale.language(lang)
    ctx = web.context(
        request, session, viewer, language, TEXT[language], tz=settings.timezone,
        current="/incidents",
    )  # fmt: skip
    ctx.update({"near": near or "", "radius": radius, "type": type or "", "since": since or ""})
    ctx["types"] = portal.incident_types(session)
    try:
        point = portal.parse_near(near)
        rows, total = portal.find_incidents(
            session, viewer, near=point, radius_m=radius, type_code=type or None,
            since=_since(since, settings.timezone),
        )  # fmt: skip
    except CityMeterError as exc:
        return web.error_page(request, ctx, exc)
    ctx.update({"rows": rows, "total": total, "point": point, "tz": settings.timezone})
    return web.render(request, "incident_list.html", ctx)


@router.get("/incidents/{number}", response_class=HTMLResponse)
def incident_page(
    request: Request,
    number: str,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    radius: float | None = Query(None),
) -> HTMLResponse:
    language = locale.language(lang)
    ctx = web.context(
        request, session, viewer, language, TEXT[language], tz=settings.timezone,
        current="/incidents",
    )  # fmt: skip
    try:
        detail = portal.incident_detail(session, viewer, number, radius_m=radius)
    except CityMeterError as exc:
        return web.error_page(request, ctx, exc)
    ctx.update({"i": detail, "v": detail.view, "tz": settings.timezone})
    return web.render(request, "incident_page.html", ctx)
