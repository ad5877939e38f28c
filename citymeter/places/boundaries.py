"""Importing area boundaries from a GeoJSON FeatureCollection: all features or none.

Every feature is checked first (code, name, parent, population, geometry, CRS); any problem stops
the import with the full list, so a file is fixed once rather than one error at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shapely.errors import GEOSException
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.permissions import Viewer
from citymeter.errors import InvalidInput
from citymeter.places import geometry
from citymeter.places.models import Area, City
from citymeter.places.service import add_area, area_version, find_area, root_area_of

_LEVEL = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class BoundaryImportOptions:
    """How to read a file: which property holds what, and what the coordinates are in."""

    level: str
    code_field: str
    name_field: str
    name_language: str | None = None  # default: the city's default language
    extra_name_fields: dict[str, str] = field(default_factory=dict)  # language tag -> property
    name_pattern: str | None = None  # regex; the group "name", else group 1, else the match
    parent_field: str | None = None  # property holding the parent's code
    parent_code: str | None = None  # one parent for every feature
    population_field: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    crs: str | None = None  # overrides the file's `crs` member
    source_name: str = "GeoJSON"


@dataclass
class BoundaryImportResult:
    city_code: str
    level: str
    source_name: str
    crs: str
    features: int = 0
    created: int = 0
    updated: int = 0
    codes: list[str] = field(default_factory=list)
    by_parent_level: dict[str, int] = field(default_factory=dict)


@dataclass
class _Feature:
    index: int
    code: str
    name: str
    names: dict[str, str]
    parent_code: str | None
    population: int | None
    shape: BaseGeometry
    boundary: dict[str, Any]
    properties: dict[str, Any]


def parse_name_fields(pairs: list[str]) -> dict[str, str]:
    """["en=name_en", "zh-Hant=name_zh"] -> {"en": "name_en", "zh-Hant": "name_zh"}."""
    fields: dict[str, str] = {}
    for pair in pairs:
        tag, sep, prop = pair.partition("=")
        if not sep or not tag.strip() or not prop.strip():
            raise InvalidInput(f"Extra name field {pair!r} must look like en=name_en.")
        fields[tag.strip()] = prop.strip()
    return fields


def load_collection(raw: bytes | str, source_name: str = "the file") -> dict[str, Any]:
    """Parse the text of a GeoJSON FeatureCollection, or say clearly what it is instead."""
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidInput(f"{source_name} is not UTF-8 text; GeoJSON must be UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{source_name} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise InvalidInput(f"{source_name} must be a GeoJSON FeatureCollection, not {kind!r}.")
    if not isinstance(data.get("features"), list) or not data["features"]:
        raise InvalidInput(f"{source_name} has no features.")
    return data


def import_boundaries(
    session: Session,
    actor: Viewer,
    city: City,
    collection: dict[str, Any],
    options: BoundaryImportOptions,
) -> BoundaryImportResult:
    """Create or update one area per feature. Re-importing a file updates the same areas (same
    city, code and valid_from). Raises InvalidInput listing every problem; then nothing is stored.
    """
    _check_options(options)
    crs_name = options.crs or geometry.declared_crs(collection)
    system = geometry.coordinate_system(crs_name) if crs_name else None
    language = options.name_language or city.default_language
    pattern = re.compile(options.name_pattern) if options.name_pattern else None

    errors: list[str] = []
    features: list[_Feature] = []
    for index, raw in enumerate(collection["features"], start=1):
        feature = _read_feature(index, raw, options, language, pattern, system, errors)
        if feature is not None:
            features.append(feature)

    counts = Counter(feature.code for feature in features)
    for code, count in sorted(counts.items()):
        if count > 1:
            where = ", ".join(str(f.index) for f in features if f.code == code)
            errors.append(f"code {code!r} appears {count} times (features {where})")

    parents = _resolve_parents(session, city, features, options, errors)
    if errors:
        raise InvalidInput(
            f"{options.source_name}: {len(errors)} problem(s); nothing was imported "
            "(features are numbered from 1).",
            details={"errors": errors},
        )

    result = BoundaryImportResult(
        city_code=city.code,
        level=options.level,
        source_name=options.source_name,
        crs=system.name if system else geometry.WGS84_LONLAT.name,
        features=len(features),
    )
    for feature in features:
        parent = parents.get(feature.parent_code) if feature.parent_code else parents.get(None)
        existing = area_version(session, city, feature.code, options.valid_from)
        if existing is None:
            add_area(
                session,
                None,
                city=city,
                code=feature.code,
                level=options.level,
                name=feature.name,
                names=feature.names,
                parent=parent,
                boundary=feature.boundary,
                population=feature.population,
                valid_from=options.valid_from,
                valid_to=options.valid_to,
                properties=feature.properties,
            )
            result.created += 1
        else:
            _update(existing, feature, options, parent)
            result.updated += 1
        result.codes.append(feature.code)
        parent_level = parent.level if parent is not None else "(none)"
        result.by_parent_level[parent_level] = result.by_parent_level.get(parent_level, 0) + 1
    session.flush()
    audit.record(
        session,
        actor,
        "area.import",
        "city",
        city.id,
        {
            "source": options.source_name,
            "level": options.level,
            "crs": result.crs,
            "created": result.created,
            "updated": result.updated,
        },
    )
    return result


def _check_options(options: BoundaryImportOptions) -> None:
    problems = []
    if not _LEVEL.match(options.level):
        problems.append(
            f"level {options.level!r} must be a short lower-case word (e.g. neighbourhood)"
        )
    if options.parent_field and options.parent_code:
        problems.append("give either a parent field or a fixed parent code, not both")
    if options.valid_from and options.valid_to and options.valid_to < options.valid_from:
        problems.append(f"valid_to {options.valid_to} is before valid_from {options.valid_from}")
    for tag in [options.name_language or "ko", *options.extra_name_fields]:
        if not _LANGUAGE.match(tag):
            problems.append(f"{tag!r} is not a language tag (like ko, en, zh-Hant)")
    if options.name_pattern:
        try:
            re.compile(options.name_pattern)
        except re.error as exc:
            problems.append(f"the name pattern {options.name_pattern!r} is not a regex ({exc})")
    if problems:
        raise InvalidInput(
            "The import options are not usable: " + "; ".join(problems) + ".",
            details={"errors": problems},
        )


def _read_feature(
    index: int,
    raw: Any,
    options: BoundaryImportOptions,
    language: str,
    pattern: re.Pattern[str] | None,
    system: geometry.CoordinateSystem | None,
    errors: list[str],
) -> _Feature | None:
    """One feature checked; its problems appended to `errors` (None when it cannot be used)."""
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        errors.append(f"feature {index}: not a GeoJSON Feature")
        return None
    props = raw.get("properties") or {}
    if not isinstance(props, dict):
        errors.append(f"feature {index}: its properties are not an object")
        return None
    code = _text(props.get(options.code_field))
    label = f"feature {index} (code {code})" if code else f"feature {index}"
    before = len(errors)
    if not code:
        errors.append(f"{label}: no code in the property {options.code_field!r}")

    name = _text(props.get(options.name_field))
    if not name:
        errors.append(f"{label}: no name in the property {options.name_field!r}")
    elif pattern is not None:
        match = pattern.search(name)
        if match is None:
            errors.append(f"{label}: the name {name!r} does not match {pattern.pattern!r}")
        else:
            groups = match.groupdict()
            name = groups.get("name") or (match.group(1) if match.groups() else match.group(0))
    names = {language: name} if name else {}
    for tag, prop in options.extra_name_fields.items():
        if prop not in props:
            errors.append(f"{label}: no property {prop!r} (asked for the {tag} name)")
        elif extra := _text(props[prop]):
            names[tag] = extra

    parent_code = options.parent_code
    if options.parent_field:
        if options.parent_field not in props:
            errors.append(f"{label}: no parent code in the property {options.parent_field!r}")
        parent_code = _text(props.get(options.parent_field)) or None
    if parent_code is not None and parent_code == code:
        errors.append(f"{label}: the area cannot be its own parent")

    population = None
    if options.population_field:
        usable, population = _population(props.get(options.population_field))
        if not usable:
            errors.append(
                f"{label}: population {props.get(options.population_field)!r} "
                f"in {options.population_field!r} is not a whole number"
            )

    geom = _read_geometry(label, raw.get("geometry"), system, errors)
    if len(errors) > before or geom is None or not code or not name:
        return None
    return _Feature(
        index=index,
        code=code,
        name=name,
        names=names,
        parent_code=parent_code,
        population=population,
        shape=geom,
        boundary=raw["geometry"]
        if system is None or system.is_lonlat
        else geometry.to_geojson(geom),
        properties=dict(props),
    )


def _read_geometry(
    label: str,
    data: Any,
    system: geometry.CoordinateSystem | None,
    errors: list[str],
) -> BaseGeometry | None:
    if not isinstance(data, dict) or data.get("type") not in geometry.POLYGONAL:
        kind = data.get("type") if isinstance(data, dict) else None
        errors.append(f"{label}: the geometry must be a Polygon or MultiPolygon, not {kind!r}")
        return None
    try:
        geom = shape(data)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, GEOSException) as exc:
        errors.append(f"{label}: the geometry is not valid GeoJSON ({exc})")
        return None
    if system is None and not geom.is_empty and not geometry.looks_lonlat(geom):
        minx, miny, _maxx, _maxy = geom.bounds
        errors.append(
            f"{label}: coordinates like ({minx:.0f}, {miny:.0f}) are projected, not "
            "longitude/latitude, and the file names no CRS: give it (e.g. --crs EPSG:5179)"
        )
        return None
    if system is not None and not system.is_lonlat:
        try:
            converted = geometry.to_wgs84(geom, system)
        except Exception as exc:  # pyproj raises several types for impossible coordinates
            errors.append(f"{label}: cannot convert from {system.name} ({exc})")
            return None
        misuse = system.misuse(geom, converted)
        if misuse is not None:
            errors.append(f"{label}: {misuse}")
            return None
        # Checked as it will be stored: rounded to 7 decimals.
        geom = shape(geometry.to_geojson(converted))
    problem = geometry.boundary_problem(geom)
    if problem is not None:
        errors.append(f"{label}: {problem}")
        return None
    return geom


def _resolve_parents(
    session: Session,
    city: City,
    features: list[_Feature],
    options: BoundaryImportOptions,
    errors: list[str],
) -> dict[str | None, Area | None]:
    """Parent areas by code; key None is the default parent (the city's root area)."""
    parents: dict[str | None, Area | None] = {None: root_area_of(session, city)}
    for feature in features:
        code = feature.parent_code
        if code is None or code in parents:
            if code is not None and parents[code] is None:
                errors.append(
                    f"feature {feature.index} (code {feature.code}): unknown parent code {code!r}"
                )
            continue
        parents[code] = find_area(session, city, code, options.valid_from)
        if parents[code] is None:
            errors.append(
                f"feature {feature.index} (code {feature.code}): unknown parent code {code!r}; "
                f"import the parent level first (`citymeter areas list --city {city.code}`)"
            )
    return parents


def _update(
    area: Area, feature: _Feature, options: BoundaryImportOptions, parent: Area | None
) -> None:
    area.level = options.level
    area.name = feature.name
    area.names = {**area.names, **feature.names}
    area.parent_id = parent.id if parent is not None else None
    area.boundary = json.dumps(feature.boundary, separators=(",", ":"))
    point = feature.shape.representative_point()
    area.centroid_lon, area.centroid_lat = round(point.x, 6), round(point.y, 6)
    area.area_km2 = round(geometry.area_km2(feature.shape), 4)
    if options.population_field:
        area.population = feature.population
    area.valid_to = options.valid_to
    area.properties = feature.properties


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _population(value: Any) -> tuple[bool, int | None]:
    """(usable?, people): blank is usable and unknown; "12,345" and 12345.0 are 12345."""
    if value is None or value == "":
        return True, None
    if isinstance(value, bool):
        return False, None
    if isinstance(value, int):
        return value >= 0, value
    if isinstance(value, float):
        return value.is_integer() and value >= 0, int(value) if value.is_integer() else None
    text = str(value).replace(",", "").strip()
    return (True, int(text)) if text.isdigit() else (False, None)
