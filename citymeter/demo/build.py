"""Store the demo city through the ordinary services: city, areas, metrics, one load batch of
observations, and one demo account per role; for `citymeter demo`, its citizen activity and the
past of its air-quality stations as well."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from shapely.geometry import mapping
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts import service as accounts
from citymeter.accounts.models import User
from citymeter.accounts.permissions import Viewer
from citymeter.dashboard.sample import seed_activity
from citymeter.demo.air_history import seed_air_history
from citymeter.demo.geography import CITY_CODE, generate_map
from citymeter.demo.statistics import (
    AGE_BANDS,
    SEXES,
    DemoStatistics,
    generate_statistics,
    last_full_month,
)
from citymeter.errors import Conflict, InvalidInput
from citymeter.incidents.models import Incident
from citymeter.indicators.demo import seed_indicators
from citymeter.observations import service as observations
from citymeter.observations.models import LoadBatch, Observation
from citymeter.observations.service import ObservationRow
from citymeter.places import service as places
from citymeter.places.models import Area, City
from citymeter.suggestions.demo import seed_demo_opinion

DEFAULT_SEED = 2026
DEFAULT_MONTHS = 72
DEMO_PASSWORD = "citymeter-demo"
# Citizen activity per district: complaints over six weeks, incidents over the last week.
COMPLAINTS_PER_DISTRICT = 60
COMPLAINT_DAYS = 42
INCIDENTS_PER_DISTRICT = 8
INCIDENT_DAYS = 7
DEMO_BATCHES = ("demo", "demo-live")  # the incidents of the history and of the live citizens

# code, unit, Korean name, English name
METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("population", "persons", "주민등록 인구", "Registered population"),
    ("households", "households", "세대 수", "Households"),
    ("working_age_population", "persons", "15세 이상 인구", "Population aged 15 and over"),
    ("labour_force", "persons", "경제활동인구", "Labour force"),
    ("employed_persons", "persons", "취업자 수", "Employed persons"),
    ("unemployed_persons", "persons", "실업자 수", "Unemployed persons"),
    ("jobs_created", "jobs", "일자리 창출", "Jobs created"),
    (
        "public_rental_housing_supplied",
        "dwellings",
        "공공임대주택 공급",
        "Public rental housing supplied",
    ),
    ("mini_solar_installations", "installations", "미니태양광 보급", "Mini solar panels installed"),
    ("eco_mileage_members", "persons", "에코마일리지 회원", "Eco-mileage members"),
)

# username, role, display name; the district head heads the first district.
ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("mayor", "mayor", "시장 (Mayor)"),
    ("district.head", "district_head", "구청장 (District head)"),
    ("official", "official", "주무관 (Official)"),
    ("steward", "data_steward", "데이터 관리자 (Data steward)"),
    ("assessor", "assessor", "심사원 (Assessor)"),
    ("certifier", "certifier_admin", "인증기관 (Certification body)"),
    ("admin", "admin", "운영자 (Administrator)"),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    password: str
    district: str | None = None


@dataclass
class DemoBuild:
    """What a build made, for the command to print."""

    city_code: str
    city_name: str
    seed: int
    districts: int
    neighbourhoods: int
    first_month: dt.date
    last_month: dt.date
    rows_stored: int
    population: int
    seconds: float
    batch_id: int
    figures: dict[str, float] = field(default_factory=dict)


def demo_city(session: Session) -> City | None:
    """The demo city if it has been built in this store."""
    return session.scalar(select(City).where(City.code == CITY_CODE))


def remove_demo_city(session: Session, actor: Viewer) -> bool:
    """Delete the demo city with its areas, observations, load batches and incidents (and, by
    cascade, everything else of the city); False if absent.

    Demo accounts stay (the audit log refers to them); a rebuild points them at the new city.
    """
    city = demo_city(session)
    if city is None:
        return False
    area_ids = select(Area.id).where(Area.city_id == city.id).scalar_subquery()
    session.execute(delete(Observation).where(Observation.area_id.in_(area_ids)))
    # Incidents belong to no city, only to its areas (or to the demo's batches): they would
    # outlive it.
    session.execute(
        delete(Incident)
        .where(or_(Incident.district_id.in_(area_ids), Incident.import_batch.in_(DEMO_BATCHES)))
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(LoadBatch).where(LoadBatch.city_id == city.id))
    session.execute(
        delete(Area).where(Area.city_id == city.id).execution_options(synchronize_session=False)
    )
    session.execute(delete(City).where(City.id == city.id))
    session.expire_all()
    audit.record(session, actor, "demo.remove", "city", city.id, {"code": CITY_CODE})
    session.flush()
    return True


def _polygon(geometry: object) -> dict[str, object]:
    return dict(mapping(geometry))


def build_demo_city(
    session: Session,
    actor: Viewer,
    *,
    seed: int = DEFAULT_SEED,
    end: dt.date | None = None,
    months: int = DEFAULT_MONTHS,
    districts: int = 25,
    neighbourhoods: int = 400,
    activity: bool = False,
    now: dt.datetime | None = None,
) -> DemoBuild:
    """Generate the demo city for `seed` and store it; `end` is the last month of statistics
    (default: the last full month before today). Refused if the demo city exists already.

    With `activity` (`citymeter demo` and the dashboard's demo store) the city lives too:
    complaints of the last weeks, incidents of the last days and the air-quality stations' past,
    up to `now` (default: the present), before the indicators are computed. Without it the city
    has its statistics, indicators and citizen suggestions only (the small cities of tests)."""
    started = time.perf_counter()
    if demo_city(session) is not None:
        raise Conflict(
            "The demo city is built already; run `citymeter demo --reset` to build it again."
        )
    if months < 13:
        raise InvalidInput("The demo needs at least 13 months, to compare with a year earlier.")
    end = (end or last_full_month(dt.date.today())).replace(day=1)
    city_map = generate_map(seed, districts=districts, neighbourhoods=neighbourhoods)
    stats = generate_statistics(seed, city_map, end=end, months=months)
    latest = stats.population[-1]  # [n, s, b]
    district_people = stats.district_population[-1].sum(axis=(1, 2))
    neighbourhood_people = latest.sum(axis=(1, 2))

    city = places.create_city(
        session,
        actor,
        code=city_map.code,
        name=city_map.name_ko,
        names={"ko": city_map.name_ko, "en": city_map.name_en},
        country="KR",
        timezone="Asia/Seoul",
        default_language="ko",
        root_area=False,
    )
    root = places.add_area(
        session,
        None,
        city=city,
        code=city_map.code,
        level="city",
        name=city_map.name_ko,
        names={"ko": city_map.name_ko, "en": city_map.name_en},
        boundary=_polygon(city_map.outline),
        population=int(neighbourhood_people.sum()),
        properties={"demo": True, "seed": seed},
    )
    district_areas: list[Area] = []
    for d, place in enumerate(city_map.districts):
        district_areas.append(
            places.add_area(
                session,
                None,
                city=city,
                code=place.code,
                level="district",
                name=place.name_ko,
                names={"ko": place.name_ko, "en": place.name_en},
                parent=root,
                boundary=_polygon(place.geometry),
                population=int(district_people[d]),
            )
        )
    neighbourhood_areas: list[Area] = []
    for n, place in enumerate(city_map.neighbourhoods):
        neighbourhood_areas.append(
            places.add_area(
                session,
                None,
                city=city,
                code=place.code,
                level="neighbourhood",
                name=place.name_ko,
                names={"ko": place.name_ko, "en": place.name_en},
                parent=district_areas[int(stats.district_of[n])],
                boundary=_polygon(place.geometry),
                population=int(neighbourhood_people[n]),
            )
        )
    metric_ids: dict[str, tuple[int, str]] = {}
    for code, unit, name_ko, name_en in METRICS:
        metric = observations.ensure_metric(
            session, None, code=code, name=name_en, unit=unit, names={"ko": name_ko, "en": name_en}
        )
        metric_ids[code] = (metric.id, metric.unit)

    batch = observations.open_batch(
        session, city_id=city.id, file_name=f"citymeter demo (seed {seed})", mapping_name="demo"
    )
    rows = list(
        _rows(
            stats,
            metric_ids,
            root.id,
            [a.id for a in district_areas],
            [a.id for a in neighbourhood_areas],
        )
    )
    stored = observations.store_observations(session, batch, rows)
    figures = headline(stats)
    observations.close_batch(
        session,
        batch,
        rows_read=len(rows),
        stored=stored,
        rejected=0,
        summary={
            "demo": True,
            "seed": seed,
            "first_month": str(stats.months[0]),
            "last_month": str(stats.months[-1]),
        },
    )
    if activity:
        figures.update(_seed_living_city(session, actor, city, seed, now, len(district_areas)))
    # The administration pack and a dozen pledges with mixed progress (citymeter/indicators).
    measured = seed_indicators(session, actor, city.code)
    figures.update({k: float(v) for k, v in measured.items() if isinstance(v, int)})
    # citymeter/suggestions
    figures.update(seed_demo_opinion(session, actor, city, seed=seed, now=now))
    audit.record(
        session,
        actor,
        "demo.build",
        "city",
        city.id,
        {"code": city.code, "seed": seed, "rows": stored, "last_month": str(end)},
    )
    session.flush()
    return DemoBuild(
        city_code=city.code,
        city_name=city_map.name_en,
        seed=seed,
        districts=len(district_areas),
        neighbourhoods=len(neighbourhood_areas),
        first_month=stats.months[0],
        last_month=stats.months[-1],
        rows_stored=stored,
        population=int(neighbourhood_people.sum()),
        seconds=time.perf_counter() - started,
        batch_id=batch.id,
        figures=figures,
    )


def _seed_living_city(
    session: Session, actor: Viewer, city: City, seed: int, now: dt.datetime | None, districts: int
) -> dict[str, float]:
    """Complaints, incidents and the air stations' past (citymeter/dashboard/sample.py,
    citymeter/demo/air_history.py); their counts for the command's summary."""
    made = seed_activity(
        session,
        actor,
        city,
        seed=seed,
        complaints_count=COMPLAINTS_PER_DISTRICT * districts,
        days=COMPLAINT_DAYS,
        incidents_count=INCIDENTS_PER_DISTRICT * districts,
        incident_days=INCIDENT_DAYS,
        now=now,
    )
    air = seed_air_history(session, city, seed=seed, now=now)
    return {
        "complaints": float(made.complaints),
        "complaints_open": float(made.open_complaints),
        "complaints_overdue": float(made.overdue),
        "complaints_closed_late": float(made.closed_late),
        "incidents": float(made.incidents),
        "incidents_open": float(made.open_incidents),
        "air_stations": float(air.stations),
        "air_history_days": float(air.days),
    }


