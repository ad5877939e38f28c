"""Topic patterns, payload parsing and config checks of the MQTT connector (recorded payloads)."""

from __future__ import annotations

import datetime as dt

import pytest

from citymeter.connectors.mqtt import (
    MalformedMessage,
    MqttConnector,
    TopicRoute,
    message_to_reading,
    parse_config,
)
from citymeter.errors import InvalidInput

NOW = dt.datetime(2025, 5, 1, 3, 0, tzinfo=dt.UTC)
AIR = TopicRoute.from_config(
    {"pattern": "citymeter/{district}/air/{station}", "type": "AirQualityStation"}, 0
)
PARKING = TopicRoute.from_config(
    {
        "pattern": "sensors/parking/{lot}",
        "type": "ParkingLot",
        "id": "lot-{lot}",
        "attributes": {"occ": "occupied", "cap": "capacity"},
    },
    1,
)
# As a station of the demo feeds sends it.
RECORDED_AIR = (
    b'{"pm10": 41.2, "pm25": 22.7, "no2": 0.031, "o3": 0.024, '
    b'"observedAt": "2025-05-01T11:00:00+09:00", "location": {"lat": 37.51, "lon": 127.02}}'
)


def test_a_pattern_becomes_a_subscription_and_matches_topics() -> None:
    assert AIR.subscription == "citymeter/+/air/+"
    assert AIR.match("citymeter/gangnam/air/st-7") == {"district": "gangnam", "station": "st-7"}
    assert AIR.match("citymeter/gangnam/traffic/st-7") is None
    assert AIR.match("citymeter/gangnam/air/st-7/extra") is None


def test_a_recorded_air_quality_message_becomes_a_reading() -> None:
    reading = message_to_reading([PARKING, AIR], "citymeter/gangnam/air/st-7", RECORDED_AIR, NOW)
    assert reading["type"] == "AirQualityStation"
    assert reading["id"] == "st-7"
    assert reading["attrs"] == {"pm10": 41.2, "pm25": 22.7, "no2": 0.031, "o3": 0.024}
    assert reading["observed_at"] == dt.datetime(2025, 5, 1, 2, 0, tzinfo=dt.UTC)
    assert reading["location"] == {"lat": 37.51, "lon": 127.02}


def test_renamed_attributes_and_the_arrival_time_as_default() -> None:
    reading = message_to_reading(
        [AIR, PARKING], "sensors/parking/9", b'{"occ": 30, "cap": 80, "colour": "red"}', NOW
    )
    assert reading["id"] == "lot-9"
    assert reading["attrs"] == {"occupied": 30, "capacity": 80}
    assert reading["observed_at"] == NOW


def test_a_geojson_point_location_is_read_as_lon_lat() -> None:
    body = b'{"pm10": 3, "location": {"type": "Point", "coordinates": [127.0, 37.5]}}'
    reading = message_to_reading([AIR], "citymeter/x/air/1", body, NOW)
    assert reading["location"] == {"lat": 37.5, "lon": 127.0}


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("citymeter/x/air/1", b"{oops", "not JSON"),
        ("citymeter/x/air/1", b"\xff\xfe", "not UTF-8"),
        ("citymeter/x/air/1", b"42", "not an object"),
        ("citymeter/x/air/1", b'{"pm10": 1, "observedAt": "2025-05-01T11:00:00"}', "no time zone"),
        ("citymeter/x/air/1", b'{"pm10": 1, "observedAt": "yesterday"}', "not an ISO 8601"),
        ("citymeter/x/air/1", b'{"pm10": 1, "location": [1, 2]}', "location must be"),
        ("other/topic", b"{}", "no topic pattern"),
    ],
)
def test_malformed_messages_say_why(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        message_to_reading([AIR], topic, payload, NOW)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"topics": [{"pattern": "a/{b}", "type": "T"}]}, "needs a url"),
        ({"url": "http://x", "topics": [{"pattern": "a/{b}", "type": "T"}]}, "mqtt://"),
        ({"url": "mqtt://h", "topics": []}, "needs topics"),
        ({"url": "mqtt://h", "topics": [{"pattern": "a/+", "type": "T"}]}, "not '\\+'"),
        ({"url": "mqtt://h", "topics": [{"pattern": "a/b", "type": "T"}]}, "id template"),
        ({"url": "mqtt://h", "topics": [{"pattern": "a/{b}", "type": "T", "id": "{c}"}]}, "{c}"),
        (
            {"url": "mqtt://h", "protocol": "4", "topics": [{"pattern": "a/{b}", "type": "T"}]},
            "3.1.1",
        ),
        ({"url": "mqtt://h", "colour": 1, "topics": [{"pattern": "a/{b}", "type": "T"}]}, "colour"),
    ],
)
def test_bad_configs_are_refused_with_a_clear_message(
    config: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        MqttConnector().check_config(config)


def test_a_good_config_has_a_fixed_client_id_per_source() -> None:
    config = {"url": "mqtt://u:p%40ss@broker:1884", "topics": [{"pattern": "a/{b}", "type": "T"}]}
    parsed = parse_config(config, "air-sensors")
    assert (parsed.host, parsed.port, parsed.username, parsed.password) == (
        "broker",
        1884,
        "u",
        "p@ss",
    )
    assert parsed.client_id == "citymeter-air-sensors"
    assert parse_config(config, "air-sensors").client_id == parsed.client_id
    assert MqttConnector.mode == "stream"
