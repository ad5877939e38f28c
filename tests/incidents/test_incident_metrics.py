"""Incidents as indicator-engine inputs: counts and response-time medians per district and month
through the shipped definitions, on hand-made incidents and on the real fire/EMS log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.incidents import importer, metrics, service
from citymeter.incidents.service import IncidentIn, StageIn
from citymeter.indicators import engine
from citymeter.indicators.loader import load_pack
from citymeter.indicators.models import IndicatorValue
from citymeter.places.models import Area, City
from citymeter.places.service import create_city
from tests.entities.conftest import EAST_POINT, WEST_POINT
from tests.incidents.conftest import SmallCity

SEOUL = dt.timezone(dt.timedelta(hours=9))  # testville's time zone, Asia/Seoul, has no DST
FIRES = "fire_incidents"
MEDIAN = "emergency_response_time_median"
JAN, FEB, YEAR = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 1, 1)
LANCASTER = ZoneInfo("America/Chicago")


def seoul(day: int, hour: int, minute: int = 0, month: int = 1) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SEOUL)


def incident(
    number: str,
    kind: str,
    category: str,
    called: dt.datetime,
    dispatch_after_s: int,
    arrival_after_s: int | None,
    where: dict[str, float] | None = None,
    severity: int | None = None,
) -> IncidentIn:
    """An incident whose unit E1 is dispatched, then (if given) arrives `arrival_after_s` later."""
    dispatched = called + dt.timedelta(seconds=dispatch_after_s)
    stages = [StageIn(unit="E1", stage="dispatched", at=dispatched)]
    if arrival_after_s is not None:
        arrived = dispatched + dt.timedelta(seconds=arrival_after_s)
        stages.append(StageIn(unit="E1", stage="on_scene", at=arrived))
    return IncidentIn.model_validate(
        {
            "number": number,
            "type": kind,
            "category": category,
            "reported_at": called,
            "stages": stages,
            "severity": severity,
            **(where or {}),
        }
    )


@pytest.fixture
def incidents(db: Session, small_city: SmallCity) -> City:
    """Seven incidents in Testville (times in Seoul, the city's zone): see the comments."""
    service.create_incidents(
        db,
        SYSTEM_VIEWER,
        [
            # West (and its neighbourhood Old Town), January.
            incident("F-1", "FIRE", "fire", seoul(10, 10), 60, 300, WEST_POINT, severity=4),
            # Dispatched 23:52 on 31 January, arrives 00:04 on 1 February: 720 s, in January.
            incident("F-2", "STRUCFIRE", "fire", seoul(31, 23, 50), 120, 720, WEST_POINT),
            incident("M-1", "33C2", "medical", seoul(15, 9), 120, 540, WEST_POINT),
            # East: M-2 in January; M-3 at 16:30 UTC on 31 January, 01:30 on 1 February in
            # Seoul, so a February incident, dispatched but not arrived; F-4 in February.
            incident("M-2", "33C2", "medical", seoul(20, 8), 30, 800, EAST_POINT),
            incident("M-3", "33C2", "medical", seoul(1, 1, 30, month=2), 30, None, EAST_POINT),
            incident("F-4", "FIRE", "fire", seoul(10, 12, month=2), 45, 420, EAST_POINT),
            # No location (outside any district): the city only.
            incident("F-3", "FIRE", "fire", seoul(5, 3), 90, 1000),
        ],
    )
    return small_city.city


def _values(db: Session, city: City, pack: str) -> dict[tuple[str, str, str, dt.date], float]:
    codes = {a.id: a.code for a in db.scalars(select(Area).where(Area.city_id == city.id))}
    return {
        (v.code, codes[v.area_id], v.grain, v.period_start): v.value
        for v in db.scalars(
            select(IndicatorValue).where(
                IndicatorValue.city_id == city.id, IndicatorValue.pack == pack
            )
        )
    }


def test_fires_and_median_response_per_district_and_month(db: Session, incidents: City) -> None:
    report = engine.compute(
        db, city_code="testville", pack_id="administration", codes=[FIRES, MEDIAN]
    )
    assert report.unresolved == {} and report.errors == [] and report.problems == []
    assert sorted(report.computed) == [MEDIAN, FIRES]
    v = _values(db, incidents, "administration")
    city = incidents.code

    def at(code: str, area: str, start: dt.date, grain: str = "month") -> float | None:
        return v.get((code, area, grain, start))

    # January in Seoul. West: F-1 (300 s), F-2 (720 s, past midnight), M-1 (540 s).
    assert at(FIRES, "W", JAN) == 2  # FIRE and STRUCFIRE are both of the fire category
    assert at(MEDIAN, "W", JAN) == 540
    # East: M-2 only; no fire, which is 0 because the district had incidents that month.
    assert at(FIRES, "E", JAN) == 0
    assert at(MEDIAN, "E", JAN) == 800
    # The city adds F-3, which has no location: 300, 540, 720, 800, 1000.
    assert at(FIRES, city, JAN) == 3
    assert at(MEDIAN, city, JAN) == 720
    # February in Seoul: M-3 (called 16:30 UTC on 31 January, no arrival) and F-4 (420 s).
    assert at(FIRES, "E", FEB) == 1
    assert at(MEDIAN, "E", FEB) == 420
    assert at(FIRES, "W", FEB) is None  # no incident in West: no value, not 0
    assert at(MEDIAN, "W", FEB) is None
    assert at(FIRES, city, FEB) == 1
    assert at(MEDIAN, city, FEB) == 420
    # The year from its own incidents: 300 420 540 720 800 1000 → (540 + 720) / 2.
    assert at(MEDIAN, city, YEAR, "year") == 630
    assert at(FIRES, city, YEAR, "year") == 4
    assert at(MEDIAN, "E", YEAR, "year") == 610
    assert at(FIRES, "W", YEAR, "year") == 2
    assert at(FIRES, "W", dt.date(2025, 1, 1), "quarter") == 2
    # Neighbourhoods are not among these definitions' area levels.
    assert not any(key[1] == "W1" for key in v)


def test_other_packs_read_the_same_response_times(db: Session, incidents: City) -> None:
    engine.compute(
        db, city_code="testville", pack_id="u4ssc-style", codes=["emergency_response_time"]
    )
    engine.compute(db, city_code="testville", pack_id="iso-37120-style", codes=[MEDIAN])
    minutes = _values(db, incidents, "u4ssc-style")
    assert minutes[("emergency_response_time", incidents.code, "year", YEAR)] == 10.5  # 630 s
    seconds = _values(db, incidents, "iso-37120-style")
    assert seconds[(MEDIAN, "W", "month", JAN)] == 540


PACK = """
id: incident-probe
version: 1
names: {en: Incident probe}
source_note: A pack written for the incident input tests.
themes: [{code: safety, names: {en: Safety}}]
indicators:
  - code: severe_incidents
    names: {en: Severe incidents}
    unit: incidents
    theme: safety
    direction: lower_is_better
    periodicity: month
    breakdowns: {area_levels: [neighbourhood]}
    formula: 'count(incidents, priority: 4)'
  - code: medical_response_mean
    names: {en: Mean medical response time}
    unit: s
    theme: safety
    direction: lower_is_better
    periodicity: month
    formula: 'mean(incidents.response_time_s, type: medical)'
  - code: response_time_p90
    names: {en: 90th percentile of response times}
    unit: s
    theme: safety
    direction: lower_is_better
    periodicity: month
    formula: 'percentile(incidents.response_time_s, p: 90)'
  - code: casualties
    names: {en: Casualties}
    unit: count
    theme: safety
    direction: lower_is_better
    formula: sum(incidents.casualties)
"""


def test_filters_neighbourhoods_and_fields_not_kept(
    db: Session, incidents: City, tmp_path: Path
) -> None:
    path = tmp_path / "incident-probe.yaml"
    path.write_text(PACK, encoding="utf-8")
    report = engine.compute(db, city_code="testville", pack_id=str(path), full=True)
    # Casualties are not recorded by the incidents feature: reported, not treated as zero.
    assert report.unresolved == {
        "sum(incidents.casualties)": "incidents record no casualties (they have response_time_s)"
    }
    v = _values(db, incidents, "incident-probe")
    # Old Town holds F-1 (severity 4), F-2 and M-1 in January.
    assert v[("severe_incidents", "W1", "month", JAN)] == 1
    assert not any(
        key[1] in ("W", "E", incidents.code) for key in v if key[0] == "severe_incidents"
    )
    # Medical (the category of 33C2): M-1 540 s and M-2 800 s in January; M-3 has no arrival.
    assert v[("medical_response_mean", incidents.code, "month", JAN)] == 670
    assert ("medical_response_mean", "E", "month", FEB) not in v
    # The city in January: 300 540 720 800 1000; 0.9 of the way is 800 + 0.6 × 200.
    assert v[("response_time_p90", incidents.code, "month", JAN)] == pytest.approx(920)


def test_incidents_without_location_need_a_single_city(db: Session, incidents: City) -> None:
    create_city(db, SYSTEM_VIEWER, code="otherville", name="Otherville")
    report = engine.compute(db, city_code="testville", pack_id="administration", codes=[FIRES])
    assert report.problems == [
        "1 incident(s) without a location not counted for testville: the store holds several "
        "cities and an incident without a location names none"
    ]
    v = _values(db, incidents, "administration")
    assert v[(FIRES, incidents.code, "month", JAN)] == 2  # F-1 and F-2; F-3 is left out
    assert v[(FIRES, "W", "month", JAN)] == 2


@pytest.mark.realdata
@pytest.mark.slow
def test_real_log_median_dispatch_to_first_arrival(db: Session, real_data: Path) -> None:
    """The whole Lancaster County log (2010–2020, no locations): the year cells of the shipped
    definition hold every incident with both times once, and its formula over them is 604 s."""
    path = real_data / "fire_ems_dispatch" / "rvfd-calls-for-service-2010-2020.csv"
    city = create_city(
        db, SYSTEM_VIEWER, code="lancaster", name="Lancaster County", timezone="America/Chicago"
    )
    summary = importer.import_fire_ems_log(db, SYSTEM_VIEWER, path, tz=LANCASTER.key)
    assert service.response_summary(db, batch=summary.batch).median_s == 604
    report = engine.compute(db, city_code="lancaster", pack_id="administration", codes=[MEDIAN])
    assert report.unresolved == {} and report.errors == []
    years = {
        v.period_start.year: v
        for v in db.scalars(
            select(IndicatorValue).where(
                IndicatorValue.code == MEDIAN,
                IndicatorValue.city_id == city.id,
                IndicatorValue.grain == "year",
            )
        )
    }
    assert sorted(years) == list(range(2010, 2021))
    assert sum(v.input_count for v in years.values()) == 15_433
    # The definition's own formula over the incidents of all those years.
    formula = load_pack("administration").formulas[MEDIAN]
    rows, _ = metrics.load_rows(db, city.id)
    records = [row.record() for row in rows]
    assert formula.evaluate({}, {"median(incidents.response_time_s)": records}) == 604
    by_year = {
        year: [r.record() for r in rows if r.reported_at.astimezone(LANCASTER).year == year]
        for year in years
    }
    for year, value in years.items():
        assert value.value == formula.evaluate({}, {formula.input_keys[0]: by_year[year]})
