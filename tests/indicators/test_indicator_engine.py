"""The indicator engine on a small city: cells, breakdowns, roll-ups, provenance, incremental
recompute, unit safety and error reporting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.errors import NotFound
from citymeter.indicators import engine
from citymeter.indicators.models import IndicatorRun, IndicatorValue
from citymeter.observations import batches
from citymeter.observations import service as observations
from citymeter.places.models import Area, City

from .conftest import Store, labour_rows, months


def _values(
    db: Session, code: str, **where: object
) -> dict[tuple[str, str, dt.date], IndicatorValue]:
    query = (
        select(IndicatorValue, Area.code)
        .join(Area, Area.id == IndicatorValue.area_id)
        .where(IndicatorValue.code == code, IndicatorValue.pack == "administration")
    )
    for column, value in where.items():
        query = query.where(getattr(IndicatorValue, column) == value)
    return {(a, v.grain, v.period_start): v for v, a in db.execute(query)}


def _year_of_labour(store: Store, year: int = 2024, last: int = 12) -> None:
    rows = []
    for i, month in enumerate(months(year, 1, last)):
        rows += labour_rows("T", month, 600 + i, 1000)
        rows += labour_rows("T1", month, 300 + i, 500)
        rows += labour_rows("T1", month, 140, 250, sex="female")
        rows += labour_rows("T1", month, 160 + i, 250, sex="male")
    store(rows)


def test_monthly_values_quarter_and_year_recomputed_from_inputs(
    db: Session, town: City, store: Store
) -> None:
    _year_of_labour(store)
    report = engine.compute(
        db, city_code="town", pack_id="administration", codes=["employment_rate"]
    )
    assert report.mode == "single" and report.computed == ["employment_rate"]
    values = _values(db, "employment_rate", sex="total", age_band="total")
    assert values[("T1", "month", dt.date(2024, 3, 1))].value == pytest.approx(302 / 500 * 100)
    # recompute: the formula on the inputs' means over the quarter (302, 301, 300 / 500)
    q1 = values[("T1", "quarter", dt.date(2024, 1, 1))]
    assert q1.value == pytest.approx((300 + 301 + 302) / 3 / 500 * 100)
    assert q1.provenance["rollup"] == "recompute" and q1.provenance["periods"] == 3
    year = values[("T", "year", dt.date(2024, 1, 1))]
    assert year.value == pytest.approx(sum(600 + i for i in range(12)) / 12 / 1000 * 100)
    assert year.quality == "measured"
    # Provenance names the inputs and the load batch they came from.
    march = values[("T", "month", dt.date(2024, 3, 1))]
    assert set(march.provenance["inputs"]) == {"employed_persons", "working_age_population"}
    assert march.provenance["batches"] and march.definition_version == 1
    # The neighbourhood level is not one the definition supports; T2 has no inputs.
    assert not any(k[0] in ("T1A", "T2") for k in values)
    # Sex breakdown from the same definition; no female row at city level (no inputs there).
    female = _values(db, "employment_rate", sex="female")
    assert female[("T1", "month", dt.date(2024, 1, 1))].value == pytest.approx(56.0)
    assert not any(k[0] == "T" for k in female)


def test_partial_year_is_flagged_extrapolated_and_sums_scale(
    db: Session, town: City, store: Store
) -> None:
    store(("jobs_created", "T", "month", m, "total", "total", 10.0) for m in months(2025, 1, 6))
    engine.compute(db, city_code="town", pack_id="administration", codes=["jobs_created"])
    values = _values(db, "jobs_created")
    q1 = values[("T", "quarter", dt.date(2025, 1, 1))]
    assert (q1.value, q1.quality) == (30.0, "measured")
    year = values[("T", "year", dt.date(2025, 1, 1))]
    assert (year.value, year.quality) == (120.0, "extrapolated")
    assert year.provenance["periods"] == 6


def test_incremental_recompute_touches_only_changed_cells(
    db: Session, town: City, store: Store
) -> None:
    _year_of_labour(store, 2024)
    first = engine.compute(db, city_code="town", pack_id="administration", full=True)
    assert first.mode == "full" and "employment_rate" in first.computed
    untouched = _values(db, "employment_rate", sex="total", age_band="total")
    old_ids = {k: v.id for k, v in untouched.items()}
    # One more month in 2025 for district T1 only.
    store(labour_rows("T1", dt.date(2025, 1, 1), 330, 500))
    second = engine.compute(db, city_code="town", pack_id="administration")
    assert second.mode == "incremental"
    assert 0 < second.values_written < first.values_written
    after = _values(db, "employment_rate", sex="total", age_band="total")
    assert after[("T1", "month", dt.date(2025, 1, 1))].value == pytest.approx(66.0)
    assert after[("T1", "year", dt.date(2025, 1, 1))].quality == "extrapolated"
    for key, value_id in old_ids.items():
        assert after[key].id == value_id  # 2024 and the city were not recomputed
    # Nothing new: nothing recomputed.
    third = engine.compute(db, city_code="town", pack_id="administration")
    assert (third.mode, third.values_written) == ("incremental", 0)


def test_a_new_month_rewrites_only_that_month_its_quarter_and_its_year(
    db: Session, town: City, store: Store
) -> None:
    _year_of_labour(store, 2024, last=11)
    engine.compute(db, city_code="town", pack_id="administration", full=True)
    before = _values(db, "employment_rate", sex="total", age_band="total")
    store(labour_rows("T1", dt.date(2024, 12, 1), 330, 500))
    engine.compute(db, city_code="town", pack_id="administration")
    after = _values(db, "employment_rate", sex="total", age_band="total")
    rewritten = {k for k, v in after.items() if k not in before or before[k].id != v.id}
    assert rewritten == {
        ("T1", "month", dt.date(2024, 12, 1)),
        ("T1", "quarter", dt.date(2024, 10, 1)),
        ("T1", "year", dt.date(2024, 1, 1)),
    }
    # The year is rolled up from all twelve months, the eleven it did not rewrite included.
    year = after[("T1", "year", dt.date(2024, 1, 1))]
    assert year.quality == "measured" and year.provenance["periods"] == 12
    assert year.value == pytest.approx((sum(300 + i for i in range(11)) + 330) / 12 / 500 * 100)


def test_undoing_a_batch_forces_a_full_recompute(db: Session, town: City, store: Store) -> None:
    _year_of_labour(store, 2024)
    extra = store(labour_rows("T1", dt.date(2025, 1, 1), 330, 500))
    engine.compute(db, city_code="town", pack_id="administration", codes=None)
    batches.undo_batch(db, SYSTEM_VIEWER, extra.id)
    report = engine.compute(db, city_code="town", pack_id="administration")
    assert report.mode == "full"
    assert ("T1", "month", dt.date(2025, 1, 1)) not in _values(db, "employment_rate")


def test_formula_errors_name_the_indicator_and_inputs(
    db: Session, town: City, store: Store
) -> None:
    store(labour_rows("T1", dt.date(2024, 1, 1), 10, 0))
    report = engine.compute(
        db, city_code="town", pack_id="administration", codes=["employment_rate"]
    )
    assert any(
        "employment_rate" in e and "division by zero" in e and "working_age_population" in e
        for e in report.errors
    )
    assert not _values(db, "employment_rate")


def test_units_are_never_mixed(db: Session, town: City) -> None:
    metric = observations.ensure_metric(
        db, None, code="labour_force", name="x", unit="thousand persons"
    )
    area = db.scalar(select(Area.id).where(Area.code == "T"))
    assert area is not None
    batch = observations.open_batch(db, city_id=town.id)
    observations.store_observations(
        db,
        batch,
        [
            observations.ObservationRow(
                metric.id, area, "month", dt.date(2024, 1, 1), 5.0, "thousand persons"
            )
        ],
    )
    report = engine.compute(
        db, city_code="town", pack_id="administration", codes=["unemployment_rate"]
    )
    assert any("labour_force" in p and "never mixed" in p for p in report.problems)
    assert report.computed == []


CASUALTIES_PACK = """
id: casualties
version: 1
names: {en: Casualties}
source_note: A pack whose input the incidents feature does not record.
themes: [{code: safety, names: {en: Safety}}]
indicators:
  - code: casualties
    names: {en: Casualties}
    unit: count
    theme: safety
    direction: lower_is_better
    formula: sum(incidents.casualties)
