"""A demo store ready for the dashboard: the demo city with its citizen activity and the past of
its air stations, its accounts and a few rounds of live sensor readings. The browser tests and
`citymeter bench pages` build one in a fresh database; `citymeter demo` builds the city itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.assessment.demo import build_certification_demo
from citymeter.dashboard.sample import Activity
from citymeter.db import migrate
from citymeter.db.engine import make_sessionmaker
from citymeter.demo import build
from citymeter.demo import feeds as feeds_module
from citymeter.places.models import Area


@dataclass(frozen=True)
class DemoStore:
    city_code: str
    district_codes: list[str]
    head_district: str | None  # code of the district the demo district head heads (the first)
    activity: Activity
    sensor_rounds: int
    centroids: dict[str, tuple[float, float]]  # district code -> (lat, lon)


# The accounts a quick store gets (password hashing is deliberately slow).
QUICK_ACCOUNTS = ("mayor", "district.head", "steward")


def activity_of(made: build.DemoBuild) -> Activity:
    """The citizen activity the build made, from its figures."""
    figures = made.figures
    return Activity(
        complaints=int(figures.get("complaints", 0)),
        incidents=int(figures.get("incidents", 0)),
        open_complaints=int(figures.get("complaints_open", 0)),
        overdue=int(figures.get("complaints_overdue", 0)),
        closed_late=int(figures.get("complaints_closed_late", 0)),
        open_incidents=int(figures.get("incidents_open", 0)),
    )


def build_demo_store(
    engine: Engine, *, months: int = 25, sensor_rounds: int = 3, quick: bool = False
) -> DemoStore:
    """Migrate the (empty) database behind `engine` and fill it; commits. `quick` (the tests)
    makes only the mayor, district head and data steward accounts and skips the certification
    demo."""
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        made = build.build_demo_city(session, SYSTEM_VIEWER, months=months, activity=True)
        city = build.demo_city(session)
        assert city is not None
        if quick:
            first = session.scalar(
                select(Area.code)
                .where(Area.city_id == city.id, Area.level == "district")
                .order_by(Area.code)
                .limit(1)
            )
            for username, role, display_name in build.ACCOUNTS:
                if username in QUICK_ACCOUNTS:
                    accounts.create_user(
                        session, SYSTEM_VIEWER, username=username, role=role,
                        password=build.DEMO_PASSWORD, display_name=display_name,
                        district_code=first if role == "district_head" else None,
                    )  # fmt: skip
        else:
            build.ensure_demo_accounts(session, SYSTEM_VIEWER, city, refresh=True)
            build_certification_demo(session, SYSTEM_VIEWER)
        feeds_module.ensure_demo_source(session, SYSTEM_VIEWER, None)
        activity = activity_of(made)
    simulator = feeds_module.FeedSimulator(sessions, made.city_code)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for n in range(sensor_rounds):
        moment = start - dt.timedelta(minutes=10 * (sensor_rounds - 1 - n))
        simulator.clock = lambda moment=moment: moment  # type: ignore[misc]
        simulator.tick()
    with sessions() as session:
        city = build.demo_city(session)
        assert city is not None
        rows = session.execute(
            select(Area.code, Area.centroid_lat, Area.centroid_lon)
            .where(Area.city_id == city.id, Area.level == "district")
            .order_by(Area.code)
        ).all()
        codes = [code for code, _, _ in rows]
        centroids = {c: (lat, lon) for c, lat, lon in rows if lat is not None and lon is not None}
    return DemoStore(
        city_code=made.city_code,
        district_codes=codes,
        head_district=codes[0] if codes else None,
        activity=activity,
        sensor_rounds=sensor_rounds,
        centroids=centroids,
    )
