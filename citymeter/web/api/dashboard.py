"""JSON API: the dashboard's panels for the city or a district, as the page refreshes them."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder

from citymeter.dashboard import geo, service, status
from citymeter.dashboard.scope import Scope
from citymeter.errors import NotFound
from citymeter.web.deps import PublicViewer, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])

DistrictQuery = Query(None, max_length=40, description="A district's area code; default the city.")
CityQuery = Query(None, max_length=40, description="City code; default the first city.")


def _scope(
    session: SessionDep, viewer: PublicViewer, city: str | None, district: str | None
) -> Scope:
    scope = service.resolve(session, viewer, city_code=city, district=district)
    if scope is None:
        raise NotFound("There is no city yet; `citymeter demo` builds one.")
    return scope


def _scope_dict(scope: Scope) -> dict[str, Any]:
    return {
        "city": scope.city.code,
        "district": scope.district.code if scope.district else None,
        "internal": scope.internal,
        "timezone": scope.city.timezone,
    }


def _json(value: Any) -> dict[str, Any]:
    result: dict[str, Any] = jsonable_encoder(value)
    return result


def _out(scope: Scope, key: str, value: Any) -> dict[str, Any]:
    data = (
        dataclasses.asdict(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type)
        else value
    )
    return _json({"scope": _scope_dict(scope), key: data})


@router.get("")
def dashboard(
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    city: str | None = CityQuery,
    district: str | None = DistrictQuery,
) -> dict[str, Any]:
    """Every panel at once: status, citizens' voice, administration."""
    scope = _scope(session, viewer, city, district)
    board = service.dashboard(session, scope, min_count=settings.public_min_count)
    return _json(
        {
            "scope": _scope_dict(scope),
            "status": dataclasses.asdict(board.status),
            "voice": dataclasses.asdict(board.voice),
            "administration": dataclasses.asdict(board.administration),
            "generated_at": board.generated_at,
        }
    )


@router.get("/status")
def urban_status(
    session: SessionDep,
    viewer: PublicViewer,
    city: str | None = CityQuery,
    district: str | None = DistrictQuery,
) -> dict[str, Any]:
    """Air quality by district, open incidents, traffic and parking, alerts, source health."""
    scope = _scope(session, viewer, city, district)
    return _out(scope, "status", service.urban_status(session, scope))


@router.get("/voice")
def citizen_voice(
    session: SessionDep,
    viewer: PublicViewer,
    city: str | None = CityQuery,
    district: str | None = DistrictQuery,
) -> dict[str, Any]:
    """Complaints today, backlog and late share by district, newest complaints and suggestions,
    rising topics."""
    scope = _scope(session, viewer, city, district)
    return _out(scope, "voice", service.voice_area(session, scope))


@router.get("/administration")
def administration(
    session: SessionDep,
    viewer: PublicViewer,
    settings: SettingsDep,
    city: str | None = CityQuery,
    district: str | None = DistrictQuery,
) -> dict[str, Any]:
    """Headline indicator cards with their series, and the pledge board."""
    scope = _scope(session, viewer, city, district)
    area = service.administration_area(session, scope, min_count=settings.public_min_count)
    return _out(scope, "administration", area)


@router.get("/pulse")
def pulse(
    session: SessionDep,
    viewer: PublicViewer,
    city: str | None = CityQuery,
    district: str | None = DistrictQuery,
) -> dict[str, Any]:
    """Version stamps of the incident and complaint panels (cheap; the page polls it)."""
    scope = _scope(session, viewer, city, district)
    return _out(scope, "pulse", service.pulse(session, scope))


@router.get("/geo")
def boundaries(
    response: Response,
    session: SessionDep,
    viewer: PublicViewer,
    city: str | None = CityQuery,
    district: str | None = DistrictQuery,
) -> dict[str, Any]:
    """District boundaries (GeoJSON) and neighbourhood rings for the map."""
    scope = _scope(session, viewer, city, district)
    response.headers["Cache-Control"] = "public, max-age=300"
    return geo.map_shapes(session, scope).as_dict()


@router.get("/incidents/{number}/cctv")
def cctv_near(
    number: str,
    session: SessionDep,
    viewer: PublicViewer,
    radius_m: float = Query(800.0, gt=0, le=5000),
) -> dict[str, Any]:
    """CCTV sites near an incident, nearest first."""
    scope = _scope(session, viewer, None, None)
    cameras = status.cctv_near(session, scope, number, radius_m)
    return _json(
        {"incident": number, "radius_m": radius_m, "cctv": [dataclasses.asdict(c) for c in cameras]}
    )
