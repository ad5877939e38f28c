"""Words and formats shared by the portal pages: Korean and English labels, numbers, dates and
durations in the city's time zone, and why a cell is empty in the reader's language."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

LANGUAGES = ("ko", "en")
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

COMMON: dict[str, dict[str, str]] = {
    "ko": {
        "other_language": "English",
        "login": "로그인",
        "logout": "로그아웃",
        "nav_dashboard": "대시보드",
        "nav_incidents": "사건·사고",
        "nav_complaints": "민원",
        "nav_pledges": "공약",
        "nav_suggestions": "시민 제안",
        "nav_open_data": "공공데이터",
        "nav_api": "API 문서",
        "public_view": "공개 화면입니다. 내부 지표와 개인정보, 소수 집계값은 표시하지 않습니다.",
        "internal_view": "내부 자료를 포함한 화면입니다 ({who}).",
        "district_view": "담당 자치구({district})는 내부 자료를, 다른 지역은 공개 자료를 "
        "보여 줍니다.",
        "filter": "적용",
        "reset": "초기화",
        "no_value": "자료 없음",
        "yes": "예",
        "no": "아니요",
        "error_title": "요청을 처리할 수 없습니다",
        "not_found_title": "찾을 수 없습니다",
        "back": "돌아가기",
        "as_table": "표로 보기",
        "download": "내려받기",
        "page": "쪽",
        "previous": "이전",
        "next": "다음",
        "total_count": "전체 {n}건",
        "none_city": "아직 도시가 없습니다. `citymeter demo`로 예시 도시를 만드세요.",
    },
    "en": {
        "other_language": "한국어",
        "login": "Log in",
        "logout": "Log out",
        "nav_dashboard": "Dashboard",
        "nav_incidents": "Incidents",
        "nav_complaints": "Complaints",
        "nav_pledges": "Pledges",
        "nav_suggestions": "Suggestions",
        "nav_open_data": "Open data",
        "nav_api": "API docs",
        "public_view": "Public view: internal indicators, personal data and small cells are not "
        "shown.",
        "internal_view": "This view includes internal data ({who}).",
        "district_view": "Internal data for your district ({district}); the rest of the city at "
        "the public level.",
        "filter": "Apply",
        "reset": "Reset",
        "no_value": "no data",
        "yes": "yes",
        "no": "no",
        "error_title": "The request could not be served",
        "not_found_title": "Not found",
        "back": "Back",
        "as_table": "As a table",
        "download": "Download",
        "page": "Page",
        "previous": "Previous",
        "next": "Next",
        "total_count": "{n} in all",
        "none_city": "There is no city yet; `citymeter demo` builds a demo city.",
    },
}

NAV = (
    ("/", "nav_dashboard"),
    ("/incidents", "nav_incidents"),
    ("/complaints", "nav_complaints"),
    ("/pledges", "nav_pledges"),
    ("/suggestions", "nav_suggestions"),
    ("/open-data", "nav_open_data"),
    ("/api-docs", "nav_api"),
)


def language(lang: str | None, default: str = "ko") -> str:
    return lang if lang in LANGUAGES else default


def number(value: float | None, digits: int = 0, lang: str = "ko") -> str:
    """Grouped digits (both languages group by thousands with a comma)."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def smart_number(value: float | None, lang: str = "ko") -> str:
    """Whole numbers without decimals, others with one or two."""
    if value is None:
        return "–"
    if float(value).is_integer() and abs(value) >= 1:
        return number(value, 0, lang)
    return number(value, 2 if abs(value) < 10 else 1, lang)


def month(day: dt.date, lang: str) -> str:
    return (
        f"{day.year}년 {day.month}월" if lang == "ko" else f"{MONTHS_EN[day.month - 1]} {day.year}"
    )


def period(day: dt.date, grain: str, lang: str) -> str:
    if grain == "year":
        return f"{day.year}년" if lang == "ko" else str(day.year)
    if grain == "quarter":
        q = (day.month - 1) // 3 + 1
        return f"{day.year}년 {q}분기" if lang == "ko" else f"Q{q} {day.year}"
    return month(day, lang)


def date(day: dt.date, lang: str) -> str:
    if lang == "ko":
        return f"{day.year}년 {day.month}월 {day.day}일"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def moment(value: dt.datetime | None, tz: str, lang: str, *, seconds: bool = False) -> str:
    """A time in the city's time zone, e.g. 2026년 10월 3일 14:05 / 3 Oct 2026 14:05."""
    if value is None:
        return "–"
    local = value.astimezone(ZoneInfo(tz))
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{date(local.date(), lang)} {clock}"


def iso_local(value: dt.datetime, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).isoformat(timespec="minutes")


def duration(seconds: float | None, lang: str) -> str:
    """3분 20초 / 3 min 20 s; hours and days for long ones."""
    if seconds is None:
        return "–"
    sign = "-" if seconds < 0 else ""
    total = round(abs(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    units = ("일", "시간", "분", "초") if lang == "ko" else (" d", " h", " min", " s")
    parts = [(days, units[0]), (hours, units[1]), (minutes, units[2]), (secs, units[3])]
    shown = [f"{n}{u}" for n, u in parts if n][:2] or [f"0{units[3]}"]
    return sign + " ".join(shown)


def distance(metres: float, lang: str) -> str:
    if metres >= 1000:
        return f"{metres / 1000:,.1f} km"
    return f"{metres:,.0f} m"


_FEWER = re.compile(r"fewer than (\d+) people")


def why_empty(reason: str | None, lang: str) -> str:
    """Why a value is not shown, in the reader's language."""
    if reason is None:
        return COMMON[lang]["no_value"]
    fewer = _FEWER.search(reason)
    if fewer:
        n = fewer.group(1)
        return (
            f"비공개: {n}명 미만의 자료로 계산된 값" if lang == "ko"
            else f"suppressed: fewer than {n} people behind this value"
        )  # fmt: skip
    if reason.startswith("derived from internal"):
        return (
            "비공개: 내부·개인 자료에서 계산된 값" if lang == "ko"
            else "suppressed: derived from internal or personal data"
        )  # fmt: skip
    if reason == "internal indicator":
        return "내부 지표: 담당 자치구만 볼 수 있음" if lang == "ko" else "internal indicator"
    return reason
