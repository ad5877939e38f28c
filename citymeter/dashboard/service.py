"""The dashboard's three areas, each assembled from the panel functions for one scope (the city or
a district), for the HTML pages and the JSON API alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.complaints.models import ServiceRequest
from citymeter.dashboard import administration, status, voice
from citymeter.dashboard.administration import IndicatorCard, PledgeBoard, Rank
from citymeter.dashboard.scope import Scope, resolve
from citymeter.dashboard.status import (
    ActiveAlert,
    AirQuality,
    Incidents,
    Mobility,
    SourceHealth,
)
from citymeter.dashboard.voice import Complaints, NewestSuggestion, Topic
from citymeter.db.base import utcnow
from citymeter.incidents.models import Incident

__all__ = [
    "Administration",
    "CitizenVoice",
    "Dashboard",
    "Pulse",
    "UrbanStatus",
    "administration_area",
    "dashboard",
    "pulse",
    "resolve",
    "urban_status",
    "voice_area",
]


@dataclass(frozen=True)
class UrbanStatus:
    air: AirQuality
    incidents: Incidents
    mobility: Mobility
    alerts: list[ActiveAlert]
    sources: SourceHealth


@dataclass(frozen=True)
class CitizenVoice:
    complaints: Complaints
    suggestions: list[NewestSuggestion]
    topics: list[Topic]
    suggestions_available: bool = True


@dataclass(frozen=True)
class Administration:
    cards: list[IndicatorCard]
    pledges: PledgeBoard
    ranks: list[Rank] = field(default_factory=list)


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    status: UrbanStatus
    voice: CitizenVoice
    administration: Administration
    generated_at: dt.datetime


def urban_status(session: Session, scope: Scope) -> UrbanStatus:
    air = status.air_quality(session, scope)
    live = status.incidents(session, scope)
    health = status.source_health(session, scope)
    return UrbanStatus(
        air=air,
        incidents=live,
        mobility=status.mobility(session, scope),
        alerts=status.alerts(session, scope, air, live, health),
        sources=health,
    )


def voice_area(session: Session, scope: Scope) -> CitizenVoice:
    try:
        newest = voice.suggestions(session, scope)
        topics = voice.rising_topics(session, scope)
        available = True
    except ImportError:  # a build without the suggestions and trends features
        newest, topics, available = [], [], False
    return CitizenVoice(voice.complaints(session, scope), newest, topics, available)


def administration_area(
    session: Session,
    scope: Scope,
    *,
    min_count: int,
    city_air: AirQuality | None = None,
    city_complaints: Complaints | None = None,
) -> Administration:
    ranks: list[Rank] = []
    if scope.district is not None and city_air is not None and city_complaints is not None:
        ranks = administration.district_ranks(
            session, scope, city_air, city_complaints, min_count=min_count
        )
    return Administration(
        cards=administration.indicator_cards(session, scope, min_count=min_count),
        pledges=administration.pledge_board(session, scope),
        ranks=ranks,
    )


AREAS = ("status", "voice", "administration")


def dashboard(
    session: Session, scope: Scope, *, min_count: int, areas: tuple[str, ...] = AREAS
) -> Dashboard:
    """Every panel for the scope (or those of some `areas`: the others come back empty). A
    district page also ranks the district among all districts, which needs the city-wide air
    and complaint figures at the same level of detail."""
    urban = urban_status(session, scope) if "status" in areas else _no_status()
    citizens = voice_area(session, scope) if "voice" in areas else _no_voice()
    if "administration" not in areas:
        return Dashboard(scope, urban, citizens, Administration([], PledgeBoard([], {})), utcnow())
    city_air = city_complaints = None
    if scope.district is not None:
        city_scope = Scope(
            scope.city, scope.root, scope.districts, None, scope.viewer, scope.reader,
            scope.internal,
        )  # fmt: skip
        city_air = status.air_quality(session, city_scope)
        city_complaints = voice.complaints(session, city_scope, newest=0)
    admin = administration_area(
        session, scope, min_count=min_count, city_air=city_air, city_complaints=city_complaints
    )
    return Dashboard(scope, urban, citizens, admin, utcnow())


def _no_status() -> UrbanStatus:
    return UrbanStatus(
        AirQuality([], None, None),
        Incidents([], 0, 0, 0),
        Mobility([], None, 0, 0, 0, 0, None),
        [],
        SourceHealth([]),
    )


def _no_voice() -> CitizenVoice:
    return CitizenVoice(Complaints(0, 0, 0, 0, 0, [], [], 0), [], [])


@dataclass(frozen=True)
class Pulse:
    """Cheap version stamps: the page refreshes a panel when its stamp moves."""

    incidents: int
    complaints: int
    at: dt.datetime


def pulse(session: Session, scope: Scope) -> Pulse:
    incidents = select(func.max(Incident.id))
    complaints = select(func.max(ServiceRequest.id), func.max(ServiceRequest.updated_at)).where(
        ServiceRequest.city_id == scope.city.id
    )
    if scope.district is not None:
        incidents = incidents.where(Incident.district_id == scope.district.id)
        complaints = complaints.where(ServiceRequest.district_id == scope.district.id)
    newest, updated = session.execute(complaints).one()
    stamp = int(newest or 0) * 1000 + (int(updated.timestamp()) % 1000 if updated else 0)
    return Pulse(int(session.scalar(incidents) or 0), stamp, utcnow())


def viewer_scope(
    session: Session, viewer: Viewer, *, city: str | None = None, district: str | None = None
) -> Scope | None:
    return resolve(session, viewer, city_code=city, district=district)
