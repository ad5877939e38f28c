"""Entity type files are valid data; the `citymeter entities` commands work on a real store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from citymeter.cli.main import app
from citymeter.db.engine import make_engine
from citymeter.entities.ingest import ingest_readings
from citymeter.entities.types import (
    AttributeSpec,
    EntityType,
    all_entity_types,
    attribute_checks,
    get_entity_type,
    load_entity_type,
    type_files,
)
from citymeter.errors import InvalidInput, NotFound
from citymeter.settings import get_settings

EXPECTED = {
    "AirQualityStation": {"pm10", "pm25", "no2", "o3"},
    "TrafficSegment": {"speed", "congestion"},
    "ParkingLot": {"occupied", "capacity", "occupancy"},
    "CctvCamera": {"status"},
    "PoliceStation": set(),
    "Hospital": set(),
    "WeatherStation": {"temperature", "humidity", "rainfall"},
}


@pytest.mark.parametrize("file", type_files(), ids=lambda f: f.name)
def test_every_shipped_type_file_is_valid(file: Path) -> None:
    entity_type = load_entity_type(file)
    assert entity_type.version >= 1
    assert len(entity_type.source) >= 10


def test_the_issue_types_are_there_with_their_attributes() -> None:
    types = {t.name: t for t in all_entity_types()}
    for name, attrs in EXPECTED.items():
        assert attrs <= set(types[name].attributes), name
    assert types["AirQualityStation"].attributes["pm25"].unit == "µg/m³"
    assert types["AirQualityStation"].attributes["no2"].unit == "ppm"
    assert types["TrafficSegment"].attributes["speed"].unit == "km/h"
    assert types["CctvCamera"].numeric_attributes == ("cameras",)


def test_unknown_type_is_not_found() -> None:
    with pytest.raises(NotFound, match="known types: AirQualityStation"):
        get_entity_type("Ufo")


def test_a_broken_type_file_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "Thing.yaml"
    bad.write_text(
        "name: Thing\nversion: 1\nsource: a made-up thing\nattributes:\n"
        "  level: {kind: text, min: 0}\n"
    )
    with pytest.raises(InvalidInput, match="only number attributes have a min/max range"):
        load_entity_type(bad)
    misnamed = tmp_path / "Other.yaml"
    misnamed.write_text("name: Thing\nversion: 1\nsource: a made-up thing\nattributes: {}\n")
    with pytest.raises(InvalidInput, match=r"must be named Thing\.yaml"):
        load_entity_type(misnamed)
    assert isinstance(get_entity_type("Hospital"), EntityType)


def test_entities_commands(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    engine = make_engine(database_url)
    at = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)
    with Session(engine) as session, session.begin():
        ingest_readings(
            session,
            [
                {
                    "type": "WeatherStation",
                    "id": "w1",
                    "observed_at": at.isoformat(),
                    "attrs": {"temperature": 18.5},
                },
                {
                    "type": "WeatherStation",
                    "id": "w1",
                    "observed_at": at.isoformat(),
                    "attrs": {"temperature": 99.0},
                },
            ],
        )
    engine.dispose()
    runner = CliRunner()
    try:
        letters = runner.invoke(app, ["entities", "dead-letters", "--payload"])
        assert letters.exit_code == 0, letters.output
        assert "above its allowed maximum" in letters.output
        listed = runner.invoke(app, ["entities", "list"])
        assert "0 entities" in listed.output  # the refused batch stored nothing
        types = runner.invoke(app, ["entities", "types"])
        assert "AirQualityStation" in types.output and "µg/m³" in types.output
        missing = runner.invoke(app, ["entities", "show", "urn:ngsi-ld:X:1"])
        assert missing.exit_code == 1 and "No entity" in missing.output
    finally:
        get_settings.cache_clear()


def test_entities_show_and_history(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    engine = make_engine(database_url)
    at = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)
    with Session(engine) as session, session.begin():
        result = ingest_readings(
            session,
            [
                {
                    "type": "WeatherStation",
                    "id": "w1",
                    "observed_at": (at + dt.timedelta(minutes=m)).isoformat(),
                    "attrs": {"temperature": 10.0 + m},
                }
                for m in (0, 30)
            ],
        )
        assert result.accepted == 2
    engine.dispose()
    runner = CliRunner()
    try:
        shown = runner.invoke(app, ["entities", "show", "urn:ngsi-ld:WeatherStation:w1"])
        assert shown.exit_code == 0, shown.output
        assert '"value": 40.0' in shown.output
        history = runner.invoke(
            app, ["entities", "history", "urn:ngsi-ld:WeatherStation:w1", "--grain", "hour"]
        )
        assert history.exit_code == 0, history.output
        assert "25" in history.output  # the hour's mean of 10 and 40
        listed = runner.invoke(app, ["entities", "list", "--type", "WeatherStation"])
        assert "1 entities" in listed.output
    finally:
        get_settings.cache_clear()


CHECKED_VALUES = [
    0,
    1,
    -1,
    10**30,
    2.5,
    -0.0,
    1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
    False,
    None,
    "12",
    "",
    "open",
    "urn:ngsi-ld:Thing:1",
    [1],
    {"value": 1},
]


@pytest.mark.parametrize("entity_type", all_entity_types(), ids=lambda t: t.name)
def test_compiled_checks_agree_with_the_spec(entity_type: EntityType) -> None:
    checks = attribute_checks(entity_type)
    assert set(checks) == {*entity_type.attributes, "name", "description"}
    for name, check in checks.items():
        spec = entity_type.attribute(name)
        assert spec is not None
        for value in CHECKED_VALUES:
            assert check(value) == spec.check(name, value), (name, value)


def test_compiled_number_check_keeps_the_range_and_its_messages() -> None:
    spec = AttributeSpec(kind="number", min=0, max=100)
    entity_type = EntityType(
        name="Gauge", version=1, source="a test of the compiled checks", attributes={"level": spec}
    )
    check = attribute_checks(entity_type)["level"]
    for value in (-0.5, 0, 0.0, 50, 100, 100.01, 1000, float("nan"), float("inf"), True, "5"):
        assert check(value) == spec.check("level", value), value
    assert check(100.01) == "attribute 'level' = 100.01 is above its allowed maximum 100"