def headline(stats: DemoStatistics) -> dict[str, float]:
    """The latest city figures, for the command's summary."""
    employed = stats.employed[-1]
    working_age = stats.working_age[-1]
    return {
        "population": float(stats.population[-1].sum()),
        "employment_rate": round(100 * employed.sum() / working_age.sum(), 1),
        "women_employment_rate": round(100 * employed[:, 1].sum() / working_age[:, 1].sum(), 1),
        "jobs_created_12m": float(stats.jobs_created[-12:].sum()),
        "public_rental_housing_12m": float(stats.public_rental_housing_supplied[-12:].sum()),
    }


def _by_sex(
    metric: tuple[int, str], area_id: int, month: dt.date, by_sex: list[int]
) -> Iterator[ObservationRow]:
    """Rows for male, female and their total."""
    metric_id, unit = metric
    yield ObservationRow(metric_id, area_id, "month", month, float(sum(by_sex)), unit)
    for sex, value in zip(SEXES, by_sex, strict=True):
        yield ObservationRow(metric_id, area_id, "month", month, float(value), unit, sex)


def _age_rows(
    metric: tuple[int, str], area_id: int, month: dt.date, table: list[list[int]]
) -> Iterator[ObservationRow]:
    """Rows for each age band, by sex and in total; `table` is [sex][band]."""
    metric_id, unit = metric
    for b, band in enumerate(AGE_BANDS):
        male, female = table[0][b], table[1][b]
        yield ObservationRow(
            metric_id, area_id, "month", month, float(male + female), unit, "total", band
        )
        yield ObservationRow(metric_id, area_id, "month", month, float(male), unit, "male", band)
        yield ObservationRow(
            metric_id, area_id, "month", month, float(female), unit, "female", band
        )


