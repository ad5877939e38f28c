"""The assessment report and the certificate: content, radar chart data and geometry, HTML, and
PDF with an embedded Korean font from which the city's Korean name can be extracted."""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.assessment import applications, assessing, certificates, reports, rounds
from citymeter.assessment.applications import Claim
from citymeter.assessment.assessing import AssessorScore
from citymeter.assessment.pdf import certificate_pdf, find_font, report_pdf
from citymeter.assessment.reports import Radar, RadarAxis, radar_chart, radar_geometry
from citymeter.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from citymeter.places import service as places
from tests.assessment.conftest import NOW, Body, make_city, open_test_round

KITEMARK = "iso37106-kitemark-style"
KOREAN_NAME = "한빛특별시"


def _assessed(
    db: Session, team: Body, code: str, levels: list[int], decide: bool = True
) -> tuple[int, Viewer]:
    coordinator = team.coordinator(db, code)
    framework = rounds.framework_of(rounds.get_round(db, "R2026"))
    items = [i.id for i in framework.all_items()]
    values = dict(zip(items, levels, strict=True))
    application = applications.apply(db, coordinator, "R2026", code, now=NOW)
    applications.claim(
        db, coordinator, application.id, {k: Claim(v, "See the pack.") for k, v in values.items()}
    )
    applications.submit(db, coordinator, application.id, now=NOW)
    for assessor in team.assessors:
        assessing.assign(db, team.admin, application.id, assessor.username)
        assessing.score(
            db,
            assessor,
            application.id,
            "stage-1",
            {k: AssessorScore(v, "Checked.") for k, v in values.items()},
        )
    if decide:
        assessing.decide(db, team.admin, application.id, "Committee of 2 March.")
    return application.id, coordinator


def _round_of_three(db: Session, body: Callable[[int], Body]) -> tuple[Body, int, Viewer]:
    team = body(2)
    make_city(db, "c1", 300_000)
    make_city(db, "c2", 300_000)
    make_city(db, "hanbit", 1_000_000)
    city = places.get_city(db, "hanbit")
    city.name = KOREAN_NAME
    open_test_round(db, team.admin, KITEMARK)
    # Groups of the kitemark-style framework: 10, 2, 8 and 2 items (see the YAML).
    _assessed(db, team, "c1", [3] * 22)
    _assessed(db, team, "c2", [5] * 22)
    app_id, coordinator = _assessed(db, team, "hanbit", [4] * 20 + [2, 5])
    return team, app_id, coordinator


def test_radar_chart_compares_group_averages_with_the_class_median(
    db: Session, body: Callable[[int], Body]
) -> None:
    _team, app_id, coordinator = _round_of_three(db, body)
    report = reports.assessment_report(db, coordinator, app_id)
    framework = rounds.framework_of(rounds.get_round(db, "R2026"))
    sizes = [len(list(g.all_items())) for g in framework.groups]
    assert [a.id for a in report.radar.axes] == [g.id for g in framework.groups]
    assert report.radar.unit == "level" and report.peers == 3
    # Hanbit: all IV except the last two items (II and V); the other cities all III and all V.
    levels = [4] * 20 + [2, 5]
    expected, start = [], 0
    for size in sizes:
        expected.append(sum(levels[start : start + size]) / size)
        start += size
    assert [a.value for a in report.radar.axes] == pytest.approx(expected)
    assert expected != [4.0] * len(sizes)  # the chart shows the difference
    medians = [sorted([3.0, 5.0, mine])[1] for mine in expected]
    assert [a.median for a in report.radar.axes] == pytest.approx(medians)
    assert all(a.maximum == 5 for a in report.radar.axes)
    assert report.certified is False and report.result == "III"  # one item at II
    assert report.improvements[0].blocking  # the failing item comes first
    assert [s.assessed for s in report.strengths][:1] == ["V (excellent)"]
    assert report.rows[-2].claimed == "II (in progress)"


def test_radar_chart_points_framework_uses_the_share_of_points(
    small_framework_data: dict[str, object],
) -> None:
    from citymeter.assessment.schema import Framework

    framework = Framework.model_validate(small_framework_data)
    mine = {"bus-info": 25.0, "bus-plan": 5.0, "waste": 0.0, "strategy": 20.0}
    other = {"bus-info": 0.0, "bus-plan": 0.0, "waste": 0.0, "strategy": 40.0}
    radar = radar_chart(framework, mine, [mine, other])
    assert radar.unit == "%"
    assert [(a.id, a.value, a.median) for a in radar.axes] == [
        ("services", 50.0, 25.0),
        ("governance", 50.0, 75.0),
    ]


