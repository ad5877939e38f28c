"""What the API shows of cities and areas (the XPublic family), and GeoJSON shapes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from citymeter.places.boundaries import BoundaryImportResult
from citymeter.places.locator import AreaRef, Location
from citymeter.places.models import Area, City


class CityPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    names: dict[str, str]
    country: str | None
    timezone: str
    default_language: str


class AreaPublic(BaseModel):
    """An area without its boundary (lists stay small)."""

    code: str
    level: str
    name: str
    names: dict[str, str]
    parent_code: str | None
    centroid_lon: float | None
    centroid_lat: float | None
    area_km2: float | None
    population: int | None
    valid_from: dt.date | None
    valid_to: dt.date | None

    @classmethod
    def of(cls, area: Area) -> AreaPublic:
        return cls(
            code=area.code,
            level=area.level,
            name=area.name,
            names=area.names,
            parent_code=area.parent.code if area.parent is not None else None,
            centroid_lon=area.centroid_lon,
            centroid_lat=area.centroid_lat,
            area_km2=area.area_km2,
            population=area.population,
            valid_from=area.valid_from,
            valid_to=area.valid_to,
        )


class AreaDetailPublic(AreaPublic):
    """One area with its boundary (GeoJSON geometry, WGS84 lon/lat) and its parents."""

    boundary: dict[str, Any] | None
    ancestors: list[AreaPublic]
    properties: dict[str, Any]

    @classmethod
    def detail(cls, area: Area, ancestors: list[Area]) -> AreaDetailPublic:
        return cls(
            **AreaPublic.of(area).model_dump(),
            boundary=json.loads(area.boundary) if area.boundary else None,
            ancestors=[AreaPublic.of(a) for a in ancestors],
            properties=area.properties,
        )


class AreaFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any] | None
    properties: AreaPublic


class AreaFeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[AreaFeature]

    @classmethod
    def of(cls, areas: list[Area]) -> AreaFeatureCollection:
        return cls(
            features=[
                AreaFeature(
                    id=area.code,
                    geometry=json.loads(area.boundary) if area.boundary else None,
                    properties=AreaPublic.of(area),
                )
                for area in areas
            ]
        )


class AreaRefPublic(BaseModel):
    code: str
    level: str
    name: str

    @classmethod
    def of(cls, ref: AreaRef) -> AreaRefPublic:
        return cls(code=ref.code, level=ref.level, name=ref.name)


class LocationPublic(BaseModel):
    """The answer to "where is this point": the smallest area, then up to the city."""

    lat: float
    lon: float
    found: bool
    area: AreaRefPublic | None
    chain: list[AreaRefPublic]

    @classmethod
    def of(cls, lat: float, lon: float, location: Location | None) -> LocationPublic:
        if location is None:
            return cls(lat=lat, lon=lon, found=False, area=None, chain=[])
        return cls(
            lat=lat,
            lon=lon,
            found=True,
            area=AreaRefPublic.of(location.area),
            chain=[AreaRefPublic.of(ref) for ref in location.chain],
        )


class BoundaryImportPublic(BaseModel):
    city_code: str
    level: str
    source_name: str
    crs: str
    features: int
    created: int
    updated: int
    codes: list[str]

    @classmethod
    def of(cls, result: BoundaryImportResult) -> BoundaryImportPublic:
        return cls(
            city_code=result.city_code,
            level=result.level,
            source_name=result.source_name,
            crs=result.crs,
            features=result.features,
            created=result.created,
            updated=result.updated,
            codes=result.codes,
        )


def city_public(city: City) -> CityPublic:
    return CityPublic.model_validate(city)
