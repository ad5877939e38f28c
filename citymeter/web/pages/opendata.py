"""Pages: open data — every public indicator with values and every live dataset (entity type),
each downloadable as CSV, JSON or XLSX — and /api-docs, the API reference rendered here from the
OpenAPI schema (FastAPI's own docs pages load scripts from a CDN; CityMeter works offline)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from citymeter.errors import CityMeterError
from citymeter.portal import access, locale, opendata, web
from citymeter.portal import indicators as portal_indicators
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "title": "공공데이터",
        "intro": "누구나 내려받아 쓸 수 있는 공개 자료입니다. 내부 지표와 개인정보는 없고, "
        "{n}명 미만의 자료로 계산된 값은 이유와 함께 비워 둡니다.",
        "indicators": "공개 지표",
        "indicators_caption": "공개 지표와 내려받기 (값 {n}개 지표)",
        "pack": "지표 묶음",
        "indicator": "지표",
        "unit": "단위",
        "periodicity": "주기",
        "value_count": "값 수",
        "download": "내려받기",
        "no_indicators": "아직 계산된 공개 지표가 없습니다.",
        "uncomputed": "정의되었지만 아직 값이 없는 공개 지표: {n}개",
        "datasets": "실시간 데이터셋",
        "datasets_caption": "유형별 실시간 데이터 (공개 항목만)",
        "dataset": "데이터셋",
        "description": "설명",
        "entities": "항목 수",
        "attributes": "속성",
        "no_datasets": "아직 공개된 실시간 데이터가 없습니다.",
        "api": "API",
        "api_text": "같은 자료를 JSON API로도 받을 수 있습니다. 엔드포인트와 매개변수는 API 문서에 "
        "있습니다.",
        "api_link": "API 문서 보기",
        "schema_link": "OpenAPI 스키마 (JSON)",
        "month": "월",
        "quarter": "분기",
        "year": "연",
        "docs_title": "API 문서",
        "docs_intro": "CityMeter JSON API의 모든 엔드포인트입니다. 오류는 application/problem+json "
        "으로 돌려줍니다. 기계가 읽는 스키마: ",
        "parameters": "매개변수",
        "name": "이름",
        "where": "위치",
        "type": "형식",
        "required": "필수",
        "body": "요청 본문",
        "responses": "응답",
        "schemas": "자료 형식",
        "fields": "필드",
        "auth": "권한",
        "public": "누구나",
        "endpoints": "엔드포인트 {n}개",
        "contents": "목차",
    },
    "en": {
        "title": "Open data",
        "intro": "Public data anyone may download and reuse. No internal indicator and no "
        "personal data; a value computed from fewer than {n} people is left empty with the "
        "reason.",
        "indicators": "Public indicators",
        "indicators_caption": "Public indicators and downloads ({n} indicators with values)",
        "pack": "Pack",
        "indicator": "Indicator",
        "unit": "Unit",
        "periodicity": "Periodicity",
        "value_count": "Values",
        "download": "Download",
        "no_indicators": "No public indicator has been computed yet.",
        "uncomputed": "Public indicators defined but without values yet: {n}",
        "datasets": "Live datasets",
        "datasets_caption": "Live data by type (public items only)",
        "dataset": "Dataset",
        "description": "Description",
        "entities": "Items",
        "attributes": "Attributes",
        "no_datasets": "No live data has been published yet.",
        "api": "API",
        "api_text": "The same data is served by the JSON API; its endpoints and parameters are in "
        "the API documentation.",
        "api_link": "Read the API documentation",
        "schema_link": "OpenAPI schema (JSON)",
        "month": "monthly",
        "quarter": "quarterly",
        "year": "yearly",
        "docs_title": "API documentation",
        "docs_intro": "Every endpoint of CityMeter's JSON API. Errors come as "
        "application/problem+json. The machine-readable schema: ",
        "parameters": "Parameters",
        "name": "Name",
        "where": "In",
        "type": "Type",
        "required": "Required",
        "body": "Request body",
        "responses": "Responses",
        "schemas": "Data shapes",
        "fields": "Fields",
        "auth": "Access",
        "public": "anyone",
        "endpoints": "{n} endpoints",
        "contents": "Contents",
    },
}


@router.get("/open-data", response_class=HTMLResponse)
def open_data(
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
        current="/open-data",
    )  # fmt: skip
    ctx["min_count"] = settings.public_min_count
    try:
        the_city = access.city_for(session, city)
    except CityMeterError as exc:
        return web.error_page(request, ctx, exc)
    entries, without = portal_indicators.public_catalogue(session, the_city)
    ctx.update(
        {
            "entries": entries,
            "without": without,
            "datasets": opendata.datasets(session),
            "openapi_url": request.app.openapi_url,
        }
    )
    return web.render(request, "opendata_page.html", ctx)


@router.get("/open-data/datasets/{entity_type}.{fmt}")
def dataset_download(
    entity_type: str, fmt: str, session: SessionDep, viewer: PublicViewer
) -> Response:
    """One live dataset, public entities only, whoever asks."""
    body, media_type = opendata.export_dataset(session, entity_type, fmt)
    return Response(
        body, media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{entity_type}.{fmt}"'},
    )  # fmt: skip


# ------------------------------------------------------------------ API documentation

METHODS = ("get", "post", "put", "patch", "delete")


def _type(schema: dict[str, Any] | None) -> str:
    """A schema in a few words: string, integer, array of Incident, Incident | null."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " | ".join(_type(s) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type(schema.get('items'))}"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return f"object of {_type(extra)}" if isinstance(extra, dict) else "object"
    text = str(kind or schema.get("title") or "any")
    if "format" in schema:
        text += f" ({schema['format']})"
    if "enum" in schema:
        text += ": " + ", ".join(map(str, schema["enum"]))
    return text


