"""NGSI-LD media types and representations.

- Requests with a body must be `application/json` or `application/ld+json` (PATCH also takes
  `application/merge-patch+json`); anything else is 415.
- With `application/json` the @context comes from the Link header (or is the core context) and an
  "@context" member in the body is an error; with `application/ld+json` it must be in the body and a
  Link header is an error (clause 6.3.5).
- Responses are `application/json` with the @context in a Link header, or `application/ld+json`
  with "@context" in the body, or `application/geo+json` for entities; anything else is 406.
- Entities are stored normalized; `options=keyValues` (alias `simplified`) and `options=concise`
  are derived on the way out, and a concise or normalized body is accepted on the way in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from citymeter.ngsi import geo
from citymeter.ngsi.context import CORE_CONTEXT_PATH, LdContext, is_core_url, resolve
from citymeter.ngsi.errors import (
    BadRequestData,
    InvalidRequest,
    NotAcceptable,
    UnsupportedMediaType,
)

JSON = "application/json"
JSONLD = "application/ld+json"
GEOJSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"

ATTRIBUTE_TYPES = ("Property", "Relationship", "GeoProperty", "LanguageProperty")
# Members of an attribute that are not sub-attributes.
_ATTRIBUTE_KEYWORDS = frozenset(
    {"type", "value", "object", "languageMap", "observedAt", "unitCode", "datasetId"}
    | {"createdAt", "modifiedAt", "instanceId", "lang"}
)
_SYSTEM = frozenset({"createdAt", "modifiedAt", "deletedAt", "instanceId"})
OPTIONS = frozenset(
    {"keyValues", "simplified", "concise", "normalized", "sysAttrs", "noOverwrite"}
    | {"temporalValues", "count"}
)


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def body_media_type(content_type: str | None, *, merge_patch: bool = False) -> str:
    """The request body's media type, or 415 when NGSI-LD does not take it."""
    kind = media_type(content_type)
    allowed = {JSON, JSONLD} | ({MERGE_PATCH} if merge_patch else set())
    if kind not in allowed:
        shown = kind or "none"
        raise UnsupportedMediaType(
            f"Content-Type {shown!r} is not supported here; send {' or '.join(sorted(allowed))}."
        )
    return JSON if kind == MERGE_PATCH else kind


def negotiate(accept: str | None, *, geojson: bool = False) -> str:
    """The response media type chosen from the Accept header, or 406."""
    if not accept or not accept.strip():
        return JSON
    offers: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        kind = pieces[0].lower()
        weight = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if kind and weight > 0:
            offers.append((-weight, index, kind))
    supported = [JSON, JSONLD] + ([GEOJSON] if geojson else [])
    for _, _, kind in sorted(offers):
        if kind in supported:
            return kind
        if kind in ("*/*", "application/*"):
            return JSON
    raise NotAcceptable(
        f"None of the accepted media types ({accept}) can be produced here; "
        f"accept {', '.join(supported)}."
    )


def parse_options(options: str | None, format_: str | None = None) -> set[str]:
    chosen = {o.strip() for o in (options or "").split(",") if o.strip()}
    unknown = chosen - OPTIONS
    if unknown:
        raise BadRequestData(f"Unknown option(s) {', '.join(sorted(unknown))}.")
    if format_:
        if format_ not in ("keyValues", "simplified", "concise", "normalized", "temporalValues"):
            raise BadRequestData(f"Unknown format {format_!r}.")
        chosen.add(format_)
    if "simplified" in chosen:
        chosen.add("keyValues")
    if len(chosen & {"keyValues", "concise", "normalized"}) > 1:
        raise BadRequestData("Choose one of keyValues, concise and normalized.")
    return chosen


def parse_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise BadRequestData("An empty list was given.")
    return items


# ---- request context -------------------------------------------------------------------------


def request_context(kind: str | None, link_url: str | None, body: Any = None) -> LdContext:
    """The @context of a request, following clause 6.3.5's rules for each media type."""
    if kind == JSONLD:
        if link_url is not None:
            raise BadRequestData(
                "With Content-Type application/ld+json the @context goes in the body; "
                "drop the Link header (or send application/json)."
            )
        contexts = [b.get("@context") for b in _bodies(body)]
        if not contexts or any(c is None for c in contexts):
            raise BadRequestData(
                "An application/ld+json body must carry an @context "
                f'(e.g. "@context": "{CORE_CONTEXT_PATH}").'
            )
        resolved = [resolve(c) for c in contexts]
        return resolved[0]
    if kind == JSON and any("@context" in b for b in _bodies(body)):
        raise BadRequestData(
            "With Content-Type application/json the @context goes in a Link header; "
            "drop @context from the body (or send application/ld+json)."
        )
    return resolve(link_url)


