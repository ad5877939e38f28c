"""Live citizen activity while the demo serves: a complaint every 30-60 s (and now and then an
official closing an older one), an emergency call every few minutes whose units then go through
their stages (dispatched → en route → on scene → cleared) over the next minutes, and a citizen
suggestion from time to time.

Everything goes through the ordinary services (`complaints.submit_request` and `set_status`,
`incidents.create_incidents` and `advance`, `suggestions.submit`), so the live bus announces it
and open dashboards redraw. The feed simulator ticks it (`FeedSimulator(citizens=True)`); ticking
it directly with a clock does the same without any thread. The same seed gives the same sequence
of events; only their times (and the ids the services draw) come from the clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from citymeter.accounts.permissions import Viewer
from citymeter.complaints import service as complaints
from citymeter.complaints.models import ServiceRequest
from citymeter.dashboard import sample
from citymeter.errors import CityMeterError
from citymeter.incidents import service as incidents
from citymeter.incidents.models import STAGES, Incident, IncidentType
from citymeter.places.models import Area, City
from citymeter.suggestions import demo as opinion
from citymeter.suggestions import service as suggestions

log = logging.getLogger(__name__)

DEFAULT_SEED = 2026
# Seconds between two events of a kind (drawn uniformly).
COMPLAINT_EVERY_S = (30.0, 60.0)
INCIDENT_EVERY_S = (150.0, 300.0)
SUGGESTION_EVERY_S = (240.0, 480.0)
# The first of each comes soon after the start, so that a fresh dashboard sees one.
FIRST_S = {"complaint": (5.0, 25.0), "incident": (20.0, 90.0), "suggestion": (60.0, 180.0)}
CLOSE_CHANCE = 0.6  # with each complaint, an official closes an older open one
CLOSE_AFTER = dt.timedelta(minutes=20)  # ... filed at least this long ago
WORK_SCALE = 0.5  # live incidents clear faster than the history's, so the board moves
MAX_CATCH_UP = 5  # events of one kind per tick after a pause; the rest are skipped

# Who acts: the city's Open311 gateway, the 119/112 dispatch system, a department, residents.
GATEWAY = Viewer(user_id=None, username="demo-open311", role="data_steward")
DISPATCH = Viewer(user_id=None, username="demo-dispatch", role="data_steward")
OFFICIAL = Viewer(user_id=None, username="official", role="official")
RESIDENTS = Viewer(user_id=None, username="demo-residents", role="data_steward")


@dataclass(frozen=True)
class PendingStage:
    due: dt.datetime
    number: str
    unit: str
    stage: str


class CitizenSimulator:
    """Files the demo city's live complaints, incidents and suggestions as they fall due."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        city_code: str,
        *,
        seed: int = DEFAULT_SEED,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.sessions = sessions
        self.city_code = city_code
        self.seed = seed
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))
        self.rng = random.Random(f"{seed}-citizens")
        self.done: Counter[str] = Counter()
        self.errors: list[str] = []
        self.pending: list[PendingStage] = []
        self._next: dict[str, dt.datetime] = {}
        with sessions() as session, session.begin():
            city = self._city(session)
            self.tz = ZoneInfo(city.timezone)
            sample.ensure_services(session, GATEWAY, city)
            # The districts behave as in the build's history (same seed, same profiles); their
            # areas stay readable once the session is closed.
            self.profiles = sample.district_profiles(
                session, random.Random(seed), sample.districts_of(session, city)
            )
        self._weights = [p.busy for p in self.profiles]
        self._parking = self.profiles[0] if self.profiles else None

    def _city(self, session: Session) -> City:
        city = session.scalar(select(City).where(City.code == self.city_code))
        if city is None:
            raise ValueError(f"there is no city {self.city_code!r} to simulate")
        return city

    def _draw(self, kind: str) -> float:
        every = {
            "complaint": COMPLAINT_EVERY_S,
            "incident": INCIDENT_EVERY_S,
            "suggestion": SUGGESTION_EVERY_S,
        }[kind]
        return self.rng.uniform(*every)

    def tick(self, at: dt.datetime | None = None) -> Counter[str]:
        """File what has fallen due by `at` (default: the clock); returns what was done."""
        at = at or self.clock()
        done: Counter[str] = Counter()
        if not self.profiles:
            return done
        if not self._next:
            for kind, (low, high) in FIRST_S.items():
                self._next[kind] = at + dt.timedelta(seconds=self.rng.uniform(low, high))
            done += self._attempt("resume", partial(self._resume, at))
        actions: dict[str, Callable[[dt.datetime], Counter[str]]] = {
            "complaint": self._complaint,
            "incident": self._incident,
            "suggestion": self._suggestion,
        }
        for kind, action in actions.items():
            for _ in range(MAX_CATCH_UP):
                if self._next[kind] > at:
                    break
                done += self._attempt(kind, partial(action, self._next[kind]))
                self._next[kind] += dt.timedelta(seconds=self._draw(kind))
            if self._next[kind] <= at:  # a long pause: start again from now
                self._next[kind] = at + dt.timedelta(seconds=self._draw(kind))
        due = [p for p in self.pending if p.due <= at]
        self.pending = [p for p in self.pending if p.due > at]
        for stage in sorted(due, key=lambda p: (p.due, p.number, p.unit)):
            done += self._attempt("stage", partial(self._advance, stage))
        self.done += done
        return done

    def _attempt(self, kind: str, action: Callable[[], Counter[str]]) -> Counter[str]:
        try:
            return action()
        except CityMeterError as exc:  # keep the city living; say what went wrong
            self.errors.append(f"{kind}: {exc}")
            del self.errors[:-20]
            log.warning("demo citizens: %s: %s", kind, exc)
            return Counter()

    def _complaint(self, at: dt.datetime) -> Counter[str]:
        rng = self.rng
        profile = rng.choices(self.profiles, self._weights)[0]
        code, words = sample.pick_service(rng, profile, rising=True)
        place = rng.choice(profile.places)
        done: Counter[str] = Counter()
        with self.sessions() as session, session.begin():
            city = self._city(session)
            spot = sample.spot_in(sample.city_locator(session, city), rng, place)
            if spot is not None:
                complaints.submit_request(
                    session,
                    GATEWAY,
                    city,
                    complaints.NewRequest(
                        service_code=code,
                        lat=spot[0],
                        long=spot[1],
                        description=words,
                        first_name="시민",
                        email=f"resident{rng.randint(1000, 9999)}@example.org",
                    ),
                )
                done["complaints"] += 1
            if rng.random() < CLOSE_CHANCE:
                done += self._close(session, city, at)
        return done

    def _close(self, session: Session, city: City, at: dt.datetime) -> Counter[str]:
        """An official closes one of the older open requests."""
        older = list(
            session.scalars(
                select(ServiceRequest)
                .where(
                    ServiceRequest.city_id == city.id,
                    ServiceRequest.status == "open",
                    ServiceRequest.requested_at <= at - CLOSE_AFTER,
                )
                .order_by(ServiceRequest.requested_at, ServiceRequest.id)
                .limit(30)
            )
        )
        if not older:
            return Counter()
        request = self.rng.choice(older)
        complaints.set_status(
            session, OFFICIAL, request, "closed", self.rng.choice(sample.CLOSING_NOTES)
        )
        return Counter(closed=1)

    def _incident(self, at: dt.datetime) -> Counter[str]:
        rng = self.rng
        profile = rng.choices(self.profiles, [w**0.5 for w in self._weights])[0]
        kind, severity = sample.pick_incident(rng, profile)
        place = rng.choice(profile.places)
        local = at.astimezone(self.tz)
        number = f"LIVE-{local:%Y%m%d-%H%M%S}"
        plan = sample.unit_plan(rng, kind, profile.area, at, severity, work_scale=WORK_SCALE)
        with self.sessions() as session, session.begin():
            city = self._city(session)
            spot = sample.spot_in(sample.city_locator(session, city), rng, place, spread=0.004)
            if spot is None:
                return Counter()
            incidents.ensure_type(
                session,
                kind.code,
                category=kind.category,
                name_en=kind.name_en,
                name_ko=kind.name_ko,
                severity=kind.severity,
            )
            incidents.create_incidents(
                session,
                DISPATCH,
                [
                    incidents.IncidentIn(
                        number=number,
                        type=kind.code,
                        category=kind.category,
                        severity=severity,
                        reported_at=at,
                        lat=spot[0],
                        lon=spot[1],
                        address=sample.street_address(rng, place),
                        remarks="출동 지령 메모 (internal)",
                    )
                ],
                batch="demo-live",
                city=city,
            )
        self.pending += [PendingStage(s.at, number, s.unit, s.stage) for s in plan]
        return Counter(incidents=1)

    def _resume(self, at: dt.datetime) -> Counter[str]:
        """Plan the rest of the open incidents of the last day (the build's, or those of an
        earlier run): each unit goes on from the stage it reached."""
        by_id = {p.area.id: p.area for p in self.profiles}
        kinds = {k.code: k for k in sample.INCIDENT_KINDS}
        planned = 0
        with self.sessions() as session:
            rows = session.execute(
                select(Incident, IncidentType.code)
                .join(IncidentType, IncidentType.id == Incident.type_id)
                .where(
                    Incident.district_id.in_(list(by_id)),
                    Incident.status.not_in(sample.CLOSED_STATUSES),
                    Incident.reported_at >= at - dt.timedelta(hours=24),
                )
                .order_by(Incident.reported_at, Incident.number)
            ).all()
            for incident, code in rows:
                district = by_id[incident.district_id] if incident.district_id else None
                reached = [
                    (s.unit, s.stage, s.at) for s in incidents.timeline_of(session, incident)
                ]
                rest = self._rest_of(
                    kinds.get(code, sample.INCIDENT_KINDS[0]), district, reached, at
                )
                self.pending += [PendingStage(due, incident.number, u, st) for u, st, due in rest]
                planned += len(rest)
        return Counter(resumed=planned)

    def _rest_of(
        self,
        kind: sample.IncidentKind,
        district: Area | None,
        reached: list[tuple[str, str, dt.datetime]],
        at: dt.datetime,
    ) -> list[tuple[str, str, dt.datetime]]:
        """The stages each unit has still to go through, from `at` on."""
        rng = self.rng
        last: dict[str, tuple[str, dt.datetime]] = {}
        for unit, stage, when in reached:
            last[unit] = (stage, when)
        if not last and district is not None:  # nobody sent yet
            plan = sample.unit_plan(rng, kind, district, at, kind.severity, work_scale=WORK_SCALE)
            return [(s.unit, s.stage, s.at) for s in plan]
        steps = {
            "en_route": lambda: dt.timedelta(seconds=rng.uniform(*sample.DISPATCH_TO_ROLL_S)),
            "on_scene": lambda: dt.timedelta(minutes=rng.uniform(*sample.TRAVEL_MIN)),
            "cleared": lambda: dt.timedelta(
                minutes=rng.uniform(*kind.minutes_on_scene) * WORK_SCALE
            ),
        }
        rest = []
        for unit, (stage, when) in sorted(last.items()):
            moment = max(when, at)
            for following in STAGES[STAGES.index(stage) + 1 :]:
                moment += steps[following]()
                rest.append((unit, following, moment.replace(microsecond=0)))
        return rest

    def _advance(self, stage: PendingStage) -> Counter[str]:
        with self.sessions() as session, session.begin():
            incidents.advance(session, DISPATCH, stage.number, stage.unit, stage.stage, stage.due)
        return Counter(stages=1)

    def _suggestion(self, at: dt.datetime) -> Counter[str]:
        rng = self.rng
        # This week's rising topic goes on: illegal parking in the first district.
        if self._parking is not None and rng.random() < opinion.PARKING_SHARE:
            profile, category = self._parking, "transport"
            title, body = rng.choice(opinion.PARKING)
        else:
            profile = rng.choices(self.profiles, self._weights)[0]
            category = rng.choice(list(opinion.TOPICS))
            title, body = rng.choice(opinion.TOPICS[category])
        place = rng.choice(profile.places)
        with self.sessions() as session, session.begin():
            suggestions.submit(
                session,
                RESIDENTS,
                self._city(session),
                suggestions.NewSuggestion(
                    title=title,
                    body=body.format(place=place.name),
                    category=category,
                    area_code=place.code,
                    author_name=f"주민{rng.randint(1000, 9999)}",
                ),
                channel="demo",
            )
        return Counter(suggestions=1)
