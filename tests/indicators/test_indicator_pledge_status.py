"""The pledge status rule and the pledge service's checks and history."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.models import AuditEntry
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.errors import InvalidInput
from citymeter.indicators import engine, pledges
from citymeter.indicators.models import Pledge
from citymeter.places.models import City

from .conftest import Store, labour_rows


@pytest.mark.parametrize(
    ("progress", "expected", "status"),
    [
        (None, 50.0, "no_data"),
        (100.0, 50.0, "achieved"),
        (45.0, 50.0, "on_track"),
        (40.0, 50.0, "on_track"),
        (39.0, 50.0, "at_risk"),
        (25.0, 50.0, "at_risk"),
        (24.0, 50.0, "off_track"),
        (-5.0, 50.0, "off_track"),
        (-5.0, 5.0, "on_track"),  # a dip in the first tenth of the time is not yet off track
    ],
)
def test_status_rule(progress: float | None, expected: float, status: str) -> None:
    assert pledges.status_for(progress, expected) == status


def _add(db: Session, **changes: object) -> Pledge:
    fields: dict[str, object] = {
        "city": "town",
        "number": "1",
        "title_ko": "고용률 70%",
        "owner_department": "일자리정책과",
        "indicator_codes": ["employment_rate"],
        "baseline_value": 50.0,
        "baseline_date": dt.date(2024, 1, 1),
        "target_value": 70.0,
        "target_date": dt.date(2026, 1, 1),
    }
    fields.update(changes)
    return pledges.add_pledge(db, SYSTEM_VIEWER, **fields)  # type: ignore[arg-type]


def test_progress_follows_values_and_history_records_changes(
    db: Session, town: City, store: Store
) -> None:
    pledge = _add(db, milestones=[{"due": "2025-01-01", "title": "Half way", "target_value": 60}])
    assert pledge.history[-1].status == "no_data"
    store(labour_rows("T", dt.date(2025, 1, 1), 620, 1000))
    engine.compute(db, city_code="town", pack_id="administration", full=True)
    assert pledges.assess_city(db, None, town.id) == 1
    view = pledges.view(db, pledge)
    assert view.progress.value == 62.0
    assert view.progress.progress == pytest.approx(60.0)
    assert view.progress.expected == pytest.approx(366 / 731 * 100)
    assert view.progress.status == "on_track"
    assert view.milestones[0]["reached"] is True
    assert [h["status"] for h in view.history] == ["no_data", "on_track"]
    assert pledges.assess_city(db, None, town.id) == 0  # unchanged: no new history entry
    audit = db.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "pledge.add")
    )
    assert audit == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"indicator_codes": ["nope"]}, "no indicator 'nope'"),
        ({"indicator_codes": []}, "at least one indicator"),
        ({"target_date": dt.date(2023, 1, 1)}, "must come after"),
        ({"target_value": 50.0}, "nothing to achieve"),
        ({"title_ko": None}, "needs a title"),
        ({"visibility": "secret"}, "not public or internal"),
        ({"milestones": [{"title": "no date"}]}, "milestone needs due"),
    ],
)
def test_bad_pledges_are_refused_and_nothing_is_stored(
    db: Session, town: City, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        _add(db, **changes)
    assert db.scalar(select(func.count()).select_from(Pledge)) == 0
