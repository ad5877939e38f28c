"""The q grammar and geo-queries, without a database."""

from __future__ import annotations

from typing import Any

import pytest

from citymeter.ngsi.errors import BadRequestData
from citymeter.ngsi.geo import parse_geoquery
from citymeter.ngsi.query import matches as q_matches
from citymeter.ngsi.query import parse_q

ENTITY: dict[str, Any] = {
    "id": "urn:ngsi-ld:AirQualityStation:GN-01",
    "type": "AirQualityStation",
    "pm10": {"type": "Property", "value": 42, "observedAt": "2024-05-01T10:00:00Z"},
    "name": {"type": "Property", "value": "Gangnam Station"},
    "address": {"type": "Property", "value": {"city": "Seoul", "zip": "06236"}},
    "refPolice": {"type": "Relationship", "object": "urn:ngsi-ld:PoliceStation:7"},
    "tags": {"type": "Property", "value": ["roadside", "busy"]},
    "ok": {"type": "Property", "value": True},
}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("pm10>40", True),
        ("pm10>=42", True),
        ("pm10<42", False),
        ("pm10<=42", True),
        ("pm10==42", True),
        ("pm10!=42", False),
        ("pm10==1..50", True),
        ("pm10==43..50", False),
        ("pm10!=43..50", True),
        ("pm10==1,2,42", True),
        ("pm10!=1,2,42", False),
        ("pm10.observedAt>=2024-05-01T00:00:00Z", True),
        ("pm10.observedAt<2024-05-01T00:00:00Z", False),
        ('name=="Gangnam Station"', True),
        ("name~=(?i)gangnam", True),
        ("name!~=Gangnam", False),
        ('address[city]=="Seoul"', True),
        ('address[zip]=="1"', False),
        ("refPolice==urn:ngsi-ld:PoliceStation:7", True),
        ("tags==busy", True),
        ("ok==true", True),
        ("ok==false", False),
        ("(pm10<10|pm10>40);name", True),
        ("pm10<10|pm10>40;name~=Nowhere", False),
        ("pm10", True),
        ("no2", False),
        ("no2<5", False),
        ('pm10=="42"', False),  # a number is not the text "42"
        ("name>3", False),
    ],
)
def test_q_terms_match_as_the_specification_says(q: str, expected: bool) -> None:
    assert q_matches(parse_q(q), ENTITY) is expected


def test_q_expands_attribute_names_through_the_context() -> None:
    names = {"pollution": "pm10"}
    expr = parse_q("pollution>40", lambda term: names.get(term, term))
    assert q_matches(expr, ENTITY) is True


@pytest.mark.parametrize(
    ("q", "complaint"),
    [
        ("pm10>", "value is missing"),
        ("(pm10>1", "')' is missing"),
        ("pm10>1..3", "range"),
        ("pm10>1,2", "list"),
        (">3", "attribute name"),
        ('name=="x', "closing quote"),
        ("name~=(", "pattern"),
        ("ok>true", "true and false"),
        ("pm10>1 junk", "double quotes"),
        ("", "empty"),
    ],
)
def test_bad_q_is_bad_request_data_naming_the_problem(q: str, complaint: str) -> None:
    with pytest.raises(BadRequestData) as caught:
        parse_q(q)
    assert complaint in caught.value.detail


def test_near_keeps_what_lies_within_the_distance() -> None:
    query = parse_geoquery("near;maxDistance==1000", "Point", "[127.0,37.5]")
    assert query is not None
    # 0.01° of latitude is about 1,112 m; 0.005° about 556 m.
    assert query.matches({"type": "Point", "coordinates": [127.0, 37.505]})
    assert not query.matches({"type": "Point", "coordinates": [127.0, 37.51]})
    farther = parse_geoquery("near;minDistance==1000", "Point", "[127.0,37.5]")
    assert farther is not None
    assert farther.matches({"type": "Point", "coordinates": [127.0, 37.51]})


def test_within_intersects_disjoint_and_contains() -> None:
    square = "[[[127,37],[128,37],[128,38],[127,38],[127,37]]]"
    inside = {"type": "Point", "coordinates": [127.5, 37.5]}
    outside = {"type": "Point", "coordinates": [126.5, 37.5]}
    within = parse_geoquery("within", "Polygon", square)
    disjoint = parse_geoquery("disjoint", "Polygon", square)
    assert within is not None and disjoint is not None
    assert within.matches(inside) and not within.matches(outside)
    assert disjoint.matches(outside) and not disjoint.matches(inside)
    road = {"type": "LineString", "coordinates": [[126.5, 37.5], [127.5, 37.5]]}
    intersects = parse_geoquery("intersects", "Polygon", square)
    assert intersects is not None and intersects.matches(road)
    contains = parse_geoquery("contains", "Point", "[127.0,37.5]")
    assert contains is not None and contains.matches(road)


@pytest.mark.parametrize(
    ("georel", "geometry", "coordinates", "complaint"),
    [
        ("near", "Point", "[127,37]", "maxDistance"),
        ("near;maxDistance==-5", "Point", "[127,37]", "zero or more"),
        ("near;maxDistance==x", "Point", "[127,37]", "not a number"),
        ("around", "Point", "[127,37]", "Unknown georel"),
        ("within", "Circle", "[127,37]", "Unknown geometry"),
        ("within", "Point", "127,37", "JSON array"),
        ("within", "Polygon", "[[[0,0],[1,1]]]", "Polygon"),
        ("within", "Point", "[500,37]", "WGS84"),
        ("within", None, "[127,37]", "all three"),
    ],
)
def test_bad_geo_queries_are_refused(
    georel: str, geometry: str | None, coordinates: str, complaint: str
) -> None:
    with pytest.raises(BadRequestData) as caught:
        parse_geoquery(georel, geometry, coordinates)
    assert complaint in caught.value.detail
