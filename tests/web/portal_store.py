"""A small demo city for the portal page tests, built once per test module and backend inside a
transaction rolled back at the end: four districts with computed indicators and pledges, plus
what the demo lacks — age-band values (some suppressed), an internal indicator, incidents with
personal remarks and CCTV beside them, complaints with requester fields, a suggestion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.complaints import service as complaints
from citymeter.db.base import utcnow
from citymeter.demo import build
from citymeter.entities.models import Entity
from citymeter.incidents import service as incidents
from citymeter.incidents.service import IncidentIn, StageIn
from citymeter.indicators.models import IndicatorValue
from citymeter.places.models import Area
from citymeter.settings import Settings
from citymeter.suggestions import service as suggestions
from citymeter.web.app import create_app
from citymeter.web.deps import get_db

END = dt.date(2026, 10, 1)
AGE_PERIOD = dt.date(2026, 10, 1)
SECRET_REMARK = "caller Kim Minji 010-1234-5678"
SECRET_ADDRESS = "12 Secret-ro 3-gil"
REQUESTER = ("Hong", "Gildong", "hong.gildong@example.org", "010-9999-0000")
AUTHOR = ("Lee Sunsin", "lee@example.org")


@dataclass
class PortalStore:
    city_code: str
    districts: list[str]  # codes; the district head heads the first
    tokens: dict[str, str]  # role → Bearer token
    incidents: dict[str, str] = field(default_factory=dict)  # "own" / "other" → number
    complaints: dict[str, str] = field(default_factory=dict)  # "own" / "other" / "late" → id
    suggestion_id: int = 0

    def headers(self, role: str) -> dict[str, str]:
        token = self.tokens.get(role)
        return {"Authorization": f"Bearer {token}"} if token else {}


def _value(
    city_id: int, area_id: int, code: str, grain: str, start: dt.date, value: float, *,
    sex: str = "total", age: str = "total", min_count: float | None = 1000.0, unit: str = "%",
) -> IndicatorValue:  # fmt: skip
    return IndicatorValue(
        pack="administration", code=code, definition_version=1, city_id=city_id, area_id=area_id,
        grain=grain, period_start=start, sex=sex, age_band=age, value=value, unit=unit,
        quality="measured", input_count=10, min_count=min_count, provenance={"inputs": {}},
    )  # fmt: skip


def _s(seconds: int) -> dt.timedelta:
    return dt.timedelta(seconds=seconds)


def build_store(session: Session) -> PortalStore:
    build.build_demo_city(
        session, SYSTEM_VIEWER, seed=3, end=END, months=25, districts=4, neighbourhoods=8
    )
    city = build.demo_city(session)
    assert city is not None
    build.ensure_demo_accounts(session, SYSTEM_VIEWER, city)
    districts = list(
        session.scalars(
            select(Area)
            .where(Area.city_id == city.id, Area.level == "district")
            .order_by(Area.code)
        )
    )
    root = session.scalar(select(Area).where(Area.city_id == city.id, Area.level == "city"))
    assert root is not None
    own, other = districts[0], districts[1]
    # Age bands of the employment rate in the two first districts; the 15-19 cells rest on
    # three people and are suppressed for the public.
    for district in (own, other):
        for age, base, count in (
            ("15-19", 12.5, 3.0),
            ("20-29", 58.0, 400.0),
            ("30-39", 75.5, 500.0),
        ):
            for sex, delta in (("male", 2.0), ("female", -2.0)):
                session.add(
                    _value(city.id, district.id, "employment_rate", "month", AGE_PERIOD,
                           base + delta, sex=sex, age=age, min_count=count)
                )  # fmt: skip
    # An internal indicator for the city and the two first districts.
    for area, rate in ((root, 24.1), (own, 21.5), (other, 27.3)):
        session.add(
            _value(city.id, area.id, "suicide_rate", "year", dt.date(2025, 1, 1), rate,
                   unit="per 100,000 persons")
        )  # fmt: skip
    session.flush()

    store = PortalStore(city.code, [d.code for d in districts], {})
    reported = dt.datetime(2026, 10, 20, 9, 0, tzinfo=dt.UTC)
    for key, district in (("own", own), ("other", other)):
        assert district.centroid_lat is not None and district.centroid_lon is not None
        number = f"T-{key}"
        incidents.create_incidents(
            session,
            SYSTEM_VIEWER,
            [
                IncidentIn(
                    number=number, type="fire-building", category="fire", severity=4,
                    reported_at=reported, lat=district.centroid_lat, lon=district.centroid_lon,
                    address=SECRET_ADDRESS, remarks=SECRET_REMARK,
                    stages=[
                        StageIn(unit="E-11", stage="dispatched", at=reported + _s(90)),
                        StageIn(unit="E-11", stage="on_scene", at=reported + _s(410)),
                        StageIn(unit="A-2", stage="dispatched", at=reported + _s(120)),
                    ],
                )
            ],
        )  # fmt: skip
        store.incidents[key] = number
        for n, (dlat, name, visibility) in enumerate(
            ((0.0009, f"CCTV far {key}", "public"), (0.0002, f"CCTV near {key}", "public"),
             (0.0004, f"CCTV hidden {key}", "internal"))
        ):  # fmt: skip
            session.add(
                Entity(
                    entity_id=f"urn:ngsi-ld:CctvCamera:{key}-{n}", type="CctvCamera",
                    city_id=city.id, district_id=district.id, lat=district.centroid_lat + dlat,
                    lon=district.centroid_lon, visibility=visibility,
                    attributes={"name": {"type": "Property", "value": name}},
                )
            )  # fmt: skip
    session.flush()

    complaints.create_service_type(
        session, SYSTEM_VIEWER, city, code="pothole", name="Pothole", target_hours=48,
        department="Roads",
    )  # fmt: skip
    for key, district in (("own", own), ("other", other), ("late", own)):
        assert district.centroid_lat is not None and district.centroid_lon is not None
        request = complaints.submit_request(
            session, SYSTEM_VIEWER, city,
            complaints.NewRequest(
                service_code="pothole", lat=district.centroid_lat, long=district.centroid_lon,
                address=SECRET_ADDRESS, description=f"A deep pothole ({key})",
                first_name=REQUESTER[0], last_name=REQUESTER[1], email=REQUESTER[2],
                phone=REQUESTER[3],
            ),
        )  # fmt: skip
        if key == "late":
            request.requested_at = utcnow() - dt.timedelta(days=5)
            request.expected_at = utcnow() - dt.timedelta(days=3)
        elif key == "other":
            complaints.set_status(session, SYSTEM_VIEWER, request, "closed", "Filled in")
        store.complaints[key] = request.service_request_id
    session.flush()

    citizen = accounts.create_user(
        session, SYSTEM_VIEWER, username="resident", role="public", password="resident-pass-1"
    )
    resident = accounts.viewer_for(citizen)
    suggestion = suggestions.submit(
        session, resident, city,
        suggestions.NewSuggestion(
            title="More benches in the park", body="The park by the river needs benches.",
            category="environment", area_code=own.code, author_name=AUTHOR[0],
            author_contact=AUTHOR[1],
        ),
    )  # fmt: skip
    suggestions.respond(
        session, SYSTEM_VIEWER, suggestion, text="Ten benches will be installed.",
        outcome="adopted", responder="Parks Division",
    )  # fmt: skip
    store.suggestion_id = suggestion.id
    session.flush()
    for role, username in (("mayor", "mayor"), ("district_head", "district.head")):
        _, secret = accounts.create_token(session, SYSTEM_VIEWER, username, "portal tests")
        store.tokens[role] = secret
    session.flush()
    return store


@pytest.fixture(scope="module", name="portal")
def portal_fixture(
    engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, PortalStore]]:
    """A client over the portal store; the store is rolled back after the module."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    folder: Path = tmp_path_factory.mktemp("portal")
    settings = Settings(
        data_dir=folder / "data", secret_key="test-secret", run_connectors=False,
        live_backend="memory",
    )  # fmt: skip
    try:
        store = build_store(session)
        app = create_app(settings, engine)

        def _db() -> Iterator[Session]:
            yield session
            session.flush()

        app.dependency_overrides[get_db] = _db
        with TestClient(app) as client:
            yield client, store
    finally:
        session.close()
        outer.rollback()
        connection.close()
