"""PDF rendering of the assessment report and the certificate, with fpdf2.

Korean text needs a CJK font embedded in the file (a subset of the glyphs used). The font comes
from PyPI at install time: the NanumGothic TrueType files (SIL Open Font License 1.1) shipped in
the `koreanize-matplotlib` wheel, read from its folder without importing that package. An explicit
font file (TTF/OTF) may be given instead, and Debian's fonts-nanum is used when present. Nothing
is downloaded when a report is rendered.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from citymeter.assessment.certificates import PublicCertificate
from citymeter.assessment.reports import (
    TEXT,
    AssessmentReport,
    check_language,
    radar_geometry,
)
from citymeter.errors import InvalidInput

FONT_PACKAGE = "koreanize_matplotlib"  # ships NanumGothic*.ttf under fonts/
DEBIAN_FONT_DIR = Path("/usr/share/fonts/truetype/nanum")
FAMILY = "report"


@dataclass(frozen=True)
class ReportFont:
    regular: Path
    bold: Path


def _package_font_dir() -> Path | None:
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "fonts"


def find_font(path: Path | None = None) -> ReportFont:
    """The font to embed: `path` when given (used for bold too), else NanumGothic from the
    installed font package, else from Debian's fonts-nanum; a clear error when there is none."""
    if path is not None:
        if not path.is_file() or path.suffix.lower() not in (".ttf", ".otf"):
            raise InvalidInput(f"Report font {path}: give an existing .ttf or .otf file.")
        return ReportFont(path, path)
    candidates = [d for d in (_package_font_dir(), DEBIAN_FONT_DIR) if d is not None]
    for folder in candidates:
        regular, bold = folder / "NanumGothic.ttf", folder / "NanumGothicBold.ttf"
        if regular.is_file():
            return ReportFont(regular, bold if bold.is_file() else regular)
    raise InvalidInput(
        "No Korean font for PDF reports: install CityMeter with its dependencies (the "
        "koreanize-matplotlib package carries NanumGothic), install Debian's fonts-nanum, or "
        "pass a .ttf/.otf file with --font."
    )


class _Document(FPDF):
    def __init__(self, font: ReportFont, orientation: str = "portrait") -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.add_font(FAMILY, "", str(font.regular))
        self.add_font(FAMILY, "B", str(font.bold))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_creator("CityMeter")

    def heading(self, text: str, size: float = 13) -> None:
        self.ln(3)
        self.set_font(FAMILY, "B", size)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FAMILY, "", 10)

    def fact(self, label: str, value: str) -> None:
        self.set_font(FAMILY, "B", 10)
        self.cell(45, 6, label)
        self.set_font(FAMILY, "", 10)
        self.multi_cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")


def quiet_font_subsetting() -> None:
    # fontTools reports tables it drops while subsetting (hinting sources): not our concern.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


def _radar(doc: _Document, report: AssessmentReport, t: dict[str, str]) -> None:
    cx, cy, radius = 105.0, doc.get_y() + 58.0, 45.0
    geometry = radar_geometry(report.radar, cx, cy, radius)
    doc.set_line_width(0.2)
    doc.set_draw_color(200, 205, 215)
    for ring in geometry.rings:
        doc.polygon(list(ring), style="D")
    for x, y in geometry.spokes:
        doc.line(cx, cy, x, y)
    if geometry.median is not None:
        doc.set_draw_color(122, 132, 150)
        doc.set_line_width(0.6)
        doc.set_dash_pattern(dash=1.5, gap=1)
        doc.polygon(list(geometry.median), style="D")
        doc.set_dash_pattern()
    doc.set_draw_color(31, 78, 140)
    doc.set_fill_color(31, 78, 140)
    doc.set_line_width(0.7)
    with doc.local_context(fill_opacity=0.25):
        doc.polygon(list(geometry.city), style="DF")
    doc.set_font(FAMILY, "", 8)
    for ((x, y), anchor), axis in zip(geometry.labels, report.radar.axes, strict=True):
        width = doc.get_string_width(axis.name)
        left = x - width / 2 if anchor == "middle" else (x if anchor == "start" else x - width)
        doc.text(left, y + (1 if y >= cy else -1), axis.name)
    # Legend under the chart.
    doc.set_y(cy + radius + 8)
    doc.set_font(FAMILY, "", 9)
    doc.set_fill_color(31, 78, 140)
    doc.rect(doc.l_margin, doc.get_y() + 1.5, 6, 3, style="F")
    doc.set_x(doc.l_margin + 8)
    doc.cell(40, 6, t["this_city"])
    if geometry.median is not None:
        doc.set_fill_color(122, 132, 150)
        doc.rect(doc.l_margin + 50, doc.get_y() + 1.5, 6, 3, style="F")
        doc.set_x(doc.l_margin + 58)
        doc.cell(60, 6, f"{t['class_median']} ({report.peers})")
    doc.ln(8)
    unit = " %" if report.radar.unit == "%" else ""
    with doc.table(col_widths=(90, 45, 45), text_align=("LEFT", "RIGHT", "RIGHT")) as table:
        head = table.row()
        for label in (t["group"], t["this_city"], t["class_median"]):
            head.cell(label)
        for axis in report.radar.axes:
            row = table.row()
            row.cell(axis.name)
            row.cell(f"{axis.value:.2f}{unit}")
            row.cell("–" if axis.median is None else f"{axis.median:.2f}{unit}")
    doc.set_font(FAMILY, "", 8)
    doc.multi_cell(0, 5, t["median_note"], new_x="LMARGIN", new_y="NEXT")


