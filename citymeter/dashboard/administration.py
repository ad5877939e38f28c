"""Administration-status panels: headline indicator cards (latest value, change, target and a
trend line) and the pledge board; on a district page, the district's rank among the districts."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import READ_INTERNAL
from citymeter.dashboard.scope import Scope
from citymeter.dashboard.status import AirQuality
from citymeter.dashboard.voice import Complaints
from citymeter.errors import NotFound
from citymeter.indicators import pledges
from citymeter.indicators.loader import load_pack
from citymeter.indicators.models import IndicatorValue, Pledge

PACK = "administration"
RANKED = ("employment_rate", "women_employment_rate", "unemployment_rate")
SPARK_POINTS = 13  # a year and the same month a year before


@dataclass(frozen=True)
class Point:
    period: dt.date
    value: float | None


@dataclass(frozen=True)
class _Value:
    code: str
    grain: str
    period_start: dt.date
    shown: float | None
    reason: str | None


def _recent_values(
    session: Session,
    scope: Scope,
    pack: str,
    codes: list[str],
    area_id: int,
    min_count: int,
    *,
    keep: int = SPARK_POINTS,
) -> dict[tuple[str, str], list[_Value]]:
    """The newest `keep` values per (code, grain) at one area, newest first, as the reader may
    see them. The provenance (large) is read only for the values kept, and only for the public."""
    rows = session.execute(
        select(
            IndicatorValue.id,
            IndicatorValue.code,
            IndicatorValue.grain,
            IndicatorValue.period_start,
            IndicatorValue.value,
            IndicatorValue.min_count,
        )
        .where(
            IndicatorValue.code.in_(codes),
            IndicatorValue.area_id == area_id,
            IndicatorValue.pack == pack,
            IndicatorValue.sex == "total",
            IndicatorValue.age_band == "total",
        )
        .order_by(IndicatorValue.code, IndicatorValue.grain, IndicatorValue.period_start.desc())
    ).all()
    kept: dict[tuple[str, str], list[tuple[int, dt.date, float, float | None]]] = {}
    for id_, code, grain, start, value, smallest in rows:
        bucket = kept.setdefault((code, grain), [])
        if len(bucket) < keep:
            bucket.append((id_, start, value, smallest))
    personal: dict[int, list[str]] = {}
    if not scope.reader.can(READ_INTERNAL):
        ids = [row[0] for bucket in kept.values() for row in bucket]
        for id_, provenance in session.execute(
            select(IndicatorValue.id, IndicatorValue.provenance).where(IndicatorValue.id.in_(ids))
        ):
            found = (provenance or {}).get("personal")
            if found:
                personal[id_] = list(found)
    out: dict[tuple[str, str], list[_Value]] = {}
    for (code, grain), bucket in kept.items():
        values = []
        for id_, start, value, smallest in bucket:
            shown: float | None = value
            reason = None
            if not scope.reader.can(READ_INTERNAL):
                # The same rule as citymeter.indicators.disclosure.disclose.
                if id_ in personal:
                    shown = None
                    reason = (
                        "derived from internal or personal data (" + ", ".join(personal[id_]) + ")"
                    )
                elif smallest is not None and smallest < min_count:
                    shown, reason = None, f"fewer than {min_count} people behind this value"
            values.append(_Value(code, grain, start, shown, reason))
        out[(code, grain)] = values
    return out


@dataclass(frozen=True)
class IndicatorCard:
    code: str
    names: dict[str, str]
    unit: str
    direction: str  # higher_is_better, lower_is_better, neutral
    grain: str
    visibility: str
    value: float | None
    period: dt.date | None
    change: float | None  # against the period before
    suppressed: str | None  # why the value is not shown
    target: float | None = None
    target_date: dt.date | None = None
    series: list[Point] = field(default_factory=list)

    @property
    def trend(self) -> str:
        """good, bad or flat: the change read with the indicator's direction."""
        if self.change is None or abs(self.change) < 1e-9 or self.direction == "neutral":
            return "flat"
        up = self.change > 0
        return "good" if up == (self.direction == "higher_is_better") else "bad"