"""


def test_unresolved_inputs_are_reported(db: Session, town: City, tmp_path: Path) -> None:
    path = tmp_path / "casualties.yaml"
    path.write_text(CASUALTIES_PACK, encoding="utf-8")
    report = engine.compute(db, city_code="town", pack_id=str(path), full=True)
    assert report.unresolved == {
        "sum(incidents.casualties)": "incidents record no casualties (they have response_time_s)"
    }
    assert report.computed == [] and report.values_written == 0
    run = db.get(IndicatorRun, report.run_id)
    assert run is not None and run.summary["unresolved"] == report.unresolved
    # Every input of the shipped administration pack has a resolver.
    shipped = engine.compute(db, city_code="town", pack_id="administration", full=True)
    assert shipped.unresolved == {}


def test_alias_metric_feeds_the_catalogue_metric(db: Session, town: City, store: Store) -> None:
    start = dt.date(2025, 4, 1)
    store(
        [
            ("resident_population", "T", "month", start, "total", "total", 1000.0),
            ("resident_population", "T", "month", start, "total", "64", 900.0),
            ("resident_population", "T", "month", start, "total", "65", 60.0),
            ("resident_population", "T", "month", start, "total", "100+", 40.0),
        ]
    )
    engine.compute(db, city_code="town", pack_id="administration", codes=["share_aged_65_plus"])
    value = _values(db, "share_aged_65_plus")[("T", "month", start)]
    assert value.value == pytest.approx(10.0)
    assert set(value.provenance["inputs"]) == {"population", "population[age_band=65+]"}


def test_bad_requests_leave_the_store_unchanged(db: Session, town: City, store: Store) -> None:
    _year_of_labour(store, 2024, last=2)
    before = db.scalar(select(func.count()).select_from(IndicatorValue))
    runs = db.scalar(select(func.count()).select_from(IndicatorRun))
    with pytest.raises(NotFound, match="no indicator 'nope'"):
        engine.compute(db, city_code="town", pack_id="administration", codes=["nope"])
    with pytest.raises(NotFound, match="No city"):
        engine.compute(db, city_code="atlantis", pack_id="administration")
    with pytest.raises(NotFound, match="No shipped pack"):
        engine.compute(db, city_code="town", pack_id="no-such-pack")
    assert db.scalar(select(func.count()).select_from(IndicatorValue)) == before
    assert db.scalar(select(func.count()).select_from(IndicatorRun)) == runs