def report_pdf(report: AssessmentReport, lang: str = "ko", font: ReportFont | None = None) -> bytes:
    t = TEXT[check_language(lang)]
    quiet_font_subsetting()
    doc = _Document(font or find_font())
    doc.set_title(f"{t['report']}: {report.city}")
    doc.set_lang(lang)
    doc.add_page()
    doc.set_font(FAMILY, "B", 18)
    doc.cell(0, 10, t["report"], new_x="LMARGIN", new_y="NEXT")
    doc.set_font(FAMILY, "B", 15)
    doc.cell(0, 9, f"{report.city} ({report.city_code})", new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.fact(t["round"], f"{report.round_name} ({report.round_code})")
    doc.fact(t["framework"], f"{report.framework} {report.framework_version}")
    if report.class_name:
        doc.fact(t["class"], report.class_name)
    status = t["decided"] if report.decided else t["provisional"]
    if report.decided_at is not None:
        status += f" {report.decided_at:%Y-%m-%d}"
    doc.fact(t["status"], status)
    verdict = t["certified"] if report.certified else t["not_certified"]
    doc.fact(t["result"], f"{report.result} · {verdict}")
    doc.fact(t["total"], report.total)
    if report.certificate:
        doc.fact(t["number"], report.certificate)
    if report.reasons:
        doc.heading(t["reasons"], 11)
        doc.multi_cell(0, 5, report.reasons, new_x="LMARGIN", new_y="NEXT")
    doc.heading(t["radar"])
    _radar(doc, report, t)

    doc.add_page()
    doc.heading(t["items"])
    doc.set_font(FAMILY, "", 8.5)
    with doc.table(col_widths=(38, 62, 30, 30, 14), text_align="LEFT") as table:
        head = table.row()
        for label in (t["group"], t["item"], t["claimed"], t["assessed"], t["flag"]):
            head.cell(label)
        for r in report.rows:
            row = table.row()
            for value in (
                r.group_name,
                r.item_name,
                r.claimed,
                r.assessed,
                "!" if r.flagged else "",
            ):
                row.cell(value)
    doc.heading(t["strengths"])
    if report.strengths:
        for s in report.strengths:
            doc.multi_cell(0, 5.5, f"• {s.item_name}: {s.assessed}", new_x="LMARGIN", new_y="NEXT")
    else:
        doc.cell(0, 6, t["none"], new_x="LMARGIN", new_y="NEXT")
    doc.heading(t["improvements"])
    if report.improvements:
        doc.set_font(FAMILY, "", 8.5)
        with doc.table(col_widths=(45, 28, 95, 16), text_align="LEFT") as table:
            head = table.row()
            for label in (t["item"], t["assessed"], t["next"], t["blocking"]):
                head.cell(label)
            for step in report.improvements:
                row = table.row()
                for value in (step.item_name, step.current, step.gap, "!" if step.blocking else ""):
                    row.cell(value)
    else:
        doc.cell(0, 6, t["none"], new_x="LMARGIN", new_y="NEXT")
    doc.set_font(FAMILY, "", 8)
    doc.ln(4)
    doc.cell(0, 5, f"{t['generated']} {report.generated_at:%Y-%m-%d %H:%M} UTC · CityMeter")
    return bytes(doc.output())


def certificate_pdf(
    certificate: PublicCertificate, lang: str = "ko", font: ReportFont | None = None
) -> bytes:
    t = TEXT[check_language(lang)]
    quiet_font_subsetting()
    doc = _Document(font or find_font(), orientation="landscape")
    doc.set_title(f"{t['certificate']} {certificate.number}")
    doc.set_lang(lang)
    doc.set_auto_page_break(auto=False)
    doc.add_page()
    width = doc.w
    doc.set_draw_color(31, 78, 140)
    doc.set_line_width(1.2)
    doc.rect(10, 10, width - 20, doc.h - 20)
    doc.set_line_width(0.4)
    doc.rect(13, 13, width - 26, doc.h - 26)
    doc.set_y(30)
    doc.set_font(FAMILY, "B", 28)
    doc.cell(0, 14, t["certificate"], align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font(FAMILY, "", 12)
    doc.cell(0, 10, t["cert_body"], align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font(FAMILY, "B", 30)
    doc.cell(0, 16, certificate.city, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font(FAMILY, "B", 14)
    doc.multi_cell(0, 8, certificate.framework, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font(FAMILY, "", 12)
    lines = [
        f"{t['result']}: {certificate.result}",
        f"{t['scope']}: {certificate.scope}",
        f"{t['round']}: {certificate.round_name}"
        + (f" ({certificate.class_id})" if certificate.class_id else ""),
        f"{t['issued']}: {certificate.issued_on} · {t['expires']}: {certificate.expires_on}",
    ]
    for line in lines:
        doc.multi_cell(0, 7, line, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_y(doc.h - 38)
    doc.set_font(FAMILY, "B", 12)
    doc.cell(0, 7, f"{t['number']}: {certificate.number}", align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font(FAMILY, "", 9)
    doc.cell(0, 6, f"{t['verify']}: /certificates/{certificate.number}", align="C")
    return bytes(doc.output())
