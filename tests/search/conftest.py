"""A small city for command search: four districts, three neighbourhoods, pledges, places of
interest, incident and complaint types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.complaints import service as complaints
from citymeter.entities.models import Entity
from citymeter.incidents import service as incidents
from citymeter.indicators import pledges
from citymeter.places import service as places
from citymeter.places.models import City
from citymeter.search.index import CityIndex, build_index

CITY = "9900000000"
TODAY = dt.date(2026, 11, 18)  # a Wednesday

DISTRICTS = (
    ("9900100000", "한빛구", "Hanbit-gu", 127.00),
    ("9900200000", "강남구", "Gangnam-gu", 127.05),
    ("9900300000", "마포구", "Mapo-gu", 126.90),
    ("9900400000", "송림구", "Songnim-gu", 126.95),
)
NEIGHBOURHOODS = (
    ("9900101000", "가람동", "Garam-dong", "9900100000"),
    ("9900201000", "역삼1동", "Yeoksam 1-dong", "9900200000"),
    ("9900301000", "청라동", "Cheongna-dong", "9900300000"),
)


def _square(lon: float, lat: float, size: float = 0.02) -> dict[str, object]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def build_city(session: Session) -> City:
    city = places.create_city(
        session,
        SYSTEM_VIEWER,
        code=CITY,
        name="한빛특별시",
        names={"ko": "한빛특별시", "en": "Hanbit Metropolitan City"},
    )
    root = places.root_area_of(session, city)
    assert root is not None
    root.centroid_lat, root.centroid_lon = 37.5665, 126.978
    by_code = {}
    for code, ko, en, lon in DISTRICTS:
        by_code[code] = places.add_area(
            session,
            None,
            city=city,
            code=code,
            level="district",
            name=ko,
            names={"ko": ko, "en": en},
            parent=root,
            boundary=_square(lon, 37.5, 0.04),
        )
    for code, ko, en, parent in NEIGHBOURHOODS:
        places.add_area(
            session,
            None,
            city=city,
            code=code,
            level="neighbourhood",
            name=ko,
            names={"ko": ko, "en": en},
            parent=by_code[parent],
            boundary=_square(by_code[parent].centroid_lon or 127.0, 37.51),
        )
    common = {
        "owner_department": "일자리정책과",
        "baseline_value": 50.0,
        "baseline_date": dt.date(2022, 1, 1),
        "target_value": 60.0,
        "target_date": dt.date(2030, 1, 1),
    }
    pledges.add_pledge(
        session,
        SYSTEM_VIEWER,
        city=CITY,
        number="3",
        indicator_codes=["women_employment_rate"],
        title_ko="여성 고용률 60% 달성",
        title_en="Women's employment rate at 60 %",
        **common,
    )
    pledges.add_pledge(
        session,
        SYSTEM_VIEWER,
        city=CITY,
        number="5",
        indicator_codes=["public_rental_housing_supplied"],
        title_ko="공공임대주택 2만 호 공급",
        title_en="Twenty thousand public rental homes",
        **common,
    )
    pledges.add_pledge(
        session,
        SYSTEM_VIEWER,
        city=CITY,
        number="9",
        indicator_codes=["employment_rate"],
        title_ko="비공개 일자리 계획",
        title_en="Confidential jobs plan",
        visibility="internal",
        **common,
    )
    incidents.ensure_type(
        session, "fire_building", category="fire", name_en="Building fire", name_ko="건물 화재"
    )
    incidents.ensure_type(
        session,
        "traffic_crash",
        category="traffic_accident",
        name_en="Traffic crash",
        name_ko="교통사고",
    )
    complaints.create_service_type(
        session,
        SYSTEM_VIEWER,
        city,
        code="noise",
        name="소음",
        keywords="noise, 층간소음, noise complaint",
    )
    complaints.create_service_type(
        session,
        SYSTEM_VIEWER,
        city,
        code="illegal_parking",
        name="불법주차",
        keywords="illegal parking, parking, 주차",
    )
    for entity_id, ko, en, lat, lon in (
        ("urn:ngsi-ld:Landmark:city-hall", "시청", "City Hall", 37.5663, 126.9779),
        ("urn:ngsi-ld:Station:hanbit", "한빛역", "Hanbit Station", 37.5547, 126.9706),
        ("urn:ngsi-ld:Station:gangnam", "강남역", "Gangnam Station", 37.4979, 127.0276),
    ):
        session.add(
            Entity(
                entity_id=entity_id,
                type="PointOfInterest",
                city_id=city.id,
                lat=lat,
                lon=lon,
                attributes={
                    "name": {"type": "Property", "value": en},
                    "name_ko": {"type": "Property", "value": ko},
                    "name_en": {"type": "Property", "value": en},
                },
            )
        )
    session.flush()
    return city


@pytest.fixture(scope="module")
def city_index(engine: Engine) -> Iterator[CityIndex]:
    """The fixture city's index, built once per module and backend (the data is rolled back)."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield build_index(session, build_city(session))
    finally:
        session.close()
        outer.rollback()
        connection.close()