def _rows(
    stats: DemoStatistics,
    metrics: dict[str, tuple[int, str]],
    city_id: int,
    district_ids: list[int],
    neighbourhood_ids: list[int],
) -> Iterator[ObservationRow]:
    """Every observation of the build. Population: sex totals every month for the city and
    districts; the full sex × age table in the last month and in the same month of each earlier
    year (neighbourhoods: the last two years). Other series: monthly, districts and city."""
    population = metrics["population"]
    count = len(stats.months)
    yearly = {count - 1 - 12 * k for k in range(count) if count - 1 - 12 * k >= 0}
    recent = {count - 1, count - 13} & yearly
    district_people = stats.district_population  # [t, d, s, b]
    city_people = district_people.sum(axis=1)  # [t, s, b]
    by_sex_series: dict[str, np.ndarray] = {
        "working_age_population": stats.working_age,
        "employed_persons": stats.employed,
        "unemployed_persons": stats.unemployed,
        "labour_force": stats.employed + stats.unemployed,
    }
    plain_series: dict[str, np.ndarray] = {
        "jobs_created": stats.jobs_created,
        "public_rental_housing_supplied": stats.public_rental_housing_supplied,
        "mini_solar_installations": stats.mini_solar_installations,
        "eco_mileage_members": stats.eco_mileage_members,
        "households": stats.households,
    }
    for t, month in enumerate(stats.months):
        for area_id, table in [(city_id, city_people[t].tolist())] + [
            (district_ids[d], district_people[t, d].tolist()) for d in range(len(district_ids))
        ]:
            yield from _by_sex(population, area_id, month, [sum(row) for row in table])
            if t in yearly:
                yield from _age_rows(population, area_id, month, table)
        if t in yearly:
            for n, area_id in enumerate(neighbourhood_ids):
                table = stats.population[t, n].tolist()
                yield from _by_sex(population, area_id, month, [sum(row) for row in table])
                if t in recent:
                    yield from _age_rows(population, area_id, month, table)
        for code, series in by_sex_series.items():
            values = series[t].tolist()  # [d][s]
            yield from _by_sex(
                metrics[code], city_id, month, [sum(v[s] for v in values) for s in (0, 1)]
            )
            for d, area_id in enumerate(district_ids):
                yield from _by_sex(metrics[code], area_id, month, values[d])
        for code, plain in plain_series.items():
            metric_id, unit = metrics[code]
            values = plain[t].tolist()
            yield ObservationRow(metric_id, city_id, "month", month, float(sum(values)), unit)
            for d, area_id in enumerate(district_ids):
                yield ObservationRow(metric_id, area_id, "month", month, float(values[d]), unit)


