"""Pages: home — the city, its districts on a map drawn from their boundaries, headline figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from citymeter.overview import service as overview_service
from citymeter.overview import svgmap
from citymeter.overview.service import CityOverview, Figure
from citymeter.web.deps import PublicViewer, SessionDep

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

LANGUAGES = ("ko", "en")
MEASURES = ("density", "employment")

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "headline": "주요 지표",
        "districts": "자치구",
        "district": "자치구",
        "map": "지도",
        "population": "인구",
        "employment_rate": "고용률",
        "women_employment_rate": "여성 고용률",
        "jobs_created": "일자리 창출 (최근 12개월)",
        "public_rental_housing_supplied": "공공임대주택 공급 (최근 12개월)",
        "area": "면적 (km²)",
        "density": "인구밀도 (명/km²)",
        "employment": "고용률 (%)",
        "map_density": "인구밀도",
        "map_employment": "고용률",
        "show": "지도 표시:",
        "legend": "범례",
        "no_value": "자료 없음",
        "vs_year": "전년 동기 대비",
        "map_title": "{city} 자치구 지도",
        "map_desc": "{count}개 자치구를 {measure}에 따라 색칠한 지도. "
        "같은 내용이 아래 표에 있습니다.",
        "neighbourhoods": "{districts}개 자치구 · {neighbourhoods}개 행정동",
        "table_caption": "자치구별 인구와 고용률",
        "total": "합계",
        "empty_title": "아직 도시가 없습니다",
        "empty_demo": "예시 도시로 바로 살펴보려면 다음 명령을 실행하세요:",
        "empty_import": "실제 도시를 쓰려면 도시를 등록하고 경계와 통계를 가져오세요:",
        "no_figures": "아직 주요 지표 통계가 없습니다. "
        "`citymeter observations import`로 통계를 가져오세요.",
        "no_map": "경계가 등록된 자치구가 없어 지도를 그릴 수 없습니다.",
        "login": "로그인",
        "logout": "로그아웃",
        "other_language": "English",
        "other_cities": "다른 도시:",
    },
    "en": {
        "headline": "Headline figures",
        "districts": "Districts",
        "district": "District",
        "map": "Map",
        "population": "Population",
        "employment_rate": "Employment rate",
        "women_employment_rate": "Women's employment rate",
        "jobs_created": "Jobs created (12 months)",
        "public_rental_housing_supplied": "Public rental homes (12 months)",
        "area": "Area (km²)",
        "density": "Persons/km²",
        "employment": "Employed %",
        "map_density": "Population density",
        "map_employment": "Employment rate",
        "show": "Map shows:",
        "legend": "Legend",
        "no_value": "no data",
        "vs_year": "vs a year earlier",
        "map_title": "Map of {city}'s districts",
        "map_desc": "{count} districts shaded by {measure}. "
        "The table below holds the same figures.",
        "neighbourhoods": "{districts} districts · {neighbourhoods} neighbourhoods",
        "table_caption": "Population and employment rate by district",
        "total": "Total",
        "empty_title": "There is no city yet",
        "empty_demo": "To look around with a synthetic demo city, run:",
        "empty_import": "To use a real city, add it and import its boundaries and statistics:",
        "no_figures": "No headline statistics yet; "
        "import some with `citymeter observations import`.",
        "no_map": "No district has a boundary yet, so there is no map to draw.",
        "login": "Log in",
        "logout": "Log out",
        "other_language": "한국어",
        "other_cities": "Other cities:",
    },
}

UNITS = {
    "ko": {"persons": "명", "jobs": "개", "dwellings": "호", "%": "%"},
    "en": {"persons": "", "jobs": "", "dwellings": "", "%": "%"},
}
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True)
class FigureView:
    key: str
    label: str
    value: str
    unit: str
    change: str | None
    direction: str  # "up", "down" or "flat"
    period: str


def _month(day: dt.date, lang: str) -> str:
    return (
        f"{day.year}년 {day.month}월" if lang == "ko" else f"{MONTHS_EN[day.month - 1]} {day.year}"
    )


def _number(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _figure_view(figure: Figure, lang: str) -> FigureView:
    text = TEXT[lang]
    is_rate = figure.unit == "%"
    value = _number(figure.value, 1) if is_rate else _number(figure.value)
    change_value = figure.change if is_rate else figure.change_percent
    change = None
    direction = "flat"
    if change_value is not None:
        direction = "up" if change_value > 0.05 else "down" if change_value < -0.05 else "flat"
        suffix = ("%p" if lang == "ko" else " pp") if is_rate else "%"
        change = f"{change_value:+.1f}{suffix} {text['vs_year']}"
    if figure.period_start == figure.period_end:
        period = _month(figure.period_end, lang)
    else:
        period = f"{_month(figure.period_start, lang)} – {_month(figure.period_end, lang)}"
    return FigureView(
        key=figure.key,
        label=text[figure.key],
        value=value,
        unit=UNITS[lang].get(figure.unit, figure.unit),
        change=change,
        direction=direction,
        period=period,
    )


def _name(names: dict[str, str], fallback: str, lang: str) -> str:
    return names.get(lang) or fallback


def _context(overview: CityOverview, lang: str, measure: str) -> dict[str, Any]:
    text = TEXT[lang]
    drawing = svgmap.draw(overview, "density" if measure == "density" else "employment_rate")
    city_name = _name(overview.names, overview.name, lang)
    districts = []
    for summary in overview.districts:
        districts.append(
            {
                "code": summary.code,
                "name": _name(summary.names, summary.name, lang),
                "population": _number(summary.population) if summary.population else "–",
                "area": _number(summary.area_km2, 1) if summary.area_km2 else "–",
                "density": _number(summary.density) if summary.density else "–",
                "employment": _number(summary.employment_rate, 1)
                if summary.employment_rate is not None
                else "–",
            }
        )
    shapes = {d.code: d for d in drawing.districts} if drawing else {}
    measure_label = text["map_density"] if measure == "density" else text["map_employment"]
    legend_digits = 0 if measure == "density" else 1
    return {
        "city_name": city_name,
        "city_code": overview.code,
        "figures": [_figure_view(f, lang) for f in overview.figures],
        "drawing": drawing,
        "shapes": shapes,
        "districts": districts,
        "population": _number(overview.population) if overview.population else None,
        "area": _number(overview.area_km2, 1) if overview.area_km2 else None,
        "subtitle": text["neighbourhoods"].format(
            districts=len(overview.districts), neighbourhoods=overview.neighbourhood_count
        ),
        "map_title": text["map_title"].format(city=city_name),
        "map_desc": text["map_desc"].format(count=len(overview.districts), measure=measure_label),
        "measure_label": measure_label,
        "legend": [
            (c.css_class, _number(c.low, legend_digits), _number(c.high, legend_digits))
            for c in (drawing.legend if drawing else [])
        ],
        "other_cities": overview.other_cities,
    }


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
    shown: str = Query("density", alias="map", max_length=16),
) -> HTMLResponse:
    overview = overview_service.city_overview(session, viewer, city)
    default = overview.default_language if overview is not None else "ko"
    language = lang if lang in LANGUAGES else default if default in LANGUAGES else "ko"
    measure = shown if shown in MEASURES else "density"
    context: dict[str, Any] = {
        "lang": language,
        "other_lang": "en" if language == "ko" else "ko",
        "t": TEXT[language],
        "measure": measure,
        "measures": MEASURES,
        "viewer": viewer,
        "city_param": city,
        "overview": overview,
    }
    if overview is not None:
        context.update(_context(overview, language, measure))
    return templates.TemplateResponse(request, "home.html", context)
