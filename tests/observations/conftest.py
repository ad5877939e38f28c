"""Fixtures for the observation tests: small cities built through the places service."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.observations.models import LoadBatch, Observation, RejectedRecord
from citymeter.places import service as places
from citymeter.places.models import City

MakeCity = Callable[..., City]
SEJONG_CITY_CODE = "3611000000"


def store_counts(db: Session) -> tuple[int, int, int]:
    """(observations, batches, rejected records): what a failed import must leave unchanged."""
    return (
        db.scalar(select(func.count()).select_from(Observation)) or 0,
        db.scalar(select(func.count()).select_from(LoadBatch)) or 0,
        db.scalar(select(func.count()).select_from(RejectedRecord)) or 0,
    )


@pytest.fixture
def make_city(db: Session) -> MakeCity:
    """A city with a root area (the city's own code) and neighbourhoods with the given codes."""

    def build(code: str, root: str, children: dict[str, str], name: str | None = None) -> City:
        city = places.create_city(db, SYSTEM_VIEWER, code=code, name=name or code)
        top = places.add_area(db, None, city=city, code=root, level="city", name=city.name)
        for child_code, child_name in children.items():
            places.add_area(
                db,
                None,
                city=city,
                code=child_code,
                level="neighbourhood",
                name=child_name,
                parent=top,
            )
        return city

    return build


@pytest.fixture
def sejong(make_city: MakeCity, real_data: Path) -> City:
    """Sejong as of its 2021 boundaries: the city area and the 20 neighbourhoods of the GeoJSON."""
    geo = json.loads(
        (real_data / "sejong" / "sejong_hangjeongdong_admdongkor.geojson").read_text("utf-8")
    )
    children = {
        f["properties"]["adm_cd2"]: f["properties"]["adm_nm"].split()[-1] for f in geo["features"]
    }
    return make_city("sejong", SEJONG_CITY_CODE, children, name="세종특별자치시")


@pytest.fixture
def london(db: Session, real_data: Path) -> City:
    geo = json.loads((real_data / "london" / "london_boroughs.json").read_text("utf-8"))
    city = places.create_city(db, SYSTEM_VIEWER, code="london", name="London", country="GB")
    for feature in geo["features"]:
        props = feature["properties"]
        places.add_area(
            db, None, city=city, code=props["code"], level="district", name=props["name"]
        )
    return city
