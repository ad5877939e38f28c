"""Pages: one indicator — its time series against the pledge target, the breakdown by sex and age
of the latest period, the district ranking, its definition and sources, and downloads of the
selection (CSV, JSON, XLSX). Filters come from the query string."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from citymeter.errors import CityMeterError, InvalidInput
from citymeter.indicators import export
from citymeter.portal import access, locale, web
from citymeter.portal import indicators as portal
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "filters": "조건",
        "area": "지역",
        "sex": "성별",
        "age": "연령대",
        "from": "시작 월",
        "to": "끝 월",
        "total": "전체",
        "male": "남성",
        "female": "여성",
        "trend": "추이",
        "ranking": "자치구 순위",
        "views": "보기",
        "series_caption": "{area} {name} 추이 ({unit})",
        "period": "기간",
        "value": "값",
        "target": "목표",
        "target_line": "공약 {number} 목표 {value} ({date}까지)",
        "no_series": "선택한 조건에 해당하는 값이 아직 계산되지 않았습니다. 조건을 바꾸거나 "
        "`citymeter indicators compute`로 계산하세요.",
        "by_sex": "성별 ({period})",
        "by_age": "연령대별 ({period})",
        "pyramid_caption": "연령대·성별 {name} ({period})",
        "age_band": "연령대",
        "no_breakdown": "이 지표는 이 기간에 해당 분류의 값이 없습니다.",
        "rank": "순위",
        "district": "자치구",
        "ranking_caption": "자치구 순위 ({period}, {order})",
        "order_higher": "높을수록 좋음",
        "order_lower": "낮을수록 좋음",
        "order_neutral": "참고용",
        "no_ranking": "자치구별 값이 없어 순위를 낼 수 없습니다.",
        "missing": "값이 없는 자치구",
        "definition": "정의와 출처",
        "formula": "계산식",
        "inputs": "입력 통계",
        "unit": "단위",
        "direction": "방향",
        "periodicity": "주기",
        "standard": "기준",
        "sdg": "SDG 연계",
        "pack": "지표 묶음",
        "pack_note": "출처 설명",
        "visibility": "공개 범위",
        "public": "공개",
        "internal": "내부",
        "downloads": "자료 내려받기",
        "download_selection": "현재 선택 ({area})",
        "download_all": "전체 지역",
        "restricted": "내부 지표입니다. 담당 자치구의 값만 볼 수 있어 이 지역의 값은 "
        "표시하지 않습니다.",
        "chart_hidden": "그래프와 같은 내용이 아래 표에 있습니다.",
        "month": "월",
        "quarter": "분기",
        "year": "연",
        "higher_is_better": "높을수록 좋음",
        "lower_is_better": "낮을수록 좋음",
        "target_range": "목표 범위 안이 좋음",
        "neutral": "좋고 나쁨 없음 (참고용)",
        "status_on_track": "순항",
        "status_at_risk": "주의",
        "status_off_track": "부진",
        "status_achieved": "달성",
        "status_no_data": "자료 없음",
    },
    "en": {
        "filters": "Filters",
        "area": "Area",
        "sex": "Sex",
        "age": "Age band",
        "from": "From month",
        "to": "To month",
        "total": "All",
        "male": "Men",
        "female": "Women",
        "trend": "Trend",
        "ranking": "District ranking",
        "views": "Views",
        "series_caption": "{name} in {area} over time ({unit})",
        "period": "Period",
        "value": "Value",
        "target": "Target",
        "target_line": "Pledge {number} target {value} by {date}",
        "no_series": "No values have been computed for this selection yet. Change the filters "
        "or compute them with `citymeter indicators compute`.",
        "by_sex": "By sex ({period})",
        "by_age": "By age band ({period})",
        "pyramid_caption": "{name} by age band and sex ({period})",
        "age_band": "Age band",
        "no_breakdown": "This indicator has no values of this breakdown for the period.",
        "rank": "Rank",
        "district": "District",
        "ranking_caption": "Districts ranked ({period}, {order})",
        "order_higher": "higher is better",
        "order_lower": "lower is better",
        "order_neutral": "for context only",
        "no_ranking": "There are no district values to rank.",
        "missing": "Districts without a value",
        "definition": "Definition and sources",
        "formula": "Formula",
        "inputs": "Input statistics",
        "unit": "Unit",
        "direction": "Direction",
        "periodicity": "Periodicity",
        "standard": "Standard",
        "sdg": "SDG links",
        "pack": "Indicator pack",
        "pack_note": "Source note",
        "visibility": "Visibility",
        "public": "public",
        "internal": "internal",
        "downloads": "Download the data",
        "download_selection": "This selection ({area})",
        "download_all": "All areas",
        "restricted": "This is an internal indicator: you see your own district's values only, so "
        "this area's values are not shown.",
        "chart_hidden": "The table below holds the same figures as the chart.",
        "month": "monthly",
        "quarter": "quarterly",
        "year": "yearly",
        "higher_is_better": "higher is better",
        "lower_is_better": "lower is better",
        "target_range": "best within the target range",
        "neutral": "neither better nor worse (context)",
        "status_on_track": "on track",
        "status_at_risk": "at risk",
        "status_off_track": "off track",
        "status_achieved": "achieved",
        "status_no_data": "no data",
    },
}
SEXES = {"F": "female", "M": "male", "female": "female", "male": "male", "total": "total"}
VIEWS = ("trend", "ranking")


def _month(text: str | None, name: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(f"{text}-01" if len(text) == 7 else text).replace(day=1)
    except ValueError:
        raise InvalidInput(f"{name} is a month as YYYY-MM, not {text!r}.") from None


def _sex(text: str | None) -> str:
    if not text:
        return "total"
    if text not in SEXES:
        raise InvalidInput(f"sex is F or M, not {text!r}.")
    return SEXES[text]


def _chart_data(page: portal.IndicatorPage, f: web.Formatter, t: dict[str, str]) -> dict[str, Any]:
    series = page.series
    name = (
        page.definition.names.ko
        if f.lang == "ko" and page.definition.names.ko
        else page.definition.names.en
    )
    data: dict[str, Any] = {
        "unit": page.definition.unit,
        "name": name,
        "trend": {
            "labels": [f.period(v.period_start, v.grain) for v in series],
            "values": [v.value for v in series],
            "targets": [
                {"label": _target_label(x, f, t), "value": x.target_value} for x in page.targets
            ],
        },
    }  # fmt: skip
    if page.by_sex:
        data["sex"] = {
            "labels": [t.get(v.sex, v.sex) for v in page.by_sex],
            "values": [v.value for v in page.by_sex],
        }
    if page.by_age:
        bands = sorted({v.age_band for v in page.by_age}, key=_band_order)
        cell = {(v.age_band, v.sex): v.value for v in page.by_age}
        data["pyramid"] = {
            "labels": bands,
            "male": [cell.get((b, "male")) for b in bands],
            "female": [cell.get((b, "female")) for b in bands],
            "total": [cell.get((b, "total")) for b in bands],
            "names": {"male": t["male"], "female": t["female"], "total": t["total"]},
        }
    if page.ranking is not None:
        ranked = [r for r in page.ranking.ranked if r.value is not None]
        data["ranking"] = {
            "labels": [r.area_name for r in ranked],
            "values": [r.value for r in ranked],
        }
    return data


def _target_label(x: portal.PledgeTarget, f: web.Formatter, t: dict[str, str]) -> str:
    return t["target_line"].format(
        number=x.number, value=f.smart(x.target_value), date=f.date(x.target_date)
    )


def _band_order(band: str) -> tuple[int, str]:
    digits = "".join(ch if ch.isdigit() else " " for ch in band).split()
    return (int(digits[0]) if digits else 999, band)


def _age_rows(page: portal.IndicatorPage) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for v in page.by_age:
        rows.setdefault(v.age_band, {"band": v.age_band})[v.sex] = v
    return [rows[b] for b in sorted(rows, key=_band_order)]


@router.get("/indicators/{code}", response_class=HTMLResponse)
def indicator_page(
    request: Request,
    code: str,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
    city: str | None = Query(None, max_length=40),
    pack: str | None = Query(None, max_length=80),
    area: str | None = Query(None, max_length=40),
    sex: str | None = Query(None, max_length=8),
    age: str | None = Query(None, max_length=16),
    period_from: str | None = Query(None, alias="from", max_length=10),
    period_to: str | None = Query(None, alias="to", max_length=10),
    view: str = Query("trend", max_length=16),
) -> HTMLResponse:
    language = locale.language(lang)
    text = TEXT[language]
    ctx = web.context(request, session, viewer, language, text, tz=settings.timezone)
    try:
        chosen_view = view if view in VIEWS else "trend"
        page = portal.indicator_page(
            session, viewer, code, min_count=settings.public_min_count, lang=language,
            city_code=city, pack=pack, area_code=area, sex=_sex(sex), age_band=age or "total",
            period_from=_month(period_from, "from"), period_to=_month(period_to, "to"),
        )  # fmt: skip
    except CityMeterError as exc:
        return web.error_page(request, ctx, exc)
    f: web.Formatter = ctx["f"]
    d = page.definition
    name = d.names.ko if language == "ko" and d.names.ko else d.names.en
    area_label = f.area(page.area)
    ctx["t"] = {**ctx["t"], "order_text": _order(d.direction, ctx["t"])}
    ctx.update(
        {
            "page": page,
            "d": d,
            "name": name,
            "area_label": area_label,
            "view": chosen_view,
            "views": VIEWS,
            "chart_json": json.dumps(_chart_data(page, f, ctx["t"]), ensure_ascii=False),
            "age_rows": _age_rows(page),
            "age_bands": sorted({v.age_band for v in page.by_age}, key=_band_order),
            "formula": page.loaded.formulas[d.code],
            "selected": {
                "area": page.area.code,
                "sex": {"female": "F", "male": "M"}.get(page.sex, ""),
                "age": age or "",
                "from": period_from or "",
                "to": period_to or "",
            },
            "download_base": f"/indicators/{d.code}/data",
        }
    )
    return web.render(request, "indicator_page.html", ctx)


def _order(direction: str, t: dict[str, str]) -> str:
    return {
        "higher_is_better": t["order_higher"],
        "lower_is_better": t["order_lower"],
    }.get(direction, t["order_neutral"])


@router.get("/indicators/{code}/data.{fmt}")
def indicator_download(
    request: Request,
    code: str,
    fmt: str,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    city: str | None = Query(None, max_length=40),
    pack: str | None = Query(None, max_length=80),
    area: str | None = Query(None, max_length=40),
    sex: str | None = Query(None, max_length=8),
    age: str | None = Query(None, max_length=16),
    period_from: str | None = Query(None, alias="from", max_length=10),
    period_to: str | None = Query(None, alias="to", max_length=10),
    grain: str | None = Query(None, max_length=8),
) -> Response:
    """The selection's values as the viewer may see them; suppressed cells say why."""
    if fmt not in ("csv", "json", "xlsx"):
        raise InvalidInput(f"Download as csv, json or xlsx, not {fmt!r}.")
    the_city = access.city_for(session, city)
    loaded, definition = portal.definition(code, pack, viewer)
    views = portal.values_for(
        session, viewer, code, min_count=settings.public_min_count, pack=loaded.pack.id,
        city=the_city.code, area=area or None, sex=_sex(sex) if sex else None,
        age_band=age or None, period_from=_month(period_from, "from"),
        period_to=_month(period_to, "to"), grain=grain or None,
    )  # fmt: skip
    body, media_type = export.render(views, fmt, definition)
    filename = f"{code}{'-' + area if area else ''}.{fmt}"
    return Response(
        body, media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )  # fmt: skip