def _body(operation: dict[str, Any]) -> list[tuple[str, str]]:
    content = (operation.get("requestBody") or {}).get("content") or {}
    return [(media, _type(spec.get("schema"))) for media, spec in content.items()]


def _responses(operation: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for code, spec in sorted((operation.get("responses") or {}).items()):
        content = spec.get("content") or {}
        shapes = ", ".join(f"{_type(s.get('schema'))} ({m})" for m, s in content.items())
        out.append((str(code), str(spec.get("description", "")), shapes))
    return out


def api_reference(schema: dict[str, Any]) -> dict[str, Any]:
    """Endpoints grouped by tag, and the component schemas, ready to render."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [
                {
                    "name": p.get("name"),
                    "in": p.get("in"),
                    "required": bool(p.get("required")),
                    "type": _type(p.get("schema")),
                    "description": p.get("description")
                    or (p.get("schema") or {}).get("description", ""),
                }
                for p in operation.get("parameters", []) + item.get("parameters", [])
            ]
            entry = {
                "id": (operation.get("operationId") or f"{method}-{path}").replace("/", "-"),
                "method": method.upper(),
                "path": path,
                "summary": operation.get("summary") or "",
                "description": operation.get("description") or "",
                "parameters": parameters,
                "body": _body(operation),
                "responses": _responses(operation),
            }
            for tag in operation.get("tags") or ["other"]:
                groups.setdefault(tag, []).append(entry)
    shapes = []
    for name, spec in sorted((schema.get("components", {}).get("schemas") or {}).items()):
        required = set(spec.get("required", []))
        fields = [
            (field, _type(s), field in required, s.get("description", ""))
            for field, s in (spec.get("properties") or {}).items()
        ]
        shapes.append({"name": name, "description": spec.get("description", ""), "fields": fields})
    total = sum(len(v) for v in groups.values())
    return {"groups": sorted(groups.items()), "shapes": shapes, "total": total}


@router.get("/api-docs", response_class=HTMLResponse)
def api_docs(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    lang: str | None = Query(None, max_length=8),
) -> HTMLResponse:
    language = locale.language(lang)
    ctx = web.context(
        request, session, viewer, language, TEXT[language], tz=settings.timezone,
        current="/api-docs",
    )  # fmt: skip
    schema = request.app.openapi()
    ctx.update(
        {
            "api": api_reference(schema),
            "info": schema.get("info", {}),
            "openapi_url": request.app.openapi_url,
        }
    )
    return web.render(request, "apidocs_page.html", ctx)