def _bodies(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        return [b for b in body if isinstance(b, dict)]
    return []


def response_context(ctx: LdContext, core_url: str) -> Any:
    """The @context to put in a JSON-LD response body (the core context last)."""
    given = ctx.given
    if given is None:
        return core_url
    entries = given if isinstance(given, list) else [given]
    if any(isinstance(e, str) and is_core_url(e) for e in entries):
        return given
    return [*entries, core_url]


# ---- incoming entities and attributes --------------------------------------------------------


@dataclass(frozen=True)
class EntityIn:
    entity_id: str
    type: str
    attributes: dict[str, dict[str, Any]]


def entity_from_body(body: Any, ctx: LdContext, *, need_type: bool = True) -> EntityIn:
    """Check and normalize one entity of a request body (normalized or concise form)."""
    if not isinstance(body, dict):
        raise BadRequestData("An entity must be a JSON object with id and type.")
    entity_id = body.get("id", body.get("@id"))
    if not isinstance(entity_id, str) or not is_uri(entity_id):
        raise BadRequestData(
            f"An entity id must be a URI such as urn:ngsi-ld:AirQualityStation:GN-01, "
            f"not {entity_id!r}."
        )
    raw_type = body.get("type", body.get("@type"))
    if isinstance(raw_type, list) and len(raw_type) == 1:
        raw_type = raw_type[0]
    if raw_type is None and not need_type:
        entity_type = ""
    elif not isinstance(raw_type, str) or not raw_type.strip():
        raise BadRequestData(f"The entity {entity_id} needs one type (a string).")
    else:
        entity_type = ctx.expand(raw_type)
    attrs = attributes_from_fragment(
        {k: v for k, v in body.items() if k not in ("id", "@id", "type", "@type", "@context")},
        ctx,
        label=entity_id,
    )
    return EntityIn(entity_id=entity_id, type=entity_type, attributes=attrs)


def attributes_from_fragment(
    fragment: Any, ctx: LdContext, *, label: str = "the entity"
) -> dict[str, dict[str, Any]]:
    """Attributes of a request body (an entity fragment), normalized, under their stored names."""
    if not isinstance(fragment, dict):
        raise BadRequestData("The body must be a JSON object of attributes.")
    out: dict[str, dict[str, Any]] = {}
    for name, raw in fragment.items():
        if name in ("@context", "id", "type"):
            continue
        if name in _SYSTEM:
            continue  # system attributes are the broker's, never the client's
        if not name or name.startswith("@"):
            raise BadRequestData(f"{name!r} is not a valid attribute name in {label}.")
        out[ctx.expand(name)] = normalize_attribute(name, raw, label=label)
    return out


def normalize_attribute(name: str, raw: Any, *, label: str = "the entity") -> dict[str, Any]:
    """One attribute in normalized form, from normalized or concise input."""
    where = f"attribute {name!r} of {label}"
    if raw is None:
        raise BadRequestData(f"The {where} is null; give it a value.")
    if isinstance(raw, list) and raw and all(isinstance(r, dict) and "datasetId" in r for r in raw):
        raise BadRequestData(f"The {where} has several instances (datasetId); not supported.")
    if not isinstance(raw, dict):
        return _checked({"type": "Property", "value": raw}, where, name)
    kind = raw.get("type")
    if kind in geo.GEOMETRY_TYPES and "coordinates" in raw:
        return _checked({"type": "GeoProperty", "value": raw}, where, name)
    if kind is None:
        if "object" in raw:
            kind = "Relationship"
        elif "languageMap" in raw:
            kind = "LanguageProperty"
        elif "value" in raw:
            value = raw["value"]
            is_geo = isinstance(value, dict) and value.get("type") in geo.GEOMETRY_TYPES
            kind = "GeoProperty" if is_geo else "Property"
        else:
            raise BadRequestData(
                f"The {where} is an object without type, value or object; wrap a structured "
                'value as {"value": {...}}.'
            )
        raw = {"type": kind, **raw}
    if kind not in ATTRIBUTE_TYPES:
        raise BadRequestData(
            f"The {where} has type {kind!r}; use one of {', '.join(ATTRIBUTE_TYPES)}."
        )
    return _checked(dict(raw), where, name)


def _checked(attribute: dict[str, Any], where: str, name: str) -> dict[str, Any]:
    kind = attribute["type"]
    if kind == "Property":
        if "value" not in attribute or attribute["value"] is None:
            raise BadRequestData(f"The {where} is a Property without a value.")
        value = attribute["value"]
        if name == "location" and isinstance(value, dict) and value.get("type"):
            attribute["type"] = "GeoProperty"
            kind = "GeoProperty"
    if kind == "Relationship":
        target = attribute.get("object")
        if not isinstance(target, str) or not is_uri(target):
            raise BadRequestData(f"The {where} is a Relationship whose object is not a URI.")
    if kind == "GeoProperty":
        geo.check_geojson(attribute.get("value"), f"The {where}")
    if kind == "LanguageProperty" and not isinstance(attribute.get("languageMap"), dict):
        raise BadRequestData(f"The {where} is a LanguageProperty without a languageMap object.")
    observed = attribute.get("observedAt")
    if observed is not None:
        attribute["observedAt"] = format_time(parse_time(observed, f"observedAt of the {where}"))
    unit = attribute.get("unitCode")
    if unit is not None and not isinstance(unit, str):
        raise BadRequestData(f"unitCode of the {where} must be a string (a UN/CEFACT code).")
    for key in list(attribute):
        if key in _SYSTEM:
            del attribute[key]
        elif key not in _ATTRIBUTE_KEYWORDS:
            attribute[key] = normalize_attribute(key, attribute[key], label=where)
    return attribute


def is_uri(text: str) -> bool:
    head, sep, rest = text.partition(":")
    return bool(sep and rest and head and head[0].isalpha() and " " not in text)


def parse_time(value: Any, label: str) -> dt.datetime:
    if not isinstance(value, str):
        raise BadRequestData(f"{label} must be an ISO 8601 date-time string.")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestData(
            f"{label} = {value!r} is not an ISO 8601 date-time such as 2024-05-01T09:00:00Z."
        ) from None
    if parsed.tzinfo is None:
        raise BadRequestData(f"{label} = {value!r} has no time zone; add Z or an offset.")
    return parsed.astimezone(dt.UTC)


def format_time(at: dt.datetime) -> str:
    """UTC with a Z; milliseconds only when there are any (as the entity store writes times)."""
    at = at.astimezone(dt.UTC)
    if at.microsecond:
        return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- outgoing entities -----------------------------------------------------------------------


def render_entity(
    entity: dict[str, Any],
    *,
    ctx: LdContext,
    options: Iterable[str] = (),
    attrs: set[str] | None = None,
    system: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An entity for a response: attributes projected, compacted and in the asked-for form.

    `entity` is normalized with stored names; `system` holds createdAt/modifiedAt for sysAttrs.
    """
    chosen = set(options)
    out: dict[str, Any] = {"id": entity["id"], "type": ctx.compact(entity["type"])}
    if "sysAttrs" in chosen and system:
        out.update(system)
    for name, attribute in entity.items():
        if name in ("id", "type") or not isinstance(attribute, dict):
            continue
        if attrs is not None and name not in attrs:
            continue
        key = ctx.compact(name)
        if "keyValues" in chosen:
            out[key] = simple_value(attribute)
        elif "concise" in chosen:
            out[key] = concise_attribute(attribute, ctx)
        else:
            out[key] = _compacted(attribute, ctx)
    return out


def simple_value(attribute: dict[str, Any]) -> Any:
    kind = attribute.get("type")
    if kind == "Relationship":
        return attribute.get("object")
    if kind == "LanguageProperty":
        return attribute.get("languageMap")
    return attribute.get("value")


def concise_attribute(attribute: dict[str, Any], ctx: LdContext) -> Any:
    members = {k: v for k, v in attribute.items() if k != "type"}
    kind = attribute.get("type")
    if kind in ("Property", "GeoProperty") and set(members) == {"value"}:
        value = members["value"]
        # A plain object value must stay wrapped, or it would read as sub-attributes.
        if not isinstance(value, dict) or kind == "GeoProperty":
            return value
    out: dict[str, Any] = {}
    for key, member in members.items():
        if key in _ATTRIBUTE_KEYWORDS or not isinstance(member, dict):
            out[key] = member
        else:
            out[ctx.compact(key)] = concise_attribute(member, ctx)
    return out


def _compacted(attribute: dict[str, Any], ctx: LdContext) -> dict[str, Any]:
    if ctx.is_core:
        return attribute
    out: dict[str, Any] = {}
    for key, member in attribute.items():
        if key in _ATTRIBUTE_KEYWORDS or not isinstance(member, dict):
            out[key] = member
        else:
            out[ctx.compact(key)] = _compacted(member, ctx)
    return out


def geojson_feature(entity: dict[str, Any], geoproperty: str = "location") -> dict[str, Any]:
    """An entity as a GeoJSON Feature (Accept: application/geo+json)."""
    properties = {k: v for k, v in entity.items() if k != "id"}
    location = entity.get(geoproperty)
    geometry = None
    if isinstance(location, dict):
        geometry = location.get("value") if "value" in location else location
        if not (isinstance(geometry, dict) and "coordinates" in geometry):
            geometry = None
    return {"id": entity["id"], "type": "Feature", "geometry": geometry, "properties": properties}


def require_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequestData(f"{what} must be a JSON object.")
    return body


def require_array(body: Any, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise BadRequestData(f"{what} must be a JSON array.")
    if not body:
        raise BadRequestData(f"{what} is empty.")
    return body


def invalid_json(detail: str) -> InvalidRequest:
    return InvalidRequest(f"The body is not valid JSON: {detail}.")
