"""Small hand-made GeoJSON for the places tests, so they never depend only on the real files."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.places import service
from citymeter.places.models import City

Collection = dict[str, Any]


def square(west: float, south: float, size: float) -> dict[str, Any]:
    ring = [
        [west, south],
        [west + size, south],
        [west + size, south + size],
        [west, south + size],
        [west, south],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def bow_tie(west: float, south: float, size: float) -> dict[str, Any]:
    """A self-intersecting ring: its edges cross in the middle."""
    ring = [
        [west, south],
        [west + size, south + size],
        [west + size, south],
        [west, south + size],
        [west, south],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(*features: dict[str, Any], crs: str | None = None) -> Collection:
    data: Collection = {"type": "FeatureCollection", "features": list(features)}
    if crs is not None:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    return data


def two_districts() -> Collection:
    """Two 0.1° districts side by side near Sejong: D1 west, D2 east."""
    return collection(
        feature(square(127.0, 36.5, 0.1), code="D1", name="서구", name_en="West"),
        feature(square(127.1, 36.5, 0.1), code="D2", name="동구", name_en="East"),
    )


def four_neighbourhoods() -> Collection:
    """Two neighbourhoods in each district (southern and northern halves), with populations."""
    return collection(
        feature(
            square(127.0, 36.5, 0.05), code="N11", name="시 서구 가동", district="D1", pop="1,200"
        ),
        feature(
            square(127.0, 36.55, 0.05), code="N12", name="시 서구 나동", district="D1", pop=800
        ),
        feature(
            square(127.1, 36.5, 0.05), code="N21", name="시 동구 다동", district="D2", pop=None
        ),
        feature(square(127.1, 36.55, 0.05), code="N22", name="시 동구 라동", district="D2", pop=5),
    )


@pytest.fixture
def city(db: Session) -> City:
    return service.create_city(
        db, SYSTEM_VIEWER, code="9900000000", name="시험시", names={"en": "Testville"}
    )


class GeoKit:
    """The helpers above, handed to tests through the `geo` fixture."""

    square = staticmethod(square)
    bow_tie = staticmethod(bow_tie)
    feature = staticmethod(feature)
    collection = staticmethod(collection)
    two_districts = staticmethod(two_districts)
    four_neighbourhoods = staticmethod(four_neighbourhoods)


@pytest.fixture
def geo() -> GeoKit:
    return GeoKit()
