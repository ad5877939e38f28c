"""Pages: running a certification round in the browser, end to end.

The certification body opens rounds, assigns assessors, sees the committee view, decides and runs
certificates (issue, surveillance, extension, withdrawal); a city's coordinator applies, fills the
self-assessment, uploads evidence and submits; an assessor declares conflicts of interest and
scores their assignments per stage. Every form posts to a route here that calls the same service
functions as the API, so the same rules, checks and ledger entries apply. Forms carry the
session's CSRF token (checked by the route's dependency, see citymeter/web/deps.py).

A failed form shows the page again with the error, nothing of it saved; a successful one
redirects back to the page (post/redirect/get).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from citymeter.accounts.permissions import APPLICATIONS_WRITE, ASSESSMENTS_SCORE, Viewer
from citymeter.assessment import (
    applications,
    assessing,
    certificates,
    evidence,
    reports,
    rounds,
)
from citymeter.assessment.access import (
    applicant_application,
    is_applicant,
    is_assigned,
    is_certification_body,
    visible_application,
)
from citymeter.assessment.loader import list_frameworks, shipped_frameworks
from citymeter.assessment.models import Application, CertificateRecord
from citymeter.assessment.schema import Framework, LevelScale
from citymeter.errors import CityMeterError, InvalidInput, NotFound
from citymeter.places.models import City
from citymeter.settings import Settings
from citymeter.web import csrf, i18n
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep

router = APIRouter(prefix="/certification", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

LANGUAGES = ("ko", "en")

TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "title": "인증 평가",
        "other_language": "English",
        "logout": "로그아웃",
        "rounds": "평가 회차",
        "open_round": "회차 열기",
        "code": "코드",
        "name": "이름",
        "framework": "인증 체계",
        "opens": "시작일",
        "closes": "마감일",
        "classes": "구분 (쉼표로 구분, 비우면 전체)",
        "status": "상태",
        "applications": "신청",
        "open": "열기",
        "close_round": "회차 마감",
        "reminders": "다가오는 일정 (90일)",
        "due": "기한",
        "what": "내용",
        "overdue": "기한 지남",
        "my_applications": "우리 도시의 신청",
        "apply": "신청하기",
        "population": "인구 (비우면 등록된 인구)",
        "consent": "공개 비교에 동의",
        "assignments": "배정된 심사",
        "declare_conflict": "이해충돌 신고",
        "city_code": "도시 코드",
        "reason": "사유",
        "save": "저장",
        "city": "도시",
        "class": "구분",
        "result": "결과",
        "certified": "인증",
        "flags": "의견 차이",
        "certificate": "인증서",
        "application": "신청서",
        "self_assessment": "자체 평가",
        "element": "평가 요소",
        "claimed": "자체 평가 수준/점수",
        "justification": "근거",
        "measured": "측정값",
        "origin": "출처",
        "prefill": "지표 값으로 채우기",
        "override": "값 직접 입력 (사유 필수)",
        "value": "값",
        "evidence": "증빙 자료",
        "upload": "올리기",
        "file": "파일",
        "elements": "관련 요소 (쉼표로 구분)",
        "completeness": "제출 전 확인",
        "complete": "빠진 것이 없습니다. 제출할 수 있습니다.",
        "submit": "제출",
        "submitted": "제출됨",
        "report": "평가 보고서",
        "report_html": "HTML",
        "report_pdf": "PDF",
        "score": "채점",
        "stage": "단계",
        "comment": "의견",
        "evidence_refs": "증빙 참조 (document:번호, indicator:코드)",
        "no_conflict": "이 도시와 이해충돌이 없음을 확인합니다.",
        "site_visit": "현장 방문 기록",
        "visited_on": "방문일",
        "people": "면담자 (쉼표로 구분)",
        "findings": "확인 사항",
        "committee": "위원회",
        "scores": "점수",
        "aggregate": "종합",
        "spread": "편차",
        "missing": "아직 점수가 없는 요소",
        "assign": "심사원 배정",
        "assessor": "심사원 사용자 이름",
        "decide": "결정",
        "reasons": "결정 사유",
        "reopen": "재심 (사유 기록)",
        "issue": "인증서 발급",
        "scope": "범위 (비우면 기본값)",
        "issued_on": "발급일 (비우면 오늘)",
        "surveillance": "사후 심사",
        "record_surveillance": "사후 심사 기록",
        "outcome": "결과",
        "done_on": "실시일",
        "renew": "연장",
        "withdraw": "인증 취소",
        "expires": "만료일",
        "renewal_due": "연장 신청 기한",
        "verify_page": "공개 확인 페이지",
        "none": "없음",
        "done": "저장했습니다.",
        "back": "돌아가기",
        "decision": "결정",
        "not_certified": "인증 안 됨",
        "provisional": "잠정 결과",
        "visits": "현장 방문",
    },
    "en": {
        "title": "Certification",
        "other_language": "한국어",
        "logout": "Log out",
        "rounds": "Rounds",
        "open_round": "Open a round",
        "code": "Code",
        "name": "Name",
        "framework": "Scheme",
        "opens": "Opens",
        "closes": "Deadline",
        "classes": "Classes (comma-separated, empty for all)",
        "status": "Status",
        "applications": "Applications",
        "open": "Open",
        "close_round": "Close the round",
        "reminders": "Coming due (90 days)",
        "due": "Due",
        "what": "What",
        "overdue": "overdue",
        "my_applications": "Our city's applications",
        "apply": "Apply",
        "population": "Population (empty: the registered one)",
        "consent": "Consent to public benchmarking",
        "assignments": "My assignments",
        "declare_conflict": "Declare a conflict of interest",
        "city_code": "City code",
        "reason": "Reason",
        "save": "Save",
        "city": "City",
        "class": "Class",
        "result": "Result",
        "certified": "Certified",
        "flags": "Disagreement",
        "certificate": "Certificate",
        "application": "Application",
        "self_assessment": "Self-assessment",
        "element": "Element",
        "claimed": "Claimed level / points",
        "justification": "Justification",
        "measured": "Measured value",
        "origin": "Origin",
        "prefill": "Pre-fill from indicators",
        "override": "Enter a value yourself (reason required)",
        "value": "Value",
        "evidence": "Evidence",
        "upload": "Upload",
        "file": "File",
        "elements": "Elements (comma-separated)",
        "completeness": "Before submitting",
        "complete": "Nothing is missing: the application can be submitted.",
        "submit": "Submit",
        "submitted": "Submitted",
        "report": "Assessment report",
        "report_html": "HTML",
        "report_pdf": "PDF",
        "score": "Score",
        "stage": "Stage",
        "comment": "Comment",
        "evidence_refs": "Evidence (document:id, indicator:code)",
        "no_conflict": "I confirm I have no conflict of interest with this city.",
        "site_visit": "Site visit record",
        "visited_on": "Visited on",
        "people": "People interviewed (comma-separated)",
        "findings": "Findings",
        "committee": "Committee",
        "scores": "Scores",
        "aggregate": "Committee",
        "spread": "Spread",
        "missing": "Elements without a score yet",
        "assign": "Assign an assessor",
        "assessor": "Assessor's username",
        "decide": "Decide",
        "reasons": "Reasons",
        "reopen": "Reopen (reason recorded)",
        "issue": "Issue the certificate",
        "scope": "Scope (empty: the default)",
        "issued_on": "Issue date (empty: today)",
        "surveillance": "Surveillance audits",
        "record_surveillance": "Record a surveillance audit",
        "outcome": "Outcome",
        "done_on": "Done on",
        "renew": "Extend",
        "withdraw": "Withdraw",
        "expires": "Expires",
        "renewal_due": "Extension request due",
        "verify_page": "Public verification page",
        "none": "None",
        "done": "Saved.",
        "back": "Back",
        "decision": "Decision",
        "not_certified": "Not certified",
        "provisional": "Provisional result",
        "visits": "Site visits",
    },
}


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    accept = request.headers.get("accept-language", "").strip().lower()
    return "en" if accept.startswith("en") else "ko"


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _back(request: Request, path: str) -> RedirectResponse:
    """After a successful form: back to a page, keeping the language, with a notice."""
    return RedirectResponse(f"{path}?{urlencode({'lang': _lang(request), 'done': 1})}", 303)


def _render(
    request: Request,
    viewer: Viewer,
    template: str,
    context: dict[str, Any],
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = _lang(request)
    base: dict[str, Any] = {
        "lang": lang,
        "other_lang": i18n.other_language(lang),
        "t": TEXT[lang],
        "viewer": viewer,
        "csrf_token": csrf.session_token(request) or "",
        "error": error,
        "done": request.query_params.get("done") == "1" and error is None,
        "is_body": is_certification_body(viewer),
    }
    return templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )


class PageFn(Protocol):
    """Renders a page, with the error of a failed form when there is one."""

    def __call__(self, error: str | None = None, status_code: int = 200) -> Response: ...


def _attempt(session: Session, action: Callable[[], Response], page: PageFn) -> Response:
    """Run a form's action; on a CityMeter error nothing of it is kept and the page is shown
    again with the message."""
    try:
        with session.begin_nested():  # a savepoint: an error undoes this form's changes only
            return action()
    except CityMeterError as exc:
        return page(exc.message, exc.status)


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _date(text: str, what: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what}: {text!r} is not a date (YYYY-MM-DD).") from None


def _city_names(session: Session, ids: set[int]) -> dict[int, str]:
    return {i: c.name for i in ids if (c := session.get(City, i)) is not None}


# ---- overview ---------------------------------------------------------------------------------


def _home(request: Request, session: Session, viewer: Viewer) -> PageFn:
    def page(error: str | None = None, status_code: int = 200) -> Response:
        all_rounds = rounds.list_rounds(session)
        mine = applications.list_applications(session, viewer)
        now = dt.datetime.now(dt.UTC)
        context: dict[str, Any] = {
            "rounds": all_rounds,
            "counts": {r.id: sum(1 for a in mine if a.round_id == r.id) for r in all_rounds},
            "open_rounds": [
                r for r in all_rounds if r.status == "open" and r.opens_at <= now <= r.closes_at
            ],
            "frameworks": list_frameworks(),
            "applications": [a for a in mine if is_applicant(viewer, a)],
            "assignments": assessing.assignments(session, viewer),
            "reminders": certificates.due(session, viewer, 90)
            if is_certification_body(viewer)
            else [],
            "round_codes": {r.id: r.code for r in all_rounds},
            "city_names": _city_names(session, {a.city_id for a in mine}),
            "can_apply": viewer.can(APPLICATIONS_WRITE) and viewer.city_id is not None,
            "can_score": viewer.can(ASSESSMENTS_SCORE),
            "today": now.date().isoformat(),
        }
        return _render(request, viewer, "assessment_home.html", context, error, status_code)

    return page


@router.get("", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, viewer: PublicViewer) -> Response:
    if viewer.user_id is None:
        return _to_login(request)
    return _home(request, session, viewer)()


@router.post("/rounds")
async def open_round(request: Request, session: SessionDep, viewer: PublicViewer) -> Response:
    form = await request.form()

    def act() -> Response:
        framework_id = _field(form, "framework")
        if framework_id not in shipped_frameworks():
            raise InvalidInput(f"Choose a shipped framework, not {framework_id!r}.")
        opens = _date(_field(form, "opens"), "Opens")
        closes = _date(_field(form, "closes"), "Deadline")
        if closes is None:
            raise InvalidInput("Give the submission deadline.")
        spec = rounds.RoundSpec(
            code=_field(form, "code"),
            name=_field(form, "name"),
            framework=shipped_frameworks()[framework_id],
            opens_at=dt.datetime.combine(opens, dt.time(0), tzinfo=dt.UTC)
            if opens
            else dt.datetime.now(dt.UTC),
            closes_at=dt.datetime.combine(closes, dt.time(23, 59, 59), tzinfo=dt.UTC),
            classes=tuple(c.strip() for c in _field(form, "classes").split(",") if c.strip()),
        )
        made = rounds.open_round(session, viewer, spec)
        return _back(request, f"/certification/rounds/{quote(made.code)}")

    return _attempt(session, act, _home(request, session, viewer))


@router.post("/apply")
async def apply(request: Request, session: SessionDep, viewer: PublicViewer) -> Response:
    form = await request.form()

    def act() -> Response:
        city = session.get(City, viewer.city_id) if viewer.city_id else None
        if city is None:
            raise InvalidInput("Your account is not linked to a city; ask an administrator.")
        population_text = _field(form, "population")
        try:
            population = int(population_text.replace(",", "")) if population_text else None
        except ValueError:
            raise InvalidInput(f"Population {population_text!r} is not a number.") from None
        made = applications.apply(
            session,
            viewer,
            _field(form, "round"),
            city.code,
            population,
            _field(form, "consent") == "yes",
        )
        return _back(request, f"/certification/applications/{made.id}")

    return _attempt(session, act, _home(request, session, viewer))


@router.post("/conflicts")
async def declare_conflict(request: Request, session: SessionDep, viewer: PublicViewer) -> Response:
    form = await request.form()

    def act() -> Response:
        assessing.declare_conflict(session, viewer, _field(form, "city"), _field(form, "reason"))
        return _back(request, "/certification")

    return _attempt(session, act, _home(request, session, viewer))


# ---- a round ------------------------------------------------------------------------------------


def _round(request: Request, session: Session, viewer: Viewer, code: str) -> PageFn:
    def page(error: str | None = None, status_code: int = 200) -> Response:
        round_ = rounds.get_round(session, code)
        framework = rounds.framework_of(round_)
        rows: list[dict[str, Any]] = []
        listed = applications.list_applications(session, viewer, code)
        for a in listed:
            view = assessing.committee_view(session, viewer, a.id)
            decision = assessing.current_decision(session, a.id)
            certificate = session.scalar(
                select(CertificateRecord.number)
                .where(CertificateRecord.application_id == a.id)
                .order_by(CertificateRecord.id.desc())
                .limit(1)
            )
            rows.append(
                {
                    "application": a,
                    "result": decision.result
                    if decision
                    else (view.result_label if view.complete else ""),
                    "certified": decision.certified if decision else None,
                    "flags": view.flagged,
                    "certificate": certificate,
                }
            )
        context = {
            "round": round_,
            "framework": framework,
            "rows": rows,
            "city_names": _city_names(session, {a.city_id for a in listed}),
        }
        return _render(request, viewer, "assessment_round.html", context, error, status_code)

    return page


@router.get("/rounds/{code}", response_class=HTMLResponse)
def round_page(request: Request, code: str, session: SessionDep, viewer: PublicViewer) -> Response:
    if viewer.user_id is None:
        return _to_login(request)
    if not is_certification_body(viewer):
        raise NotFound(f"No round page {code!r} for you; see /certification.")
    return _round(request, session, viewer, code)()


@router.post("/rounds/{code}/close")
def close_round(request: Request, code: str, session: SessionDep, viewer: PublicViewer) -> Response:
    def act() -> Response:
        rounds.close_round(session, viewer, code)
        return _back(request, f"/certification/rounds/{quote(code)}")

    return _attempt(session, act, _round(request, session, viewer, code))


# ---- an application -----------------------------------------------------------------------------


def _scale(framework: Framework) -> list[tuple[str, str]]:
    if isinstance(framework.scale, LevelScale):
        return [(str(lv.value), f"{lv.code} ({lv.label})") for lv in framework.scale.levels]
    return []


def _application(request: Request, session: Session, viewer: Viewer, application_id: int) -> PageFn:
    def page(error: str | None = None, status_code: int = 200) -> Response:
        application = visible_application(session, viewer, application_id)
        round_ = applications.round_of(session, application)
        framework = rounds.framework_of(round_)
        city = session.get(City, application.city_id)
        own = is_applicant(viewer, application) or is_certification_body(viewer)
        decision = assessing.current_decision(session, application.id)
        scoring = [s for s in framework.stages if s.kind in assessing.SCORING_KINDS]
        context = {
            "application": application,
            "round": round_,
            "framework": framework,
            "city": city,
            "elements": framework.scored_elements(),
            "items": list(framework.all_items()),
            "scale": _scale(framework),
            "entries": applications.entries(session, application.id),
            "documents": evidence.documents(session, viewer, application.id),
            "missing": applications.completeness(session, application)
            if application.status == "draft"
            else [],
            "editable": own and application.status == "draft",
            "assigned": is_assigned(session, viewer, application.id),
            "stages": scoring,
            "decision": decision,
            "report_ready": decision is not None
            or is_certification_body(viewer)
            or is_assigned(session, viewer, application.id),
            "visits": assessing.site_visits(session, viewer, application.id),
        }
        return _render(request, viewer, "assessment_application.html", context, error, status_code)

    return page


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_page(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    if viewer.user_id is None:
        return _to_login(request)
    return _application(request, session, viewer, application_id)()


@router.post("/applications/{application_id}/claims")
async def claims(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    form = await request.form()

    def act() -> Response:
        application = applicant_application(session, viewer, application_id)
        framework = applications.framework_for(session, application)
        given: dict[str, applications.Claim] = {}
        for element in framework.scored_elements():
            value = _field(form, f"claim-{element.id}")
            if not value:
                continue
            number: int | float | str
            try:
                number = float(value)
            except ValueError:
                number = value  # a level code such as "IV"; the service checks it
            given[element.id] = applications.Claim(
                number, _field(form, f"justification-{element.id}") or None
            )
        if not given:
            raise InvalidInput("Fill in at least one claimed level or points.")
        applications.claim(session, viewer, application_id, given)
        return _back(request, f"/certification/applications/{application_id}")

    return _attempt(session, act, _application(request, session, viewer, application_id))


@router.post("/applications/{application_id}/prefill")
def prefill(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    def act() -> Response:
        applications.prefill(session, viewer, application_id)
        return _back(request, f"/certification/applications/{application_id}")

    return _attempt(session, act, _application(request, session, viewer, application_id))


@router.post("/applications/{application_id}/override")
async def override(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    form = await request.form()

    def act() -> Response:
        text = _field(form, "value")
        try:
            value = float(text)
        except ValueError:
            raise InvalidInput(f"The value {text!r} is not a number.") from None
        applications.override(
            session,
            viewer,
            application_id,
            _field(form, "element"),
            value,
            _field(form, "reason"),
            _field(form, "unit") or None,
        )
        return _back(request, f"/certification/applications/{application_id}")

    return _attempt(session, act, _application(request, session, viewer, application_id))


@router.post("/applications/{application_id}/evidence")
async def upload_evidence(
    request: Request,
    application_id: int,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PublicViewer,
) -> Response:
    form = await request.form()
    file = form.get("file")
    try:
        return _attempt(
            session,
            lambda: _upload(request, session, viewer, settings, application_id, form, file),
            _application(request, session, viewer, application_id),
        )
    finally:
        await form.close()


def _upload(
    request: Request,
    session: Session,
    viewer: Viewer,
    settings: Settings,
    application_id: int,
    form: Any,
    file: Any,
) -> Response:
    if not isinstance(file, UploadFile) or not file.filename:
        raise InvalidInput("Choose a file to upload.")
    # Read one byte past the limit so an oversized file is refused without reading it all.
    content = file.file.read(settings.evidence_max_bytes + 1)
    document = _field(form, "document")
    evidence.upload(
        session,
        viewer,
        application_id,
        _field(form, "title"),
        evidence.Upload(file.filename, content),
        settings.data_dir,
        settings.evidence_max_bytes,
        [e.strip() for e in _field(form, "elements").split(",") if e.strip()],
        int(document) if document.isdigit() else None,
    )
    return _back(request, f"/certification/applications/{application_id}")


@router.post("/applications/{application_id}/submit")
def submit(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    def act() -> Response:
        applications.submit(session, viewer, application_id)
        return _back(request, f"/certification/applications/{application_id}")

    return _attempt(session, act, _application(request, session, viewer, application_id))


@router.get("/applications/{application_id}/report")
def report(
    request: Request,
    application_id: int,
    session: SessionDep,
    viewer: PublicViewer,
    format: str = "html",
) -> Response:
    """The report page (or its PDF): for whoever may see the application, as the API decides."""
    if viewer.user_id is None:
        return _to_login(request)
    lang = _lang(request)
    made = reports.assessment_report(session, viewer, application_id)
    if reports.check_format(format) == "pdf":
        from citymeter.assessment import pdf

        return Response(
            pdf.report_pdf(made, lang),
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="assessment-report-{application_id}.pdf"'
            },
        )
    return HTMLResponse(reports.report_html(made, lang))


# ---- scoring ------------------------------------------------------------------------------------


def _scoring(
    request: Request, session: Session, viewer: Viewer, application_id: int, stage_id: str
) -> PageFn:
    def page(error: str | None = None, status_code: int = 200) -> Response:
        application = visible_application(session, viewer, application_id)
        if not is_assigned(session, viewer, application.id):
            raise NotFound(f"No assignment {application_id} of yours.")
        framework = applications.framework_for(session, application)
        stages = [s for s in framework.stages if s.kind in assessing.SCORING_KINDS]
        stage = next((s for s in stages if s.id == stage_id), None)
        if stage is None:
            raise NotFound(f"{stage_id!r} is not a scoring stage of {framework.name}.")
        mine = {
            row.element_id: row
            for row in assessing.own_scores(session, viewer, application.id, stage.id)
        }
        context = {
            "application": application,
            "framework": framework,
            "city": session.get(City, application.city_id),
            "stage": stage,
            "stages": stages,
            "elements": framework.scored_elements(),
            "scale": _scale(framework),
            "mine": mine,
            "entries": applications.entries(session, application.id),
            "conflict": viewer.user_id is not None
            and assessing.has_conflict(session, viewer.user_id, application.city_id),
        }
        return _render(request, viewer, "assessment_score.html", context, error, status_code)

    return page


@router.get("/applications/{application_id}/score/{stage_id}", response_class=HTMLResponse)
def scoring_page(
    request: Request,
    application_id: int,
    stage_id: str,
    session: SessionDep,
    viewer: PublicViewer,
) -> Response:
    if viewer.user_id is None:
        return _to_login(request)
    return _scoring(request, session, viewer, application_id, stage_id)()


@router.post("/applications/{application_id}/score/{stage_id}")
async def score(
    request: Request,
    application_id: int,
    stage_id: str,
    session: SessionDep,
    viewer: PublicViewer,
) -> Response:
    form = await request.form()

    def act() -> Response:
        if _field(form, "no_conflict") != "yes":
            raise InvalidInput(
                "Confirm that you have no conflict of interest with this city before scoring "
                "(or declare the conflict: you will not score it)."
            )
        application = visible_application(session, viewer, application_id)
        framework = applications.framework_for(session, application)
        given: dict[str, assessing.AssessorScore] = {}
        for element in framework.scored_elements():
            value = _field(form, f"score-{element.id}")
            if not value:
                continue
            number: int | float | str
            try:
                number = float(value)
            except ValueError:
                number = value
            refs = tuple(
                r.strip() for r in _field(form, f"refs-{element.id}").split(",") if r.strip()
            )
            given[element.id] = assessing.AssessorScore(
                number, _field(form, f"comment-{element.id}") or None, refs
            )
        if not given:
            raise InvalidInput("Score at least one element.")
        assessing.score(session, viewer, application_id, stage_id, given)
        return _back(request, f"/certification/applications/{application_id}/score/{stage_id}")

    return _attempt(session, act, _scoring(request, session, viewer, application_id, stage_id))


@router.post("/applications/{application_id}/site-visits")
async def site_visit(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    form = await request.form()

    def act() -> Response:
        visited = _date(_field(form, "visited_on"), "Visited on")
        if visited is None:
            raise InvalidInput("Give the date of the visit.")
        assessing.record_site_visit(
            session,
            viewer,
            application_id,
            visited,
            [p for p in _field(form, "people").split(",")],
            _field(form, "findings"),
        )
        return _back(request, f"/certification/applications/{application_id}")

    return _attempt(session, act, _application(request, session, viewer, application_id))


# ---- the committee ------------------------------------------------------------------------------


def _committee(request: Request, session: Session, viewer: Viewer, application_id: int) -> PageFn:
    def page(error: str | None = None, status_code: int = 200) -> Response:
        view = assessing.committee_view(session, viewer, application_id)
        application = visible_application(session, viewer, application_id)
        framework = applications.framework_for(session, application)
        certificate = session.scalar(
            select(CertificateRecord).where(
                CertificateRecord.application_id == application.id,
                CertificateRecord.status == "active",
            )
        )
        context = {
            "application": application,
            "framework": framework,
            "names": {e.id: e.name for e in framework.scored_elements()},
            "city": session.get(City, application.city_id),
            "round": applications.round_of(session, application),
            "view": view,
            "decision": assessing.current_decision(session, application.id),
            "assessors": assessing.assessors_of(session, application.id),
            "certificate": certificate,
        }
        return _render(request, viewer, "assessment_committee.html", context, error, status_code)

    return page


@router.get("/applications/{application_id}/committee", response_class=HTMLResponse)
def committee_page(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    if viewer.user_id is None:
        return _to_login(request)
    if not is_certification_body(viewer):
        raise NotFound(f"No committee page {application_id} for you.")
    return _committee(request, session, viewer, application_id)()


def _committee_action(
    request: Request,
    session: Session,
    viewer: Viewer,
    application_id: int,
    run: Callable[[], object],
) -> Response:
    def act() -> Response:
        run()
        return _back(request, f"/certification/applications/{application_id}/committee")

    return _attempt(session, act, _committee(request, session, viewer, application_id))


@router.post("/applications/{application_id}/assessors")
async def assign(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    form = await request.form()
    return _committee_action(
        request,
        session,
        viewer,
        application_id,
        lambda: assessing.assign(session, viewer, application_id, _field(form, "assessor")),
    )


@router.post("/applications/{application_id}/decision")
async def decide(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    form = await request.form()
    return _committee_action(
        request,
        session,
        viewer,
        application_id,
        lambda: assessing.decide(session, viewer, application_id, _field(form, "reasons")),
    )


@router.post("/applications/{application_id}/reopen")
async def reopen(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    form = await request.form()
    return _committee_action(
        request,
        session,
        viewer,
        application_id,
        lambda: assessing.reopen(session, viewer, application_id, _field(form, "reason")),
    )


@router.post("/applications/{application_id}/certificate")
async def issue(
    request: Request, application_id: int, session: SessionDep, viewer: PublicViewer
) -> Response:
    form = await request.form()

    def act() -> Response:
        made = certificates.issue(
            session,
            viewer,
            application_id,
            _field(form, "scope") or None,
            _date(_field(form, "issued_on"), "Issue date"),
        )
        return _back(request, f"/certification/certificates/{quote(made.number)}")

    return _attempt(session, act, _committee(request, session, viewer, application_id))


# ---- certificates -------------------------------------------------------------------------------


def _certificate(request: Request, session: Session, viewer: Viewer, number: str) -> PageFn:
    def page(error: str | None = None, status_code: int = 200) -> Response:
        public = certificates.verify(session, number)
        record = certificates.certificate_record(session, number)
        application = session.get(Application, record.application_id)
        assert application is not None
        framework = applications.framework_for(session, application)
        context = {
            "c": public,
            "record": record,
            "audits": certificates.surveillance_audits(session, number),
            "renewal": framework.certificate.renewal if framework.certificate else None,
            "application": application,
        }
        return _render(request, viewer, "assessment_certificate.html", context, error, status_code)

    return page


@router.get("/certificates/{number}", response_class=HTMLResponse)
def certificate_page(
    request: Request, number: str, session: SessionDep, viewer: PublicViewer
) -> Response:
    if viewer.user_id is None:
        return _to_login(request)
    if not is_certification_body(viewer):
        return RedirectResponse(f"/certificates/{quote(number)}", status_code=303)
    return _certificate(request, session, viewer, number)()


def _certificate_action(
    request: Request, session: Session, viewer: Viewer, number: str, run: Callable[[], object]
) -> Response:
    def act() -> Response:
        run()
        return _back(request, f"/certification/certificates/{quote(number)}")

    return _attempt(session, act, _certificate(request, session, viewer, number))


@router.post("/certificates/{number}/surveillance")
async def surveil(
    request: Request, number: str, session: SessionDep, viewer: PublicViewer
) -> Response:
    form = await request.form()
    return _certificate_action(
        request,
        session,
        viewer,
        number,
        lambda: certificates.record_surveillance(
            session,
            viewer,
            number,
            _field(form, "outcome"),
            _date(_field(form, "done_on"), "Done on"),
        ),
    )


@router.post("/certificates/{number}/renew")
async def renew(
    request: Request, number: str, session: SessionDep, viewer: PublicViewer
) -> Response:
    form = await request.form()
    return _certificate_action(
        request,
        session,
        viewer,
        number,
        lambda: certificates.renew(session, viewer, number, _field(form, "reason")),
    )


@router.post("/certificates/{number}/withdraw")
async def withdraw(
    request: Request, number: str, session: SessionDep, viewer: PublicViewer
) -> Response:
    form = await request.form()
    return _certificate_action(
        request,
        session,
        viewer,
        number,
        lambda: certificates.withdraw(session, viewer, number, _field(form, "reason")),
    )


@router.get("/certificates/{number}/pdf")
def certificate_pdf(
    request: Request, number: str, session: SessionDep, viewer: PublicViewer
) -> Response:
    """The printable certificate of a valid certificate; public, like the verification page."""
    from citymeter.assessment import pdf

    found = reports.certificate_for_print(session, number)
    return Response(
        pdf.certificate_pdf(found, _lang(request)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="certificate-{found.number}.pdf"'},
    )