def test_radar_geometry_places_values_on_their_axes() -> None:
    radar = Radar(
        (
            RadarAxis("a", "A", 5.0, 2.5, 5.0),
            RadarAxis("b", "B", 2.5, 5.0, 5.0),
            RadarAxis("c", "C", 0.0, 9.0, 5.0),  # clamped to the chart
            RadarAxis("d", "D", 5.0, 0.0, 5.0),
        ),
        "level",
    )
    g = radar_geometry(radar, 100, 100, 50)
    # Four axes: up, right, down, left (y grows downwards).
    expected_spokes = [(100, 50), (150, 100), (100, 150), (50, 100)]
    for (x, y), (ex, ey) in zip(g.spokes, expected_spokes, strict=True):
        assert (x, y) == (pytest.approx(ex), pytest.approx(ey))
    expected_city = [(100, 50), (125, 100), (100, 100), (50, 100)]
    for (x, y), (ex, ey) in zip(g.city, expected_city, strict=True):
        assert (x, y) == (pytest.approx(ex, abs=1e-9), pytest.approx(ey, abs=1e-9))
    assert g.median is not None
    assert g.median[0] == (pytest.approx(100), pytest.approx(75))
    assert g.median[2] == (pytest.approx(100), pytest.approx(150))  # 9 of 5: the rim
    assert len(g.rings) == 5 and math.dist(g.rings[0][0], (100, 100)) == pytest.approx(10)
    assert [anchor for _, anchor in g.labels] == ["middle", "start", "middle", "end"]
    with pytest.raises(InvalidInput):
        radar_geometry(Radar((), "level"), 0, 0, 1)


def test_report_html_has_the_chart_table_strengths_and_improvements(
    db: Session, body: Callable[[int], Body]
) -> None:
    _team, app_id, coordinator = _round_of_three(db, body)
    report = reports.assessment_report(db, coordinator, app_id)
    page = reports.report_html(report, "ko")
    assert KOREAN_NAME in page and "평가 보고서" in page
    assert page.count('class="city"') == 1 and 'class="median"' in page
    assert "강점" in page and "개선 영역" in page
    assert page.count("<tr>") >= 22 + 4 + 1
    english = reports.report_html(report, "en")
    assert "Improvement areas" in english and "http" not in english.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )  # self-contained: nothing fetched


def test_report_pdf_embeds_the_korean_font_and_the_city_name_is_extractable(
    db: Session, body: Callable[[int], Body]
) -> None:
    _team, app_id, coordinator = _round_of_three(db, body)
    report = reports.assessment_report(db, coordinator, app_id)
    data = report_pdf(report, "ko")
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    first = reader.pages[0].extract_text()
    assert KOREAN_NAME in first and "평가 보고서" in first
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = []
    for ref in fonts.values():
        font = ref.get_object()
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        embedded.append((str(font["/BaseFont"]), "/FontFile2" in descriptor))
    assert embedded and all(has_file for _, has_file in embedded)
    assert any("Nanum" in name or "Noto" in name for name, _ in embedded)
    later = "".join(p.extract_text() for p in reader.pages[1:])
    assert "항목별 결과" in later and "개선 영역" in later


def test_certificate_pdf_and_html_for_a_valid_certificate_only(
    db: Session, body: Callable[[int], Body]
) -> None:
    team = body(2)
    make_city(db, "hanbit", 1_000_000)
    places.get_city(db, "hanbit").name = KOREAN_NAME
    open_test_round(db, team.admin, KITEMARK)
    app_id, _ = _assessed(db, team, "hanbit", [4] * 22)
    number = certificates.issue(db, team.admin, app_id).number
    printable = reports.certificate_for_print(db, number)
    text = PdfReader(io.BytesIO(certificate_pdf(printable, "ko"))).pages[0].extract_text()
    assert KOREAN_NAME in text and number in text and "인증서" in text
    assert KOREAN_NAME in reports.certificate_html(printable, "en")
    certificates.withdraw(db, team.admin, number, "Misused the mark.")
    with pytest.raises(Conflict, match="withdrawn"):
        reports.certificate_for_print(db, number)
    with pytest.raises(NotFound):
        reports.certificate_for_print(db, "CM-1999-00001")