def indicator_cards(session: Session, scope: Scope, *, min_count: int) -> list[IndicatorCard]:
    """The pack's headline indicators at the scope's area, each with its recent series."""
    loaded = load_pack(PACK)
    area_id = scope.district.id if scope.district else (scope.root.id if scope.root else None)
    if area_id is None:
        return []
    headline = [d for d in loaded.indicators if d.headline]
    if not scope.reader.can(READ_INTERNAL):
        headline = [d for d in headline if d.visibility == "public"]
    series = _recent_values(
        session, scope, loaded.pack.id, [d.code for d in headline], area_id, min_count
    )
    targets: dict[str, tuple[float, dt.date]] = {}
    if scope.district is None:
        for pledge in _pledges(session, scope):
            for code in pledge.indicator_codes[:1]:
                targets.setdefault(code, (pledge.target_value, pledge.target_date))
    cards = []
    for d in headline:
        values = list(reversed(series.get((d.code, d.periodicity), [])))
        if not values:
            # A yearly indicator computed for months only, or the reverse: take what exists.
            values = list(reversed(next((v for (c, _), v in series.items() if c == d.code), [])))
        points = [Point(v.period_start, v.shown) for v in values]
        latest = values[-1] if values else None
        shown, reason = (latest.shown, latest.reason) if latest else (None, None)
        before = points[-2].value if len(points) > 1 else None
        target = targets.get(d.code)
        cards.append(
            IndicatorCard(
                code=d.code,
                names={
                    "ko": d.names.ko or d.names.en or d.code,
                    "en": d.names.en or d.names.ko or d.code,
                },
                unit=d.unit,
                direction=d.direction,
                grain=latest.grain if latest else d.periodicity,
                visibility=d.visibility,
                value=shown,
                period=latest.period_start if latest else None,
                change=shown - before if shown is not None and before is not None else None,
                suppressed=reason,
                target=target[0] if target else None,
                target_date=target[1] if target else None,
                series=points,
            )
        )
    return cards


@dataclass(frozen=True)
class PledgeItem:
    number: str
    titles: dict[str, str]
    status: str  # on_track, at_risk, off_track, achieved, no_data
    progress: float | None
    expected: float
    target_date: dt.date
    indicator: str | None = None  # the indicator that measures it


@dataclass(frozen=True)
class PledgeBoard:
    pledges: list[PledgeItem]
    counts: dict[str, int]

    def measuring(self, indicator: str) -> PledgeItem | None:
        """The first pledge measured by `indicator`, for its status on the indicator's card."""
        return next((p for p in self.pledges if p.indicator == indicator), None)


def _natural(number: str) -> list[tuple[int, str]]:
    """Pledge 1-2 before 1-10 before 2."""
    return [(int(part), "") if part.isdigit() else (0, part) for part in re.split(r"(\d+)", number)]


def _pledges(session: Session, scope: Scope) -> list[Pledge]:
    query = select(Pledge).where(Pledge.city_id == scope.city.id)
    if not scope.reader.can(READ_INTERNAL):
        query = query.where(Pledge.visibility == "public")
    return list(session.scalars(query))


def pledge_board(session: Session, scope: Scope) -> PledgeBoard:
    """The city's pledges the reader may see, with their status (pledges are city-wide).

    Progress as citymeter.indicators.pledges computes it (the measure's latest city value at its
    measuring grain, else at any grain), read through the value index at the city's own area."""
    found = sorted(_pledges(session, scope), key=lambda p: _natural(p.number))
    if not found or scope.root is None:
        return PledgeBoard([], {})
    today = dt.date.today()
    items = []
    for pledge in found:
        value, as_of = _pledge_measure(session, scope.root.id, pledge)
        span = (pledge.target_date - pledge.baseline_date).days
        elapsed = ((as_of or today) - pledge.baseline_date).days
        expected = min(max(elapsed / span * 100, 0.0), 100.0) if span > 0 else 100.0
        progress = None
        if value is not None and pledge.target_value != pledge.baseline_value:
            progress = (
                (value - pledge.baseline_value)
                / (pledge.target_value - pledge.baseline_value)
                * 100
            )
        items.append(
            PledgeItem(
                pledge.number,
                {
                    "ko": pledge.title_ko or pledge.title_en or "",
                    "en": pledge.title_en or pledge.title_ko or "",
                },
                pledges.status_for(progress, expected),
                progress,
                expected,
                pledge.target_date,
                pledge.indicator_codes[0] if pledge.indicator_codes else None,
            )
        )
    counts = dict.fromkeys(pledges.STATUSES, 0)
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return PledgeBoard(items, counts)


