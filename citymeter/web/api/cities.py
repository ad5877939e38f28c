"""JSON API: cities, and which of a city's areas a point falls in."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from citymeter.places import locator, service
from citymeter.places.schemas import CityPublic, LocationPublic, city_public
from citymeter.web.deps import PublicViewer, SessionDep

router = APIRouter(prefix="/api/v1", tags=["cities"])


@router.get("/cities")
def list_cities(session: SessionDep, _viewer: PublicViewer) -> list[CityPublic]:
    return [city_public(city) for city in service.list_cities(session)]


@router.get("/cities/{code}")
def get_city(code: str, session: SessionDep, _viewer: PublicViewer) -> CityPublic:
    return city_public(service.get_city(session, code))


@router.get("/cities/{code}/locate")
def locate(
    code: str,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    session: SessionDep,
    _viewer: PublicViewer,
    at: dt.date | None = None,
) -> LocationPublic:
    """The smallest area of the city holding (lat, lon), then its parents; found=false outside."""
    city = service.get_city(session, code)
    found = locator.cached_locator(session, city, at).locate(lat, lon)
    return LocationPublic.of(lat, lon, found)