def ensure_demo_accounts(
    session: Session, actor: Viewer, city: City, *, refresh: bool = False
) -> list[DemoAccount]:
    """One account per role with the demo password. Missing ones are created; with `refresh`
    (after a rebuild) existing ones get the demo password back and the district head is pointed
    at the new city's first district."""
    first_district = session.scalar(
        select(Area)
        .where(Area.city_id == city.id, Area.level == "district")
        .order_by(Area.code)
        .limit(1)
    )
    made: list[DemoAccount] = []
    for username, role, display_name in ACCOUNTS:
        district = first_district if role == "district_head" else None
        user = session.scalar(select(User).where(User.username == username))
        if user is not None and user.role != role:
            raise Conflict(
                f"A user {username!r} exists with the role {user.role!r}; the demo needs it "
                f"as {role!r}. Use another data directory for the demo."
            )
        if user is None:
            accounts.create_user(
                session,
                actor,
                username=username,
                role=role,
                password=DEMO_PASSWORD,
                display_name=display_name,
                district_code=district.code if district is not None else None,
            )
        elif refresh:
            accounts.set_password(session, actor, username, DEMO_PASSWORD)
            if district is not None:
                user.district_id, user.city_id = district.id, city.id
        label = None
        if district is not None:
            label = f"{district.name} ({district.names.get('en', district.code)})"
        made.append(DemoAccount(username, role, DEMO_PASSWORD, label))
    session.flush()
    return made