def _pledge_measure(
    session: Session, root_id: int, pledge: Pledge
) -> tuple[float | None, dt.date | None]:
    if not pledge.indicator_codes:
        return None, None
    code = pledge.indicator_codes[0]
    try:
        grain = pledges.measure_grain(load_pack(pledge.pack).indicator(code))
    except (KeyError, NotFound):
        return None, None
    query = (
        select(IndicatorValue.value, IndicatorValue.period_start)
        .where(
            IndicatorValue.code == code,
            IndicatorValue.area_id == root_id,
            IndicatorValue.pack == pledge.pack,
            IndicatorValue.sex == "total",
            IndicatorValue.age_band == "total",
        )
        .order_by(IndicatorValue.period_start.desc(), IndicatorValue.grain)
        .limit(1)
    )
    row = session.execute(query.where(IndicatorValue.grain == grain)).first()
    if row is None:
        row = session.execute(query).first()
    return (row[0], row[1]) if row else (None, None)


@dataclass(frozen=True)
class Rank:
    key: str  # what is ranked: an indicator code, "pm25" or "complaints_late_share"
    names: dict[str, str]
    rank: int | None  # 1 = best
    of: int
    value: float | None
    unit: str
    suppressed: str | None = None


def _district_values(
    session: Session,
    scope: Scope,
    pack: str,
    code: str,
    grain: str,
    districts: dict[int, str],
    min_count: int,
) -> dict[str, _Value]:
    """Every district's value of one indicator for the latest period any district has."""
    where = (
        IndicatorValue.code == code,
        IndicatorValue.area_id.in_(list(districts)),
        IndicatorValue.grain == grain,
        IndicatorValue.pack == pack,
        IndicatorValue.sex == "total",
        IndicatorValue.age_band == "total",
    )
    latest = session.scalar(select(func.max(IndicatorValue.period_start)).where(*where))
    if latest is None:
        return {}
    rows = session.execute(
        select(
            IndicatorValue.area_id,
            IndicatorValue.value,
            IndicatorValue.min_count,
            IndicatorValue.provenance,
        ).where(*where, IndicatorValue.period_start == latest)
    ).all()
    out = {}
    public = not scope.reader.can(READ_INTERNAL)
    for area_id, value, smallest, provenance in rows:
        shown, reason = value, None
        personal = (provenance or {}).get("personal") if public else None
        if personal:
            shown, reason = None, "derived from internal or personal data"
        elif public and smallest is not None and smallest < min_count:
            shown, reason = None, f"fewer than {min_count} people behind this value"
        out[districts[area_id]] = _Value(code, grain, latest, shown, reason)
    return out


def district_ranks(
    session: Session, scope: Scope, air: AirQuality, complaints: Complaints, *, min_count: int
) -> list[Rank]:
    """Where the district stands among the city's districts (1 = best); `air` and `complaints`
    are the city-wide panels (every district's figures)."""
    if scope.district is None:
        return []
    code = scope.district.code
    ranks = []
    loaded = load_pack(PACK)
    ids = {d.id: d.code for d in scope.districts}
    for indicator in RANKED:
        definition = loaded.indicator(indicator)
        if definition.visibility != "public" and not scope.reader.can(READ_INTERNAL):
            continue
        current = _district_values(session, scope, loaded.pack.id, indicator,
                                   definition.periodicity, ids, min_count)  # fmt: skip
        shown = [(c, v.shown) for c, v in current.items() if v.shown is not None]
        lower = definition.direction == "lower_is_better"
        shown.sort(key=lambda cv: ((cv[1] or 0.0) if lower else -(cv[1] or 0.0), cv[0]))
        position = next((i for i, (c, _) in enumerate(shown) if c == code), None)
        mine = current.get(code)
        ranks.append(
            Rank(
                indicator,
                {"ko": definition.names.ko or indicator, "en": definition.names.en or indicator},
                position + 1 if position is not None else None,
                len(shown),
                mine.shown if mine else None,
                definition.unit,
                mine.reason if mine else None,
            )
        )
    rated = sorted((d for d in air.districts if d.pm25 is not None), key=lambda d: d.pm25 or 0)
    mine_air = next((i for i, d in enumerate(rated) if d.code == code), None)
    ranks.append(
        Rank(
            "pm25",
            {"ko": "초미세먼지 (PM2.5)", "en": "Fine dust (PM2.5)"},
            mine_air + 1 if mine_air is not None else None,
            len(rated),
            rated[mine_air].pm25 if mine_air is not None else None,
            "µg/m³",
        )
    )
    late = sorted(
        (d for d in complaints.districts if d.late_share is not None),
        key=lambda d: d.late_share or 0,
    )
    mine_late = next((i for i, d in enumerate(late) if d.code == code), None)
    ranks.append(
        Rank(
            "complaints_late_share",
            {"ko": "민원 처리기한 초과 비율", "en": "Complaints past their deadline"},
            mine_late + 1 if mine_late is not None else None,
            len(late),
            late[mine_late].late_share if mine_late is not None else None,
            "%",
        )
    )
    return ranks
