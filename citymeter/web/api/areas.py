"""JSON API: a city's areas (as JSON or GeoJSON) and boundary imports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, UploadFile

from citymeter.accounts.permissions import AREAS_WRITE, Viewer
from citymeter.places import boundaries, service
from citymeter.places.schemas import (
    AreaDetailPublic,
    AreaFeatureCollection,
    AreaPublic,
    BoundaryImportPublic,
)
from citymeter.web.deps import PublicViewer, SessionDep, require

router = APIRouter(prefix="/api/v1", tags=["areas"])


@router.get("/cities/{code}/areas")
def list_areas(
    code: str,
    session: SessionDep,
    _viewer: PublicViewer,
    level: str | None = None,
    parent: str | None = None,
    at: dt.date | None = None,
    format: Literal["json", "geojson"] = "json",
) -> list[AreaPublic] | AreaFeatureCollection:
    """The city's areas, filtered by level and parent code; `format=geojson` adds boundaries."""
    city = service.get_city(session, code)
    parent_area = service.get_area(session, city, parent, at) if parent else None
    areas = service.list_areas(session, city, level=level, parent=parent_area, at=at)
    if format == "geojson":
        return AreaFeatureCollection.of(areas)
    return [AreaPublic.of(area) for area in areas]


@router.get("/cities/{code}/areas.geojson")
def list_areas_geojson(
    code: str,
    session: SessionDep,
    _viewer: PublicViewer,
    level: str | None = None,
    parent: str | None = None,
    at: dt.date | None = None,
) -> AreaFeatureCollection:
    """The city's areas as a GeoJSON FeatureCollection (WGS84 lon/lat)."""
    city = service.get_city(session, code)
    parent_area = service.get_area(session, city, parent, at) if parent else None
    return AreaFeatureCollection.of(
        service.list_areas(session, city, level=level, parent=parent_area, at=at)
    )


@router.get("/cities/{code}/areas/{area_code}")
def get_area(
    code: str,
    area_code: str,
    session: SessionDep,
    _viewer: PublicViewer,
    at: dt.date | None = None,
) -> AreaDetailPublic:
    city = service.get_city(session, code)
    area = service.get_area(session, city, area_code, at)
    return AreaDetailPublic.detail(area, service.ancestors(session, area))


@router.post("/cities/{code}/areas/import", status_code=201)
def import_areas(
    code: str,
    file: UploadFile,
    session: SessionDep,
    viewer: Annotated[Viewer, Depends(require(AREAS_WRITE))],
    level: Annotated[str, Form()],
    code_field: Annotated[str, Form()],
    name_field: Annotated[str, Form()],
    name_language: Annotated[str | None, Form()] = None,
    name_field_en: Annotated[str | None, Form()] = None,
    name_fields: Annotated[
        str | None, Form(description="More names: zh=name_zh,ja=name_ja")
    ] = None,
    name_pattern: Annotated[str | None, Form()] = None,
    parent_field: Annotated[str | None, Form()] = None,
    parent: Annotated[str | None, Form()] = None,
    population_field: Annotated[str | None, Form()] = None,
    valid_from: Annotated[dt.date | None, Form()] = None,
    valid_to: Annotated[dt.date | None, Form()] = None,
    crs: Annotated[str | None, Form()] = None,
) -> BoundaryImportPublic:
    """Create or update areas from an uploaded GeoJSON FeatureCollection (all or nothing)."""
    city = service.get_city(session, code)
    source = file.filename or "upload.geojson"
    extra_names = boundaries.parse_name_fields(name_fields.split(",") if name_fields else [])
    if name_field_en:
        extra_names["en"] = name_field_en
    collection = boundaries.load_collection(file.file.read(), source)
    options = boundaries.BoundaryImportOptions(
        level=level,
        code_field=code_field,
        name_field=name_field,
        name_language=name_language or None,
        extra_name_fields=extra_names,
        name_pattern=name_pattern or None,
        parent_field=parent_field or None,
        parent_code=parent or None,
        population_field=population_field or None,
        valid_from=valid_from,
        valid_to=valid_to,
        crs=crs or None,
        source_name=source,
    )
    result = boundaries.import_boundaries(session, viewer, city, collection, options)
    return BoundaryImportPublic.of(result)
