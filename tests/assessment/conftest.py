"""A small complete framework, the same one docs/frameworks.md shows, for tests to vary."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

SMALL_POINTS_FRAMEWORK = """
id: town-readiness
name: Town smart readiness
version: "1"
kind: points
source:
  basis: official_text
  note: Written by the Example Certification Body for its 2025 round.
groups:
  - id: services
    name: Services
    max_points: 60
    items:
      - id: transport
        name: Transport
        max_points: 40
        sub_indicators:
          - id: bus-info
            name: Live bus information
            type: quantitative
            indicator: bus_info_share
            max_points: 25
          - {id: bus-plan, name: Bus plan, type: qualitative, max_points: 15}
      - {id: waste, name: Waste, max_points: 20}
  - id: governance
    name: Governance
    items:
      - id: strategy
        name: Strategy
        max_points: 40
        reconstructed: true
        note: Points are our own default.
scale: {type: points, total: 100}
aggregation: {method: sum}
pass_rule: {min_percent: 60}
grade_bands:
  - {grade: C, min_points: 0, certified: false}
  - {grade: B, min_points: 60, certified: true}
  - {grade: A, min_points: 80, certified: true}
eligibility:
  classes:
    - {id: small, name: "Under 50,000", population_min: 0, population_max: 50000}
    - {id: large, name: "50,000 and over", population_min: 50000}
committee: {aggregation: mean, disagreement_threshold: 10}
stages:
  - {id: documents, name: Document review, kind: document_review}
  - {id: decision, name: Decision, kind: decision, role: decides}
certificate: {validity_years: 2, renewal: extension, renewal_notice_months: 3}
justification_required: true
"""


@pytest.fixture
def small_framework_data() -> dict[str, Any]:
    data = yaml.safe_load(SMALL_POINTS_FRAMEWORK)
    assert isinstance(data, dict)
    return copy.deepcopy(data)


# ---- the certification workflow: a body, cities, accounts and a round ---------------------------

import datetime as dt  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from sqlalchemy.orm import Session  # noqa: E402

from citymeter.accounts import service as accounts  # noqa: E402
from citymeter.accounts.permissions import SYSTEM_VIEWER, Viewer  # noqa: E402
from citymeter.assessment import rounds  # noqa: E402
from citymeter.assessment.resolvers import ResolvedValue  # noqa: E402
from citymeter.places import service as places  # noqa: E402

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class TableResolver:
    """A resolver over a fixed table (code → value): what an indicator engine would answer."""

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values

    def resolve(self, session: Session, city_id: int, indicator: str) -> ResolvedValue | None:
        if indicator not in self.values:
            return None
        return ResolvedValue(
            self.values[indicator], "%", "year 2025-01-01", {"kind": "table", "code": indicator}
        )


@dataclass
class Body:
    admin: Viewer
    assessors: list[Viewer]

    def coordinator(self, session: Session, city_code: str) -> Viewer:
        city = places.get_city(session, city_code)
        user = accounts.create_user(
            session,
            SYSTEM_VIEWER,
            username=f"coord-{city_code}",
            role="official",
            password=None,
        )
        user.city_id = city.id
        session.flush()
        return accounts.viewer_for(user)


@pytest.fixture
def body(db: Session) -> Callable[[int], Body]:
    def make(assessor_count: int = 3) -> Body:
        admin = accounts.create_user(
            db, SYSTEM_VIEWER, username="certifier", role="certifier_admin", password=None
        )
        assessors = [
            accounts.viewer_for(
                accounts.create_user(
                    db, SYSTEM_VIEWER, username=f"assessor{n}", role="assessor", password=None
                )
            )
            for n in range(1, assessor_count + 1)
        ]
        return Body(accounts.viewer_for(admin), assessors)

    return make


def make_city(session: Session, code: str, population: int) -> None:
    city = places.create_city(session, SYSTEM_VIEWER, code=code, name=f"City {code}")
    root = places.root_area_of(session, city)
    assert root is not None
    root.population = population
    session.flush()


def open_test_round(session: Session, admin: Viewer, framework_id: str, code: str = "R2026") -> str:
    rounds.open_round(
        session,
        admin,
        rounds.RoundSpec(
            code=code,
            name=f"Round {code}",
            framework=rounds.framework_text(framework_id),
            opens_at=NOW - dt.timedelta(days=30),
            closes_at=NOW + dt.timedelta(days=30),
        ),
    )
    return code
