"""The assessment report and the certificate: their content, the radar chart's data and geometry,
and the HTML rendering (the PDF rendering is in citymeter/assessment/pdf.py).

The report shows what was assessed: the decision's values once there is one (so a later reopening
or rescoring does not change a report of a decision), else the committee's current view, which
only the certification body and the application's assessors may see. The radar chart compares the
city with the median of its class in the same round, by group or area.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.assessment.access import (
    is_applicant,
    is_assigned,
    is_certification_body,
    visible_application,
)
from citymeter.assessment.applications import entries, round_of
from citymeter.assessment.assessing import (
    committee_from_scores,
    current_decision,
    score_rows,
)
from citymeter.assessment.benchmarking import aggregate_round, group_values
from citymeter.assessment.certificates import PublicCertificate, verify
from citymeter.assessment.models import Application, CertificateRecord
from citymeter.assessment.rounds import framework_of
from citymeter.assessment.schema import Framework, Item, LevelScale
from citymeter.assessment.scoring import RoadmapStep, gap_analysis
from citymeter.errors import Conflict, InvalidInput, PermissionDenied
from citymeter.places.models import City

TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("html", "pdf")
LANGUAGES = ("ko", "en")

# Labels of the report and the certificate, Korean and English.
TEXT: dict[str, dict[str, str]] = {
    "ko": {
        "report": "평가 보고서",
        "certificate": "인증서",
        "city": "도시",
        "round": "평가 회차",
        "framework": "인증 체계",
        "class": "인구 구분",
        "status": "상태",
        "result": "결과",
        "certified": "인증",
        "not_certified": "인증 안 됨",
        "provisional": "잠정 (결정 전 위원회 평가)",
        "decided": "결정",
        "total": "총점",
        "reasons": "결정 사유",
        "radar": "그룹별 결과: 도시와 같은 구분의 중앙값",
        "this_city": "이 도시",
        "class_median": "구분 중앙값",
        "items": "항목별 결과",
        "group": "그룹",
        "item": "항목",
        "claimed": "자체 평가",
        "assessed": "심사 결과",
        "flag": "의견 차이",
        "strengths": "강점",
        "improvements": "개선 영역",
        "next": "다음 단계",
        "blocking": "인증에 필요",
        "none": "없음",
        "number": "인증 번호",
        "scope": "범위",
        "issued": "발급일",
        "expires": "만료일",
        "verify": "확인",
        "valid": "유효",
        "expired": "만료",
        "withdrawn": "취소",
        "level": "수준",
        "grade": "등급",
        "generated": "작성",
        "cert_body": "이 인증서는 아래 도시가 인증 체계의 요건을 충족함을 증명합니다.",
        "median_note": "중앙값은 같은 회차와 구분에서 평가를 마친 도시들로 계산합니다.",
    },
    "en": {
        "report": "Assessment report",
        "certificate": "Certificate",
        "city": "City",
        "round": "Round",
        "framework": "Scheme",
        "class": "Population class",
        "status": "Status",
        "result": "Result",
        "certified": "Certified",
        "not_certified": "Not certified",
        "provisional": "Provisional (committee view before the decision)",
        "decided": "Decided",
        "total": "Total",
        "reasons": "Reasons for the decision",
        "radar": "Result by group: the city against its class median",
        "this_city": "This city",
        "class_median": "Class median",
        "items": "Results by item",
        "group": "Group",
        "item": "Item",
        "claimed": "Self-assessment",
        "assessed": "Assessed",
        "flag": "Disagreement",
        "strengths": "Strengths",
        "improvements": "Improvement areas",
        "next": "Next step",
        "blocking": "Needed for certification",
        "none": "None",
        "number": "Certificate number",
        "scope": "Scope",
        "issued": "Issued",
        "expires": "Expires",
        "verify": "Verify",
        "valid": "Valid",
        "expired": "Expired",
        "withdrawn": "Withdrawn",
        "level": "Level",
        "grade": "Grade",
        "generated": "Generated",
        "cert_body": "This certifies that the city below meets the requirements of the scheme.",
        "median_note": "The median is over the assessed cities of the same round and class.",
    },
}


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"Format {fmt!r}: use one of {', '.join(FORMATS)}.")
    return fmt


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise InvalidInput(f"Language {lang!r}: use one of {', '.join(LANGUAGES)}.")
    return lang


# ---- the radar chart ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RadarAxis:
    id: str
    name: str
    value: float
    median: float | None
    maximum: float


@dataclass(frozen=True)
class Radar:
    axes: tuple[RadarAxis, ...]
    unit: str  # "level" (average level of the group's items) or "%" (share of the points)


def radar_chart(
    framework: Framework, values: dict[str, float], peers: list[dict[str, float]]
) -> Radar:
    """One axis per top-level group: the city's group value and the median of its peers' (the
    class, the city included). Maturity: the average item level; points: the share of points."""
    mine = group_values(framework, values)
    theirs = [group_values(framework, p) for p in peers]
    if isinstance(framework.scale, LevelScale):
        maximum, unit = float(framework.scale.levels[-1].value), "level"
    else:
        maximum, unit = 100.0, "%"
    axes = tuple(
        RadarAxis(
            id=g.id,
            name=g.name,
            value=mine[g.id],
            median=float(statistics.median(t[g.id] for t in theirs)) if theirs else None,
            maximum=maximum,
        )
        for g in framework.groups
    )
    return Radar(axes, unit)


Point = tuple[float, float]


@dataclass(frozen=True)
class RadarGeometry:
    """Drawing coordinates (y grows downwards, as in SVG and in the PDF page)."""

    spokes: tuple[Point, ...]  # the end of each axis
    rings: tuple[tuple[Point, ...], ...]  # the grid, at each fifth of the maximum
    city: tuple[Point, ...]
    median: tuple[Point, ...] | None
    labels: tuple[tuple[Point, str], ...]  # (anchor point, "start" | "middle" | "end")


def _angle(index: int, count: int) -> float:
    """Axis `index` of `count`: the first points straight up, the rest follow clockwise."""
    return -math.pi / 2 + 2 * math.pi * index / count


def _point(cx: float, cy: float, radius: float, share: float, angle: float) -> Point:
    share = min(1.0, max(0.0, share))
    return (cx + radius * share * math.cos(angle), cy + radius * share * math.sin(angle))


def radar_geometry(
    radar: Radar, cx: float, cy: float, radius: float, rings: int = 5
) -> RadarGeometry:
    count = len(radar.axes)
    if count == 0:
        raise InvalidInput("A radar chart needs at least one axis.")
    angles = [_angle(i, count) for i in range(count)]
    spokes = tuple(_point(cx, cy, radius, 1.0, a) for a in angles)
    grid = tuple(
        tuple(_point(cx, cy, radius, step / rings, a) for a in angles)
        for step in range(1, rings + 1)
    )
    city = tuple(
        _point(cx, cy, radius, axis.value / axis.maximum, a)
        for axis, a in zip(radar.axes, angles, strict=True)
    )
    median = None
    if all(axis.median is not None for axis in radar.axes):
        median = tuple(
            _point(cx, cy, radius, (axis.median or 0.0) / axis.maximum, a)
            for axis, a in zip(radar.axes, angles, strict=True)
        )
    labels = []
    for a in angles:
        x, y = _point(cx, cy, radius * 1.08, 1.0, a)
        cos = math.cos(a)
        anchor = "middle" if abs(cos) < 0.2 else ("start" if cos > 0 else "end")
        labels.append(((x, y), anchor))
    return RadarGeometry(spokes, grid, city, median, tuple(labels))


def svg_points(points: tuple[Point, ...]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


# ---- the report's content -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    item_id: str
    item_name: str
    group_name: str
    claimed: str
    assessed: str
    share: float  # of the item's top level or points, 0–1
    flagged: bool


@dataclass(frozen=True)
class AssessmentReport:
    application_id: int
    city: str
    city_code: str
    round_code: str
    round_name: str
    framework: str
    framework_version: str
    class_name: str | None
    decided: bool
    decided_at: dt.datetime | None
    certified: bool
    result: str
    total: str
    reasons: str | None
    rows: tuple[ReportRow, ...]
    radar: Radar
    peers: int
    strengths: tuple[ReportRow, ...]
    improvements: tuple[RoadmapStep, ...]
    certificate: str | None
    generated_at: dt.datetime


def _elements_of(item: Item) -> list[str]:
    return [s.id for s in item.sub_indicators] if item.sub_indicators else [item.id]


def _item_max(framework: Framework, item: Item) -> float:
    if isinstance(framework.scale, LevelScale):
        return float(framework.scale.levels[-1].value)
    if item.sub_indicators:
        return sum(s.max_points or 0.0 for s in item.sub_indicators)
    return item.max_points or 0.0


def _shown(framework: Framework, item: Item, value: float | None) -> str:
    if value is None:
        return "–"
    if isinstance(framework.scale, LevelScale):
        level = next((lv for lv in framework.scale.levels if lv.value == round(value)), None)
        return f"{level.code} ({level.label})" if level else f"{value:g}"
    return f"{value:g} / {_item_max(framework, item):g}"


def _rows(
    framework: Framework,
    values: dict[str, float],
    claimed: dict[str, float | None],
    flagged: set[str],
) -> list[ReportRow]:
    rows = []
    for item in framework.all_items():
        ids = _elements_of(item)
        group = framework.top_group_of(item.id)
        value = sum(values[i] for i in ids)
        claims = [claimed.get(i) for i in ids]
        claim = None if any(c is None for c in claims) else sum(c or 0.0 for c in claims)
        top = _item_max(framework, item)
        rows.append(
            ReportRow(
                item_id=item.id,
                item_name=item.name,
                group_name=group.name if group else "",
                claimed=_shown(framework, item, claim),
                assessed=_shown(framework, item, value),
                share=value / top if top else 0.0,
                flagged=any(i in flagged for i in ids),
            )
        )
    return rows


def strengths(rows: list[ReportRow], limit: int = 5) -> list[ReportRow]:
    """The items closest to the top: those at 80 % of the top level or points and more, best
    first; when none is, the best three."""
    ranked = sorted(rows, key=lambda r: -r.share)  # stable: framework order among equals
    strong = [r for r in ranked if r.share >= 0.8 - 1e-9]
    return (strong or ranked[:3])[:limit]


def _total(framework: Framework, total: float) -> str:
    if isinstance(framework.scale, LevelScale):
        return f"{total:.2f}"
    top = framework.max_points()
    return f"{total:,.1f} / {top:,.0f} ({100 * total / top:.1f} %)" if top else f"{total:g}"


def _values_for_report(
    session: Session, viewer: Viewer, application: Application, framework: Framework
) -> tuple[dict[str, float], set[str], bool, str, bool, float, str | None, dt.datetime | None]:
    decision = current_decision(session, application.id)
    if decision is not None:
        values = {k: float(v) for k, v in decision.detail.get("values", {}).items()}
        flagged = set(decision.detail.get("flagged", []))
        return (
            values,
            flagged,
            True,
            decision.result,
            decision.certified,
            decision.total,
            decision.reasons,
            decision.decided_at,
        )
    if is_applicant(viewer, application) and not is_certification_body(viewer):
        raise Conflict("The assessment report is available once the application is decided.")
    if not (is_certification_body(viewer) or is_assigned(session, viewer, application.id)):
        raise PermissionDenied("The report is for the applicant, its assessors and the body.")
    view = committee_from_scores(
        framework, application.id, score_rows(session, application.id), application.population
    )
    if not view.complete:
        raise Conflict(
            f"Application {application.id} is not fully scored yet "
            f"({len(view.missing)} element(s) without a score in stage {view.stage})."
        )
    return (
        view.decided_values(),
        set(view.flagged),
        False,
        view.result_label,
        view.certified,
        view.total,
        None,
        None,
    )


def assessment_report(
    session: Session, viewer: Viewer, application_id: int, now: dt.datetime | None = None
) -> AssessmentReport:
    """What the report shows, for someone who may see the application."""
    application = visible_application(session, viewer, application_id)
    round_ = round_of(session, application)
    framework = framework_of(round_)
    values, flagged, decided, result, certified, total, reasons, decided_at = _values_for_report(
        session, viewer, application, framework
    )
    peers = [
        view.decided_values()
        for view in aggregate_round(session, round_.id, framework, application.class_id).values()
        if view.complete
    ]
    claimed = {k: e.claimed for k, e in entries(session, application.id).items()}
    rows = _rows(framework, values, claimed, flagged)
    roadmap = [s for s in gap_analysis(framework, values) if s.next is not None]
    city = session.get(City, application.city_id)
    assert city is not None  # foreign key
    number = session.scalar(
        select(CertificateRecord.number)
        .where(CertificateRecord.application_id == application.id)
        .order_by(CertificateRecord.id.desc())
        .limit(1)
    )
    cls = next((c for c in framework.eligibility.classes if c.id == application.class_id), None)
    return AssessmentReport(
        application_id=application.id,
        city=city.name,
        city_code=city.code,
        round_code=round_.code,
        round_name=round_.name,
        framework=framework.name,
        framework_version=framework.version,
        class_name=cls.name if cls else application.class_id,
        decided=decided,
        decided_at=decided_at,
        certified=certified,
        result=result,
        total=_total(framework, total),
        reasons=reasons,
        rows=tuple(rows),
        radar=radar_chart(framework, values, peers),
        peers=len(peers),
        strengths=tuple(strengths(rows)),
        improvements=tuple(roadmap[:8]),
        certificate=number,
        generated_at=now or dt.datetime.now(dt.UTC),
    )


def certificate_for_print(session: Session, number: str) -> PublicCertificate:
    """A certificate to print: anyone may have a valid one; a withdrawn or expired one is shown
    for what it is on the verification page, not printed."""
    found = verify(session, number)
    if found.status != "valid":
        raise Conflict(f"Certificate {found.number} is {found.status}; it is not printed.")
    return found


# ---- HTML ---------------------------------------------------------------------------------------


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["svg_points"] = svg_points
    env.globals["zip"] = zip
    return env


_ENV = _environment()


def report_html(report: AssessmentReport, lang: str = "ko") -> str:
    """A self-contained page (inline style and SVG chart, no external files)."""
    geometry = radar_geometry(report.radar, 210, 170, 120)
    return _ENV.get_template("assessment_report.html").render(
        r=report, g=geometry, t=TEXT[check_language(lang)], lang=lang
    )


def certificate_html(certificate: PublicCertificate, lang: str = "ko") -> str:
    return _ENV.get_template("cert_certificate.html").render(
        c=certificate, t=TEXT[check_language(lang)], lang=lang
    )
