"""`citymeter bench assessment`: aggregate and rank a round of 40 cities × 53 sub-indicators ×
9 assessors, with the scores in a database (a temporary SQLite file unless a URL is given), then
render one city's assessment report as PDF."""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from citymeter.accounts.models import User
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.assessment import pdf, reports, rounds
from citymeter.assessment.benchmarking import aggregate_round
from citymeter.assessment.models import Application, CertificationRound, ItemScore
from citymeter.assessment.scoring import CityStanding, rank_cities
from citymeter.db import migrate
from citymeter.db.engine import make_engine
from citymeter.places.models import City


@dataclass(frozen=True)
class AssessmentBench:
    cities: int
    elements: int
    assessors: int
    scores: int
    load_seconds: float
    aggregate_seconds: float
    certified: int
    report_data_seconds: float  # the report's content: committee view, class median, gaps
    report_pdf_seconds: float  # rendering it as PDF with the embedded Korean font
    baseline_pdf_seconds: float  # a one-line Korean PDF with the same font: the fixed cost
    report_pdf_bytes: int


def run(cities: int = 40, assessors: int = 9, seed: int = 1) -> AssessmentBench:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate.upgrade(engine)
        text = rounds.framework_text("kr-smart-city-certification-style")
        framework = rounds.framework_of(
            CertificationRound(framework_text=text)  # parse once, as a round would
        )
        elements = framework.scored_elements()
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            now = dt.datetime.now(dt.UTC)
            round_ = CertificationRound(
                code="BENCH",
                name="Bench",
                framework_id=framework.id,
                framework_version=framework.version,
                framework_text=text,
                opens_at=now,
                closes_at=now,
                status="closed",
            )
            session.add(round_)
            users = [
                User(username=f"a{n}", display_name="a", role="assessor") for n in range(assessors)
            ]
            session.add_all(users)
            session.flush()
            rows = []
            for n in range(cities):
                city = City(code=f"c{n}", name=f"벤치시 {n}")
                session.add(city)
                session.flush()
                app = Application(
                    round_id=round_.id,
                    city_id=city.id,
                    population=300_000 + n * 20_000,
                    class_id="large" if n % 2 else "small",
                    status="submitted",
                )
                session.add(app)
                session.flush()
                share = rng.uniform(0.55, 0.9)
                for e in elements:
                    top = e.max_points or 0.0
                    for user in users:
                        value = min(top, max(0.0, round(top * (share + rng.uniform(-0.1, 0.1)))))
                        rows.append(
                            {
                                "application_id": app.id,
                                "assessor_id": user.id,
                                "stage_id": "document-evaluation",
                                "element_id": e.id,
                                "value": float(value),
                                "evidence_refs": [],
                            }
                        )
            session.execute(insert(ItemScore), rows)
            round_id = round_.id
        load = time.perf_counter() - started
        started = time.perf_counter()
        with Session(engine) as session:
            views = aggregate_round(session, round_id, framework)
            ranked = rank_cities([CityStanding(str(k), None, v.total) for k, v in views.items()])
        aggregate = time.perf_counter() - started
        report = _time_report(engine, next(iter(views)))
        engine.dispose()
        assert len(ranked) == cities
    return AssessmentBench(
        cities,
        len(elements),
        assessors,
        len(rows),
        load,
        aggregate,
        sum(1 for v in views.values() if v.certified),
        *report,
    )


def _time_report(engine: Engine, application_id: int) -> tuple[float, float, float, int]:
    """Time one assessment report PDF, and against it the floor: a one-line PDF in the same
    font (loading and subsetting a CJK font is most of the cost)."""
    font = pdf.find_font()
    pdf.quiet_font_subsetting()
    started = time.perf_counter()
    baseline = FPDF()
    baseline.add_font("k", "", str(font.regular))
    baseline.add_page()
    baseline.set_font("k", size=12)
    baseline.cell(text="벤치 기준선")
    baseline.output()
    baseline_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with Session(engine) as session:
        made = reports.assessment_report(session, SYSTEM_VIEWER, application_id)
    data_seconds = time.perf_counter() - started
    started = time.perf_counter()
    document = pdf.report_pdf(made, "ko", font)
    return data_seconds, time.perf_counter() - started, baseline_seconds, len(document)