def test_who_may_have_a_report(db: Session, body: Callable[[int], Body]) -> None:
    team = body(2)
    make_city(db, "c1", 300_000)
    make_city(db, "c2", 300_000)
    open_test_round(db, team.admin, KITEMARK)
    undecided, coordinator = _assessed(db, team, "c1", [4] * 22, decide=False)
    other_city = team.coordinator(db, "c2")
    with pytest.raises(NotFound):
        reports.assessment_report(db, other_city, undecided)
    with pytest.raises(Conflict, match="once the application is decided"):
        reports.assessment_report(db, coordinator, undecided)
    provisional = reports.assessment_report(db, team.assessors[0], undecided)
    assert provisional.decided is False and provisional.result == "IV"
    assert reports.assessment_report(db, team.admin, undecided).certified is True


def test_bad_font_and_format_are_clear_errors(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    with pytest.raises(InvalidInput, match=r"\.ttf or \.otf"):
        find_font(tmp_path / "missing.ttf")
    with pytest.raises(InvalidInput, match="html, pdf"):
        reports.check_format("docx")
    assert find_font().regular.is_file()


def test_cli_writes_the_report_and_the_certificate(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    from sqlalchemy import create_engine, select
    from typer.testing import CliRunner

    from citymeter.accounts.permissions import SYSTEM_VIEWER
    from citymeter.assessment.demo import build_certification_demo
    from citymeter.assessment.models import CertificateRecord
    from citymeter.cli.main import app
    from citymeter.settings import get_settings

    assert isinstance(tmp_path, Path)
    engine = create_engine(database_url)
    with Session(engine) as session:
        made = build_certification_demo(session, SYSTEM_VIEWER)
        assert made is not None
        session.commit()
        number = made.certificates[0]
        app_id = session.scalar(
            select(CertificateRecord.application_id).where(CertificateRecord.number == number)
        )
    engine.dispose()
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    pdf_file, html_file, cert_file = (tmp_path / n for n in ("r.pdf", "r.html", "c.pdf"))
    done = runner.invoke(app, ["rounds", "report", str(app_id), "-o", str(pdf_file)])
    assert done.exit_code == 0, done.output
    assert PdfReader(pdf_file).pages[0].extract_text().count("평가 보고서") == 1
    done = runner.invoke(
        app,
        ["rounds", "report", str(app_id), "--format", "html", "--lang", "en", "-o", str(html_file)],
    )
    assert done.exit_code == 0 and "Assessment report" in html_file.read_text(encoding="utf-8")
    done = runner.invoke(app, ["certificates", "export", number, "-o", str(cert_file)])
    assert done.exit_code == 0, done.output
    assert number in PdfReader(cert_file).pages[0].extract_text()
    bad = runner.invoke(app, ["rounds", "report", str(app_id), "--format", "docx", "-o", "x"])
    assert bad.exit_code != 0 and "html, pdf" in bad.output


def test_extension_renews_a_certificate_for_another_validity_period(
    db: Session, body: Callable[[int], Body]
) -> None:
    from tests.assessment.conftest import SMALL_POINTS_FRAMEWORK

    team = body(1)
    make_city(db, "town", 20_000)
    rounds.open_round(
        db,
        team.admin,
        rounds.RoundSpec(
            "T1",
            "Town round",
            SMALL_POINTS_FRAMEWORK,
            NOW - dt.timedelta(days=1),
            NOW + dt.timedelta(days=30),
        ),
    )
    coordinator = team.coordinator(db, "town")
    application = applications.apply(db, coordinator, "T1", "town", now=NOW)
    values = {"bus-info": 25.0, "bus-plan": 15.0, "waste": 20.0, "strategy": 30.0}
    applications.override(db, coordinator, application.id, "bus-info", 80.0, "Own survey.")
    applications.claim(
        db, coordinator, application.id, {k: Claim(v, "Shown.") for k, v in values.items()}
    )
    applications.submit(db, coordinator, application.id, now=NOW)
    assessing.assign(db, team.admin, application.id, team.assessors[0].username)
    assessing.score(
        db,
        team.assessors[0],
        application.id,
        "documents",
        {k: AssessorScore(v, "Ok.") for k, v in values.items()},
    )
    assessing.decide(db, team.admin, application.id, "Grade A.")
    issued = certificates.issue(db, team.admin, application.id, issued_on=dt.date(2026, 3, 10))
    assert issued.expires_on == dt.date(2028, 3, 10)
    with pytest.raises(InvalidInput):
        certificates.renew(db, team.admin, issued.number, " ", on=dt.date(2027, 12, 1))
    renewed = certificates.renew(
        db, team.admin, issued.number, "Extension request reviewed.", on=dt.date(2027, 12, 1)
    )
    assert (renewed.expires_on, renewed.renewal_due_on) == (
        dt.date(2030, 3, 10),
        dt.date(2029, 12, 10),
    )
    with pytest.raises(PermissionDenied):
        certificates.renew(db, coordinator, issued.number, "Please.")
