"""The names a city's commands can mention, gathered once per city and kept until the city's data
changes: areas, indicators, pledges, places of interest, incident and complaint types."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.complaints.models import ServiceType
from citymeter.entities.models import Entity
from citymeter.incidents.models import IncidentType
from citymeter.indicators.loader import all_shipped
from citymeter.indicators.models import Pledge
from citymeter.places.models import Area, City
from citymeter.search import lexicon
from citymeter.search.text import jamo, tokens, without_particle

# Kinds that name a thing of the city: offered as suggestions for unknown commands.
NAMED_KINDS = frozenset(
    {"area", "indicator", "pledge", "poi", "incident_type", "service_type", "view", "topic"}
)
_AREA_SUFFIX = re.compile(r"(특별시|광역시|특별자치시|시|구|군|동|읍|면)$")
_ROMAN_SUFFIX = re.compile(r"[- ](si|gu|gun|dong|eup|myeon)$")
_PARENTHESIS = re.compile(r"\s*\([^)]*\)")


@dataclass(frozen=True)
class Entry:
    """One meaning of a phrase: an area, an indicator, a view word, ..."""

    kind: str
    value: str
    label_ko: str
    label_en: str
    internal: bool = False
    # Among meanings of one phrase the higher rank wins (a district over a neighbourhood).
    rank: int = 0
    level: str | None = None
    lat: float | None = None
    lon: float | None = None

    def label(self, lang: str) -> str:
        return self.label_ko if lang == "ko" else self.label_en


@dataclass(frozen=True)
class PledgeInfo:
    number: str
    title_ko: str
    title_en: str
    indicator_codes: tuple[str, ...]
    internal: bool


@dataclass
class CityIndex:
    """Phrase → meanings for one city, plus what fuzzy matching and type-ahead need."""

    city_id: int
    city_code: str
    phrases: dict[str, list[Entry]] = field(default_factory=dict)
    words: set[str] = field(default_factory=set)
    longest: int = 1
    # (key, jamo of key, entry) for named things, for fuzzy matching and type-ahead.
    named: list[tuple[str, str, Entry]] = field(default_factory=list)
    pledges: dict[str, PledgeInfo] = field(default_factory=dict)
    indicators: dict[str, Entry] = field(default_factory=dict)
    themes: dict[str, str] = field(default_factory=dict)
    root_area: Entry | None = None

    def add(self, phrase: str, entry: Entry) -> None:
        words = [t.text for t in tokens(phrase)]
        if not words:
            return
        keys = {" ".join(words)}
        if len(words) > 1 and all(_is_korean(w) for w in words):
            keys.add("".join(words))  # 여성 고용률 is also typed 여성고용률
        for key in keys:
            meanings = self.phrases.setdefault(key, [])
            if entry not in meanings:
                meanings.append(entry)
                if entry.kind in NAMED_KINDS:
                    self.named.append((key, jamo(key), entry))
            parts = key.split(" ")
            self.words.update(parts)
            self.longest = max(self.longest, len(parts))

    def lookup(self, key: str) -> list[Entry]:
        return self.phrases.get(key, [])

    def canonical(self, word: str) -> tuple[str, str | None]:
        """The word as the index knows it, with the Korean particle it carried (if stripped)."""
        if word in self.words:
            return word, None
        for stem, particle in without_particle(word):
            if stem in self.words:
                return stem, particle
        return word, None


def _is_korean(word: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" for c in word)


def _area_names(area: Area) -> list[tuple[str, int]]:
    """(phrase, rank bonus) for an area: full names, codes, and short forms (강남구 → 강남)."""
    names = {area.name, *area.names.values()}
    out: list[tuple[str, int]] = [(area.code, 1)]
    for name in names:
        if not name:
            continue
        out.append((name, 1))
        short = _AREA_SUFFIX.sub("", name)
        if short != name and len(short) >= 2 and _is_korean(short):
            out.append((short, 0))
        roman = _ROMAN_SUFFIX.sub("", name.lower())
        if roman != name.lower() and len(roman) >= 3:
            out.append((roman, 0))
    return out


def _fingerprint(session: Session, city: City) -> tuple[Any, ...]:
    """Counts and last changes of what the index is built from: a change means rebuild."""
    row = session.execute(
        select(
            select(func.count(Area.id)).where(Area.city_id == city.id).scalar_subquery(),
            select(func.max(Area.updated_at)).where(Area.city_id == city.id).scalar_subquery(),
            select(func.count(Pledge.id)).where(Pledge.city_id == city.id).scalar_subquery(),
            select(func.max(Pledge.updated_at)).where(Pledge.city_id == city.id).scalar_subquery(),
            select(func.count(Entity.id)).where(Entity.city_id == city.id).scalar_subquery(),
            select(func.max(Entity.created_at)).where(Entity.city_id == city.id).scalar_subquery(),
            select(func.count(IncidentType.id)).scalar_subquery(),
            select(func.count(ServiceType.id))
            .where(ServiceType.city_id == city.id)
            .scalar_subquery(),
            select(func.max(ServiceType.created_at))
            .where(ServiceType.city_id == city.id)
            .scalar_subquery(),
        )
    ).one()
    return (city.id, city.code, city.created_at, *row)


def _entity_name(attributes: dict[str, Any], key: str) -> str | None:
    value = attributes.get(key)
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) and value.strip() else None


def build_index(session: Session, city: City) -> CityIndex:
    index = CityIndex(city_id=city.id, city_code=city.code)
    for kind, meanings in lexicon.WORDS.items():
        for value, phrases in meanings.items():
            ko = next((p for p in phrases if _is_korean(p)), value)
            en = next((p for p in phrases if not _is_korean(p)), value)
            for phrase in phrases:
                index.add(phrase, Entry(kind, value, ko, en))

    areas = session.scalars(
        select(Area).where(Area.city_id == city.id, Area.valid_to.is_(None)).order_by(Area.id)
    ).all()
    level_rank = {"district": 30, "neighbourhood": 20, "city": 10}
    for area in areas:
        ko = area.names.get("ko") or area.name
        en = area.names.get("en") or area.name
        entry_args = {
            "label_ko": ko,
            "label_en": en,
            "level": area.level,
            "lat": area.centroid_lat,
            "lon": area.centroid_lon,
        }
        for phrase, bonus in _area_names(area):
            rank = level_rank.get(area.level, 0) + bonus * 5
            index.add(phrase, Entry("area", area.code, rank=rank, **entry_args))  # type: ignore[arg-type]
        if area.level == "city" and index.root_area is None:
            index.root_area = Entry("area", area.code, rank=10, **entry_args)  # type: ignore[arg-type]

    for loaded in all_shipped():
        for definition in loaded.indicators:
            if definition.code in index.indicators:
                continue  # the first pack that defines a code names it (administration first)
            entry = Entry(
                "indicator",
                definition.code,
                definition.names.ko or definition.names.en,
                definition.names.en,
                internal=definition.visibility == "internal",
                rank=10,
            )
            index.indicators[definition.code] = entry
            index.themes[definition.code] = definition.theme
            names = {definition.names.en, _PARENTHESIS.sub("", definition.names.en)}
            if definition.names.ko:
                names |= {definition.names.ko, _PARENTHESIS.sub("", definition.names.ko)}
            for name in names:
                index.add(name, entry)
            index.add(definition.code, entry)
            index.add(definition.code.replace("_", " "), entry)
    for code, synonyms in lexicon.INDICATOR_SYNONYMS.items():
        target = index.indicators.get(code)
        if target is not None:
            alias = Entry(
                target.kind, target.value, target.label_ko, target.label_en, target.internal, 5
            )
            for phrase in synonyms:
                index.add(phrase, alias)

    for pledge in session.scalars(select(Pledge).where(Pledge.city_id == city.id)):
        info = PledgeInfo(
            pledge.number,
            pledge.title_ko or pledge.title_en or pledge.number,
            pledge.title_en or pledge.title_ko or pledge.number,
            tuple(pledge.indicator_codes or ()),
            pledge.visibility != "public",
        )
        index.pledges[pledge.number] = info
        entry = Entry(
            "pledge",
            pledge.number,
            f"{pledge.number}번 공약: {info.title_ko}",
            f"Pledge {pledge.number}: {info.title_en}",
            internal=info.internal,
            rank=15,
        )
        for title in {pledge.title_ko, pledge.title_en}:
            if title:
                index.add(title, entry)

    for category, phrases in lexicon.INCIDENT_CATEGORIES.items():
        ko = next((p for p in phrases if _is_korean(p)), category)
        for phrase in phrases:
            index.add(phrase, Entry("incident_category", category, ko, phrases[0], rank=1))
    for incident_type in session.scalars(select(IncidentType).order_by(IncidentType.id)):
        entry = Entry(
            "incident_type",
            incident_type.code,
            incident_type.name_ko or incident_type.name_en,
            incident_type.name_en,
            rank=5,
        )
        for type_phrase in {incident_type.name_en, incident_type.name_ko, incident_type.code}:
            if type_phrase:
                index.add(type_phrase, entry)

    for service in session.scalars(select(ServiceType).where(ServiceType.city_id == city.id)):
        entry = Entry("service_type", service.service_code, service.name, service.name, rank=5)
        service_phrases = {service.name, service.service_code}
        service_phrases |= {
            k.strip() for k in re.split(r"[,;]", service.keywords or "") if k.strip()
        }
        for phrase in service_phrases:
            index.add(phrase, entry)

    for entity in session.scalars(
        select(Entity).where(Entity.city_id == city.id, Entity.lat.is_not(None))
    ):
        attrs = entity.attributes or {}
        poi_ko = _entity_name(attrs, "name_ko") or _entity_name(attrs, "name")
        poi_en = _entity_name(attrs, "name_en") or _entity_name(attrs, "name")
        if not (poi_ko or poi_en):
            continue
        entry = Entry(
            "poi",
            entity.entity_id,
            poi_ko or poi_en or "",
            poi_en or poi_ko or "",
            internal=entity.visibility != "public",
            rank=8,
            lat=entity.lat,
            lon=entity.lon,
        )
        for poi_name in {poi_ko, poi_en}:
            if poi_name:
                index.add(poi_name, entry)
    return index


_CACHE: dict[tuple[Any, ...], CityIndex] = {}
_KEYS: dict[tuple[str, int], tuple[Any, ...]] = {}
_LOCK = threading.Lock()


def index_for(session: Session, city: City) -> CityIndex:
    """The city's index, rebuilt when its areas, pledges, entities or types have changed."""
    bind = str(session.get_bind().engine.url)
    key = (bind, *_fingerprint(session, city))
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    index = build_index(session, city)
    with _LOCK:
        old = _KEYS.pop((bind, city.id), None)
        if old is not None:
            _CACHE.pop(old, None)
        _KEYS[(bind, city.id)] = key
        _CACHE[key] = index
    return index


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
        _KEYS.clear()
