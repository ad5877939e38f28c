"""The certification demo: a certification body with a finished round (8 synthetic cities in both
population classes, mixed results), a certificate due for surveillance and an open round in
progress — all made through the same services as a real round, so the ledger is real too.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.models import User
from citymeter.accounts.permissions import Viewer
from citymeter.assessment import applications, assessing, certificates, rounds
from citymeter.assessment.applications import Claim
from citymeter.assessment.assessing import AssessorScore
from citymeter.assessment.models import CertificationRound
from citymeter.assessment.schema import Framework
from citymeter.assessment.scoring import add_months
from citymeter.places import service as places
from citymeter.places.models import City

KOREAN = "kr-smart-city-certification-style"
KITEMARK = "iso37106-kitemark-style"
FINISHED = "DEMO-KR-FINISHED"
OPEN = "DEMO-KR-OPEN"
MATURITY = "DEMO-KITEMARK"

# (code, name, population, share of the points the committee gives): mixed results.
CITIES = (
    ("demo-hanbit", "Hanbit", 1_020_000, 0.86),
    ("demo-nuri", "Nuri", 760_000, 0.73),
    ("demo-saebyeol", "Saebyeol", 640_000, 0.66),
    ("demo-gaon", "Gaon", 530_000, 0.79),
    ("demo-arum", "Arum", 420_000, 0.71),
    ("demo-dasom", "Dasom", 310_000, 0.62),
    ("demo-haneul", "Haneul", 180_000, 0.75),
    ("demo-maru", "Maru", 95_000, 0.68),
)


@dataclass(frozen=True)
class CertificationDemo:
    rounds: tuple[str, ...]
    applications: int
    certified: int
    certificates: tuple[str, ...]


def _user(session: Session, actor: Viewer, username: str, role: str) -> Viewer:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = accounts.create_user(session, actor, username=username, role=role, password=None)
    return accounts.viewer_for(user)


def _city(session: Session, actor: Viewer, code: str, name: str, population: int) -> City:
    city = session.scalar(select(City).where(City.code == code))
    if city is None:
        city = places.create_city(session, actor, code=code, name=name)
        root = places.root_area_of(session, city)
        if root is not None:
            root.population = population
    return city


def _points(framework: Framework, share: float, rng: random.Random) -> dict[str, float]:
    out: dict[str, float] = {}
    for element in framework.scored_elements():
        top = element.max_points or 0.0
        out[element.id] = float(min(top, max(0.0, round(top * (share + rng.uniform(-0.1, 0.1))))))
    return out


def _apply_and_submit(
    session: Session,
    actor: Viewer,
    round_code: str,
    city: City,
    population: int,
    claims: dict[str, float | str],
    when: dt.datetime,
) -> int:
    application = applications.apply(
        session, actor, round_code, city.code, population, benchmark_consent=True, now=when
    )
    framework = applications.framework_for(session, application)
    for item in framework.all_items():
        for sub in item.sub_indicators:
            if sub.indicator:
                applications.override(
                    session,
                    actor,
                    application.id,
                    sub.id,
                    50.0,
                    "Demo: value from the city's own report.",
                )
    applications.claim(
        session,
        actor,
        application.id,
        {k: Claim(v, "Described in the demo evidence pack.") for k, v in claims.items()},
    )
    applications.submit(session, actor, application.id, now=when)
    return application.id


def build_certification_demo(
    session: Session, actor: Viewer, today: dt.date | None = None, seed: int = 7
) -> CertificationDemo | None:
    """Build the demo rounds unless they exist (returns None then)."""
    if session.scalar(select(CertificationRound.id).where(CertificationRound.code == FINISHED)):
        return None
    day = today or dt.datetime.now(dt.UTC).date()
    rng = random.Random(seed)
    _user(session, actor, "demo-certifier", "certifier_admin")
    panel = [_user(session, actor, f"demo-assessor-{n}", "assessor") for n in range(1, 10)]

    def moment(d: dt.date) -> dt.datetime:
        return dt.datetime.combine(d, dt.time(9), tzinfo=dt.UTC)

    # A finished round: opened 14 months ago, decided and certified 11 months ago.
    opened = add_months(day, -14)
    rounds.open_round(
        session,
        actor,
        rounds.RoundSpec(
            FINISHED,
            "Smart city certification (finished demo round)",
            rounds.framework_text(KOREAN),
            moment(opened),
            moment(add_months(opened, 2)),
        ),
    )
    framework = rounds.framework_of(rounds.get_round(session, FINISHED))
    issued: list[str] = []
    certified = 0
    made = 0
    for code, name, population, share in CITIES:
        city = _city(session, actor, code, name, population)
        target = _points(framework, share, rng)
        app_id = _apply_and_submit(
            session, actor, FINISHED, city, population, dict(target), moment(add_months(opened, 1))
        )
        made += 1
        for assessor in panel:
            assessing.assign(session, actor, app_id, assessor.username)
            noisy = {
                k: AssessorScore(
                    min(e.max_points or 0.0, max(0.0, v + rng.choice((-2.0, -1.0, 0.0, 1.0, 2.0)))),
                    "Checked against the documents.",
                )
                for (k, v), e in zip(target.items(), framework.scored_elements(), strict=True)
            }
            assessing.score(session, assessor, app_id, "document-evaluation", noisy)
        decision = assessing.decide(session, actor, app_id, "Committee decision (demo).")
        if decision.certified:
            certified += 1
            issued.append(
                certificates.issue(session, actor, app_id, issued_on=add_months(opened, 3)).number
            )

    rounds.close_round(session, actor, FINISHED)  # decided and certified: the call is over

    # A Kitemark-style assessment of the first city whose yearly surveillance is due soon.
    maturity_opened = add_months(day, -14)
    rounds.open_round(
        session,
        actor,
        rounds.RoundSpec(
            MATURITY,
            "Maturity assessment (demo)",
            rounds.framework_text(KITEMARK),
            moment(maturity_opened),
            moment(add_months(maturity_opened, 2)),
        ),
    )
    maturity = rounds.framework_of(rounds.get_round(session, MATURITY))
    levels = [4, 4, 3, 4, 5, 3, 4, 4, 3, 4, 4, 4, 3, 4, 5, 4, 4, 3, 4, 4, 4, 4]
    claims: dict[str, float | str] = {
        i.id: float(lv) for i, lv in zip(maturity.all_items(), levels, strict=True)
    }
    first = session.scalar(select(City).where(City.code == CITIES[0][0]))
    assert first is not None
    app_id = _apply_and_submit(
        session,
        actor,
        MATURITY,
        first,
        CITIES[0][2],
        claims,
        moment(add_months(maturity_opened, 1)),
    )
    for assessor in panel[:3]:
        assessing.assign(session, actor, app_id, assessor.username)
        assessing.score(
            session,
            assessor,
            app_id,
            "stage-1",
            {k: AssessorScore(v, "Evidence reviewed.") for k, v in claims.items()},
        )
    assessing.decide(session, actor, app_id, "Every item at III or above (demo).")
    issued.append(
        certificates.issue(
            session, actor, app_id, issued_on=day - dt.timedelta(days=365 - 20)
        ).number
    )
    rounds.close_round(session, actor, MATURITY)

    # An open round in progress: two drafts and one submitted application being scored.
    rounds.open_round(
        session,
        actor,
        rounds.RoundSpec(
            OPEN,
            "Smart city certification (open demo round)",
            rounds.framework_text(KOREAN),
            moment(day - dt.timedelta(days=20)),
            moment(day + dt.timedelta(days=40)),
        ),
    )
    current = rounds.framework_of(rounds.get_round(session, OPEN))
    for code, _name, population, _share in CITIES[4:6]:
        applications.apply(session, actor, OPEN, code, population, now=moment(day))
        made += 1
    code, _name, population, share = CITIES[6]
    city = _city(session, actor, code, _name, population)
    target = _points(current, share, rng)
    app_id = _apply_and_submit(session, actor, OPEN, city, population, dict(target), moment(day))
    made += 1
    for assessor in panel[:4]:
        assessing.assign(session, actor, app_id, assessor.username)
        assessing.score(
            session,
            assessor,
            app_id,
            "document-evaluation",
            {k: AssessorScore(v, "First reading.") for k, v in list(target.items())[:20]},
        )
    # The demo city's `assessor` account (when the demo accounts exist) gets this application
    # too, so that the assessor's pages have an assignment to score.
    demo_assessor = session.scalar(
        select(User).where(User.username == "assessor", User.role == "assessor")
    )
    if demo_assessor is not None:
        assessing.assign(session, actor, app_id, demo_assessor.username)
    return CertificationDemo(
        rounds=(FINISHED, MATURITY, OPEN),
        applications=made + 1,
        certified=certified,
        certificates=tuple(issued),
    )
