"""Indicator reads for the portal: values and rankings where each district is read at the level the
viewer may see it (`access.reader_for`), the breakdowns of the latest period, pledge targets, and
the public catalogue for the open-data page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import PUBLIC_VIEWER, READ_INTERNAL, Viewer
from citymeter.errors import NotFound
from citymeter.indicators import catalog, pledges
from citymeter.indicators import service as indicators
from citymeter.indicators.loader import LoadedPack, all_shipped
from citymeter.indicators.models import IndicatorValue
from citymeter.indicators.schema import IndicatorDefinition
from citymeter.indicators.service import RankedArea, Ranking, ValueView
from citymeter.places import service as places
from citymeter.places.models import Area, City
from citymeter.portal import access

INTERNAL_INDICATOR = "internal indicator"
MAX_VALUES = 20_000


class InternalIndicator(NotFound):
    """An internal indicator asked for by someone who may not see it."""


def definition(
    code: str, pack: str | None, viewer: Viewer
) -> tuple[LoadedPack, IndicatorDefinition]:
    loaded, found = catalog.find_indicator(code, pack)
    if found.visibility == "internal" and not viewer.can(READ_INTERNAL):
        raise InternalIndicator(
            f"{code} is an internal indicator: it is computed from internal or personal data and "
            "is not published."
        )
    return loaded, found


def _is_city_wide_reader(viewer: Viewer) -> bool:
    return viewer.sees_internal_of(None)


def values_for(
    session: Session,
    viewer: Viewer,
    code: str,
    *,
    min_count: int,
    pack: str | None = None,
    city: str | None = None,
    area: str | None = None,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    grain: str | None = None,
    sex: str | None = None,
    age_band: str | None = None,
) -> list[ValueView]:
    """Values of one indicator; a district head reads their own district's areas internally and
    the others as the public does (internal indicators: their own district's areas only)."""
    loaded, found = definition(code, pack, viewer)
    query = {
        "min_count": min_count, "pack": loaded.pack.id, "city": city, "area": area,
        "period_from": period_from, "period_to": period_to, "grain": grain, "sex": sex,
        "age_band": age_band, "limit": MAX_VALUES,
    }  # fmt: skip
    if _is_city_wide_reader(viewer) or not viewer.can(READ_INTERNAL):
        return indicators.query_values(session, viewer, code, **query)  # type: ignore[arg-type]
    own = access.district_area_codes(session, viewer.district_id) if viewer.district_id else set()
    internal = indicators.query_values(session, viewer, code, **query)  # type: ignore[arg-type]
    if found.visibility == "internal":
        return [v for v in internal if v.area_code in own]
    public = indicators.query_values(session, PUBLIC_VIEWER, code, **query)  # type: ignore[arg-type]
    return [i if i.area_code in own else p for i, p in zip(internal, public, strict=True)]


def _rerank(rows: list[RankedArea], direction: str) -> list[RankedArea]:
    shown = [r for r in rows if r.value is not None]
    hidden = [r for r in rows if r.value is None]
    descending = direction != "lower_is_better"
    shown.sort(key=lambda r: (-(r.value or 0.0) if descending else (r.value or 0.0), r.area_code))
    for index, row in enumerate(shown, start=1):
        row.rank = index
    for row in hidden:
        row.rank = None
    return shown + hidden


def ranking_for(
    session: Session,
    viewer: Viewer,
    code: str,
    *,
    min_count: int,
    city: str,
    pack: str | None = None,
    grain: str | None = None,
    sex: str = "total",
) -> Ranking:
    """The district ranking, each district read at the level the viewer may see it."""
    loaded, found = definition(code, pack, viewer)
    args = {
        "min_count": min_count,
        "pack": loaded.pack.id,
        "city": city,
        "grain": grain,
        "sex": sex,
    }
    if _is_city_wide_reader(viewer) or not viewer.can(READ_INTERNAL):
        return indicators.ranking(session, viewer, code, **args)  # type: ignore[arg-type]
    internal = indicators.ranking(session, viewer, code, **args)  # type: ignore[arg-type]
    own_code = None
    if viewer.district_id is not None:
        own = session.get(Area, viewer.district_id)
        own_code = own.code if own else None
    if found.visibility == "internal":
        rows = [
            r if r.area_code == own_code
            else RankedArea(None, r.area_code, r.area_name, None, INTERNAL_INDICATOR)
            for r in internal.ranked
        ]  # fmt: skip
    else:
        public = indicators.ranking(session, PUBLIC_VIEWER, code, **args)  # type: ignore[arg-type]
        own_rows = {r.area_code: r for r in internal.ranked if r.area_code == own_code}
        rows = [own_rows.get(r.area_code, r) for r in public.ranked]
    internal.ranked = _rerank(rows, found.direction)
    return internal


@dataclass(frozen=True)
class PledgeTarget:
    number: str
    title: str
    baseline_value: float
    baseline_date: dt.date
    target_value: float
    target_date: dt.date
    status: str


def targets_for(
    session: Session, viewer: Viewer, city: City, code: str, lang: str
) -> list[PledgeTarget]:
    """Pledges (city-wide, so read at the city-wide level) whose measure is this indicator."""
    reader = access.reader_for(viewer, None)
    found = []
    for p in pledges.board(session, reader, city.code, measured_by=code):
        if p.indicator_codes[:1] == [code]:
            title = (p.title_ko if lang == "ko" else p.title_en) or p.title_en or p.title_ko or ""
            found.append(
                PledgeTarget(
                    p.number,
                    title,
                    p.baseline_value,
                    p.baseline_date,
                    p.target_value,
                    p.target_date,
                    p.progress.status,
                )
            )
    return found


@dataclass
class IndicatorPage:
    """Everything the indicator page shows for one selection."""

    loaded: LoadedPack
    definition: IndicatorDefinition
    city: City
    area: Area
    grain: str
    sex: str
    age_band: str
    series: list[ValueView] = field(default_factory=list)
    latest: dt.date | None = None
    by_sex: list[ValueView] = field(default_factory=list)
    by_age: list[ValueView] = field(default_factory=list)
    ranking: Ranking | None = None
    ranking_note: str | None = None
    targets: list[PledgeTarget] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    restricted: bool = False  # a district head looking outside their district at an internal one


def indicator_page(
    session: Session,
    viewer: Viewer,
    code: str,
    *,
    min_count: int,
    lang: str,
    city_code: str | None = None,
    pack: str | None = None,
    area_code: str | None = None,
    sex: str = "total",
    age_band: str = "total",
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    grain: str | None = None,
    with_ranking: bool = True,
) -> IndicatorPage:
    loaded, found = definition(code, pack, viewer)
    city = access.city_for(session, city_code)
    root = places.root_area_of(session, city)
    area = access.area_in(session, city, area_code)
    if area is None:
        own = session.get(Area, viewer.district_id) if viewer.district_id else None
        # An internal indicator opens on the district head's own district, the only one they read.
        if found.visibility == "internal" and viewer.role == "district_head" and own is not None:
            area = own
        else:
            area = root
    if area is None:
        raise NotFound(f"{city.name} has no areas yet.")
    chosen_grain = grain or found.periodicity
    page = IndicatorPage(loaded, found, city, area, chosen_grain, sex, age_band)
    page.areas = ([root] if root is not None else []) + access.districts(session, city)
    page.restricted = found.visibility == "internal" and not viewer.sees_internal_of(
        access.district_id_of(session, area)
    )

    def read(
        at_grain: str,
        *,
        first: dt.date | None,
        last: dt.date | None,
        by_sex: str | None = None,
        by_age: str | None = None,
    ) -> list[ValueView]:
        return values_for(
            session, viewer, code, min_count=min_count, pack=loaded.pack.id, city=city.code,
            area=area.code, grain=at_grain, sex=by_sex, age_band=by_age, period_from=first,
            period_to=last,
        )  # fmt: skip

    page.series = read(chosen_grain, first=period_from, last=period_to, by_sex=sex, by_age=age_band)
    if not page.series and grain is None:
        # Some indicators are computed at another grain than their periodicity: take what exists.
        for other in indicators.GRAINS:
            page.series = read(
                other, first=period_from, last=period_to, by_sex=sex, by_age=age_band
            )
            if page.series:
                page.grain = other
                break
    if page.series:
        page.latest = max(v.period_start for v in page.series)
        at_latest = read(page.grain, first=page.latest, last=page.latest)
        page.by_sex = [v for v in at_latest if v.age_band == "total" and v.sex != "total"]
        page.by_age = [v for v in at_latest if v.age_band != "total"]
    if with_ranking:
        try:
            page.ranking = ranking_for(
                session, viewer, code, min_count=min_count, city=city.code, pack=loaded.pack.id,
                sex=sex if sex in ("male", "female") else "total",
            )  # fmt: skip
        except NotFound as exc:
            page.ranking_note = exc.message
    page.targets = targets_for(session, viewer, city, code, lang)
    return page


@dataclass(frozen=True)
class CatalogueEntry:
    pack: str
    pack_name: str
    code: str
    name_en: str
    name_ko: str | None
    unit: str
    periodicity: str
    values: int


def public_catalogue(session: Session, city: City) -> tuple[list[CatalogueEntry], int]:
    """Every public indicator with values in the city (and how many public ones have none yet)."""
    counts = {
        (pack, code): int(n)
        for pack, code, n in session.execute(
            select(IndicatorValue.pack, IndicatorValue.code, func.count(IndicatorValue.id))
            .where(IndicatorValue.city_id == city.id)
            .group_by(IndicatorValue.pack, IndicatorValue.code)
        )
    }
    entries: list[CatalogueEntry] = []
    without = 0
    for loaded in all_shipped():
        for d in loaded.indicators:
            if d.visibility != "public":
                continue
            n = counts.get((loaded.pack.id, d.code), 0)
            if n == 0:
                without += 1
                continue
            entries.append(
                CatalogueEntry(
                    loaded.pack.id,
                    loaded.pack.names.en,
                    d.code,
                    d.names.en,
                    d.names.ko,
                    d.unit,
                    d.periodicity,
                    n,
                )
            )
    return entries, without
