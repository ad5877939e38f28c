"""Korean and English for the pages: picking the language, and numbers, dates and times written
the way each language writes them (in the city's time zone)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from fastapi import Request

LANGUAGES = ("ko", "en")
LANG_COOKIE = "citymeter_lang"
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def pick_language(request: Request, asked: str | None, default: str = "ko") -> str:
    """?lang= first, then the cookie the switch sets, then the city's default."""
    if asked in LANGUAGES:
        return str(asked)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return str(cookie)
    return default if default in LANGUAGES else "ko"


def other_language(language: str) -> str:
    """The language the page's switch offers."""
    return "en" if language == "ko" else "ko"


def number(value: float | int | None, digits: int = 0, empty: str = "–") -> str:
    """Grouped thousands; both languages group by three with commas."""
    if value is None:
        return empty
    return f"{value:,.{digits}f}"


def signed(value: float | None, digits: int = 1, empty: str = "") -> str:
    if value is None:
        return empty
    text = f"{value:+,.{digits}f}"
    return text.replace("-", "−")


def local(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(tz)


def time_of_day(moment: dt.datetime | None, tz: ZoneInfo, lang: str) -> str:
    if moment is None:
        return "–"
    at = local(moment, tz)
    return f"{at:%H:%M}"


def day_and_time(moment: dt.datetime | None, tz: ZoneInfo, lang: str) -> str:
    if moment is None:
        return "–"
    at = local(moment, tz)
    if lang == "ko":
        return f"{at.month}월 {at.day}일 {at:%H:%M}"
    return f"{at.day} {MONTHS_EN[at.month - 1]} {at:%H:%M}"


def month(day: dt.date | None, lang: str) -> str:
    if day is None:
        return "–"
    if lang == "ko":
        return f"{day.year}년 {day.month}월"
    return f"{MONTHS_EN[day.month - 1]} {day.year}"


def period(day: dt.date | None, grain: str, lang: str) -> str:
    if day is None:
        return "–"
    if grain == "year":
        return f"{day.year}년" if lang == "ko" else str(day.year)
    if grain == "quarter":
        q = (day.month - 1) // 3 + 1
        return f"{day.year}년 {q}분기" if lang == "ko" else f"Q{q} {day.year}"
    return month(day, lang)


def date(day: dt.date | None, lang: str) -> str:
    if day is None:
        return "–"
    if lang == "ko":
        return f"{day.year}년 {day.month}월 {day.day}일"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def ago(moment: dt.datetime | None, now: dt.datetime, lang: str) -> str:
    """ "5분 전" / "5 min ago"."""
    if moment is None:
        return "–"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    seconds = max(0, int((now - aware).total_seconds()))
    if seconds < 60:
        return "방금" if lang == "ko" else "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}분 전" if lang == "ko" else f"{minutes} min ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}시간 전" if lang == "ko" else f"{hours} h ago"
    days = hours // 24
    return f"{days}일 전" if lang == "ko" else f"{days} days ago"
