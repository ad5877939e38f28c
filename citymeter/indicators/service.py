"""Reading computed indicator values: by area, period and breakdown, district rankings, reporting
coverage. Every public read goes through `disclosure.disclose`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import READ_INTERNAL, Viewer
from citymeter.errors import InvalidInput, NotFound
from citymeter.indicators import catalog
from citymeter.indicators.disclosure import disclose
from citymeter.indicators.loader import LoadedPack, load_pack
from citymeter.indicators.models import IndicatorValue
from citymeter.indicators.schema import IndicatorDefinition
from citymeter.places.models import Area, City

GRAINS = ("month", "quarter", "year")
MAX_ROWS = 50_000


@dataclass(frozen=True)
class ValueView:
    pack: str
    code: str
    city: str
    area_code: str
    area_name: str
    area_level: str
    grain: str
    period_start: dt.date
    sex: str
    age_band: str
    value: float | None
    unit: str
    quality: str
    suppressed: str | None
    definition_version: int
    input_count: int
    computed_at: dt.datetime
    provenance: dict[str, Any] | None = None


def definition_for(
    code: str, pack: str | None, viewer: Viewer
) -> tuple[LoadedPack, IndicatorDefinition]:
    """The definition, refused to those who may not see internal indicators."""
    loaded, definition = catalog.find_indicator(code, pack)
    if definition.visibility == "internal" and not viewer.can(READ_INTERNAL):
        raise NotFound(f"No indicator {code!r} in the public packs.")
    return loaded, definition


def _city_id(session: Session, city: str | None) -> int | None:
    if city is None:
        return None
    found = session.scalar(select(City.id).where(City.code == city))
    if found is None:
        raise NotFound(f"No city with code {city!r}.")
    return found


def _check_grain(grain: str | None) -> None:
    if grain is not None and grain not in GRAINS:
        raise InvalidInput(f"Grain {grain!r} is not one of {', '.join(GRAINS)}.")


def query_values(
    session: Session,
    viewer: Viewer,
    code: str,
    *,
    min_count: int,
    pack: str | None = None,
    city: str | None = None,
    area: str | None = None,
    level: str | None = None,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    grain: str | None = None,
    sex: str | None = None,
    age_band: str | None = None,
    limit: int = 1000,
) -> list[ValueView]:
    """Stored values of one indicator, filtered; suppressed cells say why instead of a value."""
    loaded, _ = definition_for(code, pack, viewer)
    _check_grain(grain)
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput(f"limit must be between 1 and {MAX_ROWS}.")
    query = (
        select(IndicatorValue, Area.code, Area.name, Area.level, City.code)
        .join(Area, Area.id == IndicatorValue.area_id)
        .join(City, City.id == IndicatorValue.city_id)
        .where(IndicatorValue.pack == loaded.pack.id, IndicatorValue.code == code)
    )
    city_id = _city_id(session, city)
    if city_id is not None:
        query = query.where(IndicatorValue.city_id == city_id)
    if area is not None:
        # Resolve the area first so that the value index (code, area, grain, period) is used.
        area_query = select(Area.id).where(Area.code == area)
        if city_id is not None:
            area_query = area_query.where(Area.city_id == city_id)
        area_ids = list(session.scalars(area_query))
        query = query.where(IndicatorValue.area_id.in_(area_ids))
    if level is not None:
        query = query.where(Area.level == level)
    if period_from is not None:
        query = query.where(IndicatorValue.period_start >= period_from)
    if period_to is not None:
        query = query.where(IndicatorValue.period_start <= period_to)
    if grain is not None:
        query = query.where(IndicatorValue.grain == grain)
    if sex is not None:
        query = query.where(IndicatorValue.sex == sex)
    if age_band is not None:
        query = query.where(IndicatorValue.age_band == age_band)
    query = query.order_by(
        Area.code, IndicatorValue.grain, IndicatorValue.period_start,
        IndicatorValue.sex, IndicatorValue.age_band,
    ).limit(limit)  # fmt: skip
    staff = viewer.can(READ_INTERNAL)
    views = []
    for value, area_code, area_name, area_level, city_code in session.execute(query):
        shown, reason = disclose(viewer, value, min_count)
        views.append(
            ValueView(
                loaded.pack.id,
                code,
                city_code,
                area_code,
                area_name,
                area_level,
                value.grain,
                value.period_start,
                value.sex,
                value.age_band,
                shown,
                value.unit,
                value.quality,
                reason,
                value.definition_version,
                value.input_count,
                value.computed_at,
                value.provenance if staff else None,
            )
        )
    return views


@dataclass
class RankedArea:
    rank: int | None
    area_code: str
    area_name: str
    value: float | None
    suppressed: str | None = None


@dataclass
class Ranking:
    code: str
    pack: str
    city: str
    grain: str
    period_start: dt.date
    unit: str
    direction: str
    order: str
    ranked: list[RankedArea] = field(default_factory=list)
    missing: list[RankedArea] = field(default_factory=list)


def ranking(
    session: Session,
    viewer: Viewer,
    code: str,
    *,
    min_count: int,
    pack: str | None = None,
    city: str | None = None,
    period: dt.date | None = None,
    grain: str | None = None,
    sex: str = "total",
) -> Ranking:
    """Districts ranked best first for one period (default: the latest with district values);
    districts without a value are listed as missing, suppressed ones rank last without a value."""
    loaded, definition = definition_for(code, pack, viewer)
    _check_grain(grain)
    base = (
        select(IndicatorValue, Area.code, Area.name)
        .join(Area, Area.id == IndicatorValue.area_id)
        .where(
            IndicatorValue.pack == loaded.pack.id,
            IndicatorValue.code == code,
            Area.level == "district",
            IndicatorValue.sex == sex,
            IndicatorValue.age_band == "total",
        )
    )
    city_id = _city_id(session, city)
    if city_id is None:
        cities = list(session.scalars(base.with_only_columns(IndicatorValue.city_id).distinct()))
        if len(cities) != 1:
            raise InvalidInput(
                f"Name the city (?city=CODE): {len(cities)} cities have district values of {code}."
            )
        city_id = cities[0]
    # By the districts' area ids, so that SQLite reads the value key rather than every value
    # of the city (a filter on city_id alone makes it pick that index).
    district_ids = select(Area.id).where(Area.city_id == city_id, Area.level == "district")
    base = base.where(
        IndicatorValue.city_id == city_id,
        IndicatorValue.area_id.in_(list(session.scalars(district_ids))),
    )
    if grain is None:
        grains = set(session.scalars(base.with_only_columns(IndicatorValue.grain).distinct()))
        if not grains:
            raise NotFound(f"No district values of {code} have been computed for this city.")
        grain = (
            definition.periodicity
            if definition.periodicity in grains
            else max(grains, key=lambda g: GRAINS.index(g) if g in GRAINS else -1)
        )
    base = base.where(IndicatorValue.grain == grain)
    if period is None:
        period = session.scalar(base.with_only_columns(func.max(IndicatorValue.period_start)))
        if period is None:
            raise NotFound(f"No district values of {code} at grain {grain}.")
    rows = session.execute(base.where(IndicatorValue.period_start == period)).all()
    city_code = session.scalar(select(City.code).where(City.id == city_id)) or ""
    descending = definition.direction != "lower_is_better"
    shown: list[RankedArea] = []
    hidden: list[RankedArea] = []
    seen: set[str] = set()
    for value, area_code, area_name in rows:
        seen.add(area_code)
        number, reason = disclose(viewer, value, min_count)
        if number is None:
            hidden.append(RankedArea(None, area_code, area_name, None, reason))
        else:
            shown.append(RankedArea(None, area_code, area_name, number))
    shown.sort(key=lambda r: (-(r.value or 0.0) if descending else (r.value or 0.0), r.area_code))
    for index, row in enumerate(shown, start=1):
        row.rank = index
    districts = session.execute(
        select(Area.code, Area.name)
        .where(Area.city_id == city_id, Area.level == "district")
        .order_by(Area.code)
    ).all()
    missing = [RankedArea(None, c, n, None, None) for c, n in districts if c not in seen]
    order = {
        "higher_is_better": "highest first (higher is better)",
        "lower_is_better": "lowest first (lower is better)",
    }.get(definition.direction, "highest first (no better or worse: for context only)")
    return Ranking(
        code, loaded.pack.id, city_code, grain, period, definition.unit, definition.direction,
        order, shown + hidden, missing,
    )  # fmt: skip


# ---------------------------------------------------------------- coverage


@dataclass
class CoverageGroup:
    key: str
    name: str
    defined: int
    reported: int
    codes_missing: list[str]

    @property
    def share(self) -> float:
        return self.reported / self.defined * 100 if self.defined else 0.0


@dataclass
class Coverage:
    pack: str
    city: str | None
    defined: int
    reported: int
    by_theme: list[CoverageGroup]
    by_tier: list[CoverageGroup]


def coverage(session: Session, viewer: Viewer, *, pack: str, city: str | None = None) -> Coverage:
    """How many of a pack's indicators the city reports (has at least one value), by top-level
    theme and by tier (or core flag)."""
    loaded = load_pack(pack)
    query = select(IndicatorValue.code).where(IndicatorValue.pack == loaded.pack.id).distinct()
    city_id = _city_id(session, city)
    if city_id is not None:
        query = query.where(IndicatorValue.city_id == city_id)
    reported = set(session.scalars(query))
    definitions = [
        d for d in loaded.indicators if d.visibility == "public" or viewer.can(READ_INTERNAL)
    ]
    names = {theme.code: theme.names.en for theme, _ in loaded.themes()}
    themes: dict[str, list[IndicatorDefinition]] = defaultdict(list)
    tiers: dict[str, list[IndicatorDefinition]] = defaultdict(list)
    for d in definitions:
        themes[loaded.theme_path(d.theme)[0]].append(d)
        if d.tier is not None:
            tiers[d.tier].append(d)
        elif d.core is not None:
            tiers["core" if d.core else "non-core"].append(d)
        else:
            tiers["all"].append(d)

    def group(key: str, name: str, items: list[IndicatorDefinition]) -> CoverageGroup:
        missing = [d.code for d in items if d.code not in reported]
        return CoverageGroup(key, name, len(items), len(items) - len(missing), missing)

    return Coverage(
        loaded.pack.id,
        city,
        len(definitions),
        sum(1 for d in definitions if d.code in reported),
        [group(k, names.get(k, k), v) for k, v in themes.items()],
        [group(k, k, v) for k, v in sorted(tiers.items())],
    )


def headline_cards(
    session: Session, viewer: Viewer, *, city: str, min_count: int, pack: str = "administration"
) -> list[dict[str, Any]]:
    """The city overview's cards: each headline indicator's latest city value and its change
    from the period before, at the indicator's periodicity."""
    loaded = load_pack(pack)
    city_id = _city_id(session, city)
    root = session.scalar(
        select(Area.id).where(Area.city_id == city_id, Area.level == "city").limit(1)
    )
    cards = []
    headline = [d for d in loaded.indicators if d.headline]
    if not viewer.can(READ_INTERNAL):
        headline = [d for d in headline if d.visibility == "public"]
    codes = [d.code for d in headline]
    rows = session.execute(
        select(IndicatorValue)
        .where(
            IndicatorValue.pack == loaded.pack.id,
            IndicatorValue.area_id == root,
            IndicatorValue.code.in_(codes),
            IndicatorValue.sex == "total",
            IndicatorValue.age_band == "total",
        )
        .order_by(IndicatorValue.code, IndicatorValue.period_start.desc())
    ).scalars()
    latest: dict[str, list[IndicatorValue]] = defaultdict(list)
    grains = {d.code: d.periodicity for d in headline}
    for value in rows:
        if value.grain == grains[value.code] and len(latest[value.code]) < 2:
            latest[value.code].append(value)
    for d in headline:
        pair = latest.get(d.code, [])
        current = pair[0] if pair else None
        shown, reason = disclose(viewer, current, min_count) if current else (None, None)
        before, _ = disclose(viewer, pair[1], min_count) if len(pair) > 1 else (None, None)
        cards.append(
            {
                "code": d.code,
                "name": d.names.ko or d.names.en,
                "unit": d.unit,
                "direction": d.direction,
                "period_start": current.period_start if current else None,
                "grain": current.grain if current else None,
                "value": shown,
                "suppressed": reason,
                "change": shown - before if shown is not None and before is not None else None,
            }
        )
    return cards
