"""File connector on real files: readings (JSON, CSV, GeoJSON), a watched folder, and the
London borough profiles through the shipped observations mapping."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.connectors.base import ConnectorRegistry
from citymeter.connectors.runner import Runner, RunOutcome
from citymeter.entities.models import Entity
from citymeter.errors import InvalidInput, NotFound
from citymeter.observations.models import Metric, Observation
from citymeter.places import service as places
from citymeter.sources.models import Source

from .conftest import PAYLOADS, add_source

PARKING = {
    "type": "ParkingLot",
    "id_field": "lot_id",
    "time_field": "observed_at",
    "attrs": ["occupied", "capacity"],
}


def _run(sessions: sessionmaker[Session], registry: ConnectorRegistry, code: str) -> RunOutcome:
    runner = Runner(sessions, registry=registry, backoff_base_s=0.01, rng=random.Random(1))
    try:
        return runner.run_source(code)
    finally:
        runner.stop()


def _count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("name", "readings", "expected"),
    [
        ("readings_shaped.json", None, 2),
        ("parking_occupancy.csv", PARKING, 3),
        (
            "parking_lots.geojson",
            {
                "type": "ParkingLot",
                "id_field": "lot",
                "time_field": "time",
                "attrs": ["occupied", "capacity"],
                "lat_field": "lat",
                "lon_field": "lon",
            },
            2,
        ),
    ],
)
def test_reads_a_file_of_readings_once(
    sessions: sessionmaker[Session],
    registry: ConnectorRegistry,
    name: str,
    readings: dict[str, Any] | None,
    expected: int,
) -> None:
    config: dict[str, Any] = {"path": str(PAYLOADS / name)}
    if readings:
        config["readings"] = readings
    add_source(sessions, registry, "f", kind="file", config=config)
    first = _run(sessions, registry, "f")
    assert (first.status, first.result.accepted, first.result.rejected) == ("success", expected, 0)
    assert _count(sessions, Entity) == expected
    # Unchanged: not read again.
    assert _run(sessions, registry, "f").status == "not_modified"


def test_a_watched_folder_picks_up_new_files(
    sessions: sessionmaker[Session], registry: ConnectorRegistry, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = {"folder": str(inbox), "pattern": "*.csv", "readings": PARKING}
    add_source(sessions, registry, "inbox", kind="file", config=config)
    assert _run(sessions, registry, "inbox").status == "not_modified"
    shutil.copy(PAYLOADS / "parking_occupancy.csv", inbox / "a.csv")
    assert _run(sessions, registry, "inbox").result.accepted == 3
    later = (PAYLOADS / "parking_occupancy.csv").read_text().replace("14:05", "14:10")
    (inbox / "b.csv").write_text(later)
    (inbox / "ignored.txt").write_text("not a csv")
    outcome = _run(sessions, registry, "inbox")
    assert (outcome.result.records_in, outcome.result.accepted) == (3, 3)
    assert outcome.message == "1 file(s) read"


def test_a_missing_file_fails_the_run_with_its_path(
    sessions: sessionmaker[Session], registry: ConnectorRegistry, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.json"
    add_source(
        sessions, registry, "gone", kind="file", max_retries=0, config={"path": str(missing)}
    )
    outcome = _run(sessions, registry, "gone")
    assert outcome.status == "failed"
    assert outcome.message == f"There is no file at {str(missing)!r}."


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "exactly one of `path`"),
        ({"path": "x.csv", "folder": "y"}, "exactly one of `path`"),
        ({"path": "x.csv", "format": "csv"}, "need a `readings` mapping"),
        ({"path": "x.csv", "target": "observations"}, "needs a `mapping`"),
        ({"path": "x.csv", "target": "observations", "mapping": "no-such-mapping"}, "mapping"),
        ({"path": "x.csv", "colour": "blue"}, "colour"),
    ],
)
def test_bad_config_is_refused_and_nothing_is_stored(
    sessions: sessionmaker[Session],
    registry: ConnectorRegistry,
    config: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises((InvalidInput, NotFound), match=message):
        add_source(sessions, registry, "bad", kind="file", config=config)
    assert _count(sessions, Source) == 0


@pytest.mark.realdata
def test_london_profiles_through_the_shipped_mapping(
    sessions: sessionmaker[Session], registry: ConnectorRegistry, real_data: Path
) -> None:
    geo = json.loads((real_data / "london" / "london_boroughs.json").read_text("utf-8"))
    with sessions() as session, session.begin():
        city = places.create_city(session, SYSTEM_VIEWER, code="london", name="London")
        for feature in geo["features"]:
            props = feature["properties"]
            places.add_area(
                session, None, city=city, code=props["code"], level="district", name=props["name"]
            )
    config = {
        "path": str(real_data / "london" / "london-borough-profiles.csv"),
        "target": "observations",
        "mapping": "london-borough-profiles",
        "city": "london",
    }
    add_source(sessions, registry, "gla-profiles", kind="file", config=config)
    outcome = _run(sessions, registry, "gla-profiles")
    assert outcome.status == "success", outcome.message
    assert outcome.result.accepted == 33  # the 33 boroughs
    with sessions() as session:
        population = session.scalar(
            select(func.sum(Observation.value))
            .join(Metric, Metric.id == Observation.metric_id)
            .where(Observation.source_id.is_not(None), Metric.code == "gla_population_estimate")
        )
    assert population == 8_835_400
    assert _run(sessions, registry, "gla-profiles").status == "not_modified"
