"""Pages: the public certificate registry and the verification page of one certificate, in
Korean and English (?lang=, then the language switch's cookie)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from citymeter.assessment import certificates
from citymeter.errors import NotFound
from citymeter.web import i18n
from citymeter.web.deps import PublicViewer, SessionDep

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "registry": "인증서 등록부",
        "registry_intro": "회차와 인구 구분별로 인증받은 도시입니다. 번호를 누르면 인증서를 "
        "확인할 수 있습니다.",
        "round": "회차",
        "class": "구분",
        "all": "전체",
        "filter": "보기",
        "count": "인증서 {n}건",
        "number": "번호",
        "city": "도시",
        "result": "수준 / 등급",
        "issued": "발급일",
        "expires": "만료일",
        "status": "상태",
        "none": "아직 발급된 인증서가 없습니다.",
        "certificate": "인증서 {number}",
        "valid": "유효한 인증서입니다.",
        "expired": "만료된 인증서입니다.",
        "withdrawn": "취소된 인증서입니다.",
        "status_valid": "유효",
        "status_expired": "만료",
        "status_withdrawn": "취소",
        "scheme": "인증 체계",
        "scope": "범위",
        "class_of": "구분 {class_id}",
        "surveillance": "다음 사후 심사",
        "withdrawn_because": "취소 사유",
        "no_such": "없는 인증서",
        "no_such_text": "{number} 번호의 인증서가 없습니다. 번호를 확인하거나 등록부를 보세요.",
        "all_certificates": "전체 인증서",
        "other_language": "English",
    },
    "en": {
        "registry": "Certificate registry",
        "registry_intro": "Cities certified in each round, by population class. Follow a number "
        "to verify a certificate.",
        "round": "Round",
        "class": "Class",
        "all": "All",
        "filter": "Filter",
        "count": "{n} certificate(s)",
        "number": "Number",
        "city": "City",
        "result": "Level / grade",
        "issued": "Issued",
        "expires": "Expires",
        "status": "Status",
        "none": "No certificates yet.",
        "certificate": "Certificate {number}",
        "valid": "This certificate is valid.",
        "expired": "This certificate has expired.",
        "withdrawn": "This certificate was withdrawn.",
        "status_valid": "valid",
        "status_expired": "expired",
        "status_withdrawn": "withdrawn",
        "scheme": "Scheme",
        "scope": "Scope",
        "class_of": "class {class_id}",
        "surveillance": "Next surveillance audit",
        "withdrawn_because": "Withdrawn because",
        "no_such": "No such certificate",
        "no_such_text": "No certificate is numbered {number}. Check the number, or see the "
        "registry.",
        "all_certificates": "All certificates",
        "other_language": "한국어",
    },
}


def _words(request: Request, lang: str | None) -> dict[str, Any]:
    language = i18n.pick_language(request, lang)
    return {
        "lang": language,
        "other_lang": i18n.other_language(language),
        "t": TEXT[language],
    }


@router.get("/certificates", response_class=HTMLResponse)
def registry(
    request: Request,
    session: SessionDep,
    viewer: PublicViewer,
    round: str | None = Query(None, max_length=80),
    class_: str | None = Query(None, alias="class", max_length=40),
    lang: str | None = Query(None, max_length=8),
) -> HTMLResponse:
    every = certificates.registry(session)
    entries = [
        c
        for c in every
        if (not round or c.round_code == round) and (not class_ or c.class_id == class_)
    ]
    # The filters offer what the registry holds, so nobody has to guess a round code.
    rounds = {c.round_code: c.round_name for c in every}
    classes = sorted({c.class_id for c in every if c.class_id})
    return templates.TemplateResponse(
        request,
        "certificate_registry.html",
        {
            **_words(request, lang),
            "entries": entries,
            "round": round,
            "class_id": class_,
            "rounds": rounds,
            "classes": classes,
            "viewer": viewer,
        },
    )


@router.get("/certificates/{number}", response_class=HTMLResponse)
def verification(
    request: Request,
    number: str,
    session: SessionDep,
    viewer: PublicViewer,
    lang: str | None = Query(None, max_length=8),
) -> HTMLResponse:
    words = _words(request, lang)
    try:
        found = certificates.verify(session, number)
    except NotFound:
        return templates.TemplateResponse(
            request,
            "certificate_verify.html",
            {**words, "certificate": None, "number": number, "viewer": viewer},
            status_code=404,
        )
    return templates.TemplateResponse(
        request,
        "certificate_verify.html",
        {**words, "certificate": found, "number": number, "viewer": viewer},
    )
