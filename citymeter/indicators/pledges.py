"""Mayoral pledges: targets on indicators, progress from the computed values, a trajectory-based
status, and the history of that status. The mayor's pledge board is `board()`.

Status rule (docs/indicators.md): progress = (value − baseline) / (target − baseline); the
expected progress is the share of the time from baseline date to target date that has passed (a
straight-line trajectory). achieved: progress ≥ 100 %; on track: progress ≥ expected − 10 points;
at risk: progress ≥ expected − 25 points; off track: below that, or moving away from the target
(progress < 0 after the first tenth of the time); no data: no value yet.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from citymeter.accounts import audit
from citymeter.accounts.permissions import READ_INTERNAL, Viewer
from citymeter.errors import Conflict, InvalidInput, NotFound
from citymeter.indicators.loader import load_pack
from citymeter.indicators.models import IndicatorValue, Pledge, PledgeMilestone, PledgeStatus
from citymeter.indicators.schema import IndicatorDefinition
from citymeter.places.models import Area, City

STATUSES = ("achieved", "on_track", "at_risk", "off_track", "no_data")
ON_TRACK_MARGIN = 10.0
AT_RISK_MARGIN = 25.0


@dataclass
class Progress:
    value: float | None
    as_of: dt.date | None
    progress: float | None  # % of the way from baseline to target
    expected: float  # % of the way the straight trajectory expects by today
    status: str


@dataclass
class PledgeView:
    number: str
    title_ko: str | None
    title_en: str | None
    owner_department: str
    pack: str
    indicator_codes: list[str]
    unit: str
    baseline_value: float
    baseline_date: dt.date
    target_value: float
    target_date: dt.date
    visibility: str
    progress: Progress
    milestones: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


def status_for(progress: float | None, expected: float) -> str:
    if progress is None:
        return "no_data"
    if progress >= 100:
        return "achieved"
    if progress < 0 and expected > 10:
        return "off_track"
    if progress >= expected - ON_TRACK_MARGIN:
        return "on_track"
    if progress >= expected - AT_RISK_MARGIN:
        return "at_risk"
    return "off_track"


def _city(session: Session, code: str) -> City:
    city = session.scalar(select(City).where(City.code == code))
    if city is None:
        raise NotFound(f"No city with code {code!r}.")
    return city


def _latest(session: Session, pledge: Pledge) -> tuple[float | None, dt.date | None]:
    """The measure's latest city-level value (whole population), from the pack's values."""
    if not pledge.indicator_codes:
        return None, None
    code = pledge.indicator_codes[0]
    definition = load_pack(pledge.pack).indicator(code)
    # The city's own area first, then its values by the value key (pack, code, area, grain,
    # period): a join on the area's level lets SQLite scan every value of the city instead.
    city_areas = list(
        session.scalars(select(Area.id).where(Area.city_id == pledge.city_id, Area.level == "city"))
    )
    if not city_areas:
        return None, None
    query = (
        select(IndicatorValue.value, IndicatorValue.period_start)
        .where(
            IndicatorValue.pack == pledge.pack,
            IndicatorValue.code == code,
            IndicatorValue.area_id.in_(city_areas),
            IndicatorValue.sex == "total",
            IndicatorValue.age_band == "total",
        )
        .order_by(IndicatorValue.period_start.desc(), IndicatorValue.grain)
        .limit(1)
    )
    # A flow (summed over periods) is compared year with year; a level at its periodicity.
    grain = measure_grain(definition)
    row = session.execute(query.where(IndicatorValue.grain == grain)).first()
    if row is None:
        row = session.execute(query).first()
    return (row[0], row[1]) if row else (None, None)


def measure_grain(definition: IndicatorDefinition) -> str:
    return "year" if definition.rollup == "sum" else definition.periodicity


def progress_of(session: Session, pledge: Pledge, today: dt.date | None = None) -> Progress:
    today = today or dt.date.today()
    value, as_of = _latest(session, pledge)
    span = (pledge.target_date - pledge.baseline_date).days
    elapsed = ((as_of or today) - pledge.baseline_date).days
    expected = min(max(elapsed / span * 100, 0.0), 100.0) if span > 0 else 100.0
    if value is None or pledge.target_value == pledge.baseline_value:
        return Progress(value, as_of, None, expected, status_for(None, expected))
    progress = (value - pledge.baseline_value) / (pledge.target_value - pledge.baseline_value) * 100
    return Progress(value, as_of, progress, expected, status_for(progress, expected))


def _check(
    pack: str,
    codes: list[str],
    baseline_date: dt.date,
    target_date: dt.date,
    baseline: float,
    target: float,
) -> str:
    if not codes:
        raise InvalidInput("A pledge needs at least one indicator code (its measure first).")
    loaded = load_pack(pack)
    known = {d.code: d for d in loaded.indicators}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise InvalidInput(
            f"The pack {pack} has no indicator {', '.join(map(repr, unknown))}; "
            "`citymeter indicators list --pack PACK` lists them."
        )
    if target_date <= baseline_date:
        raise InvalidInput(
            f"The target date {target_date} must come after the baseline date {baseline_date}."
        )
    if target == baseline:
        raise InvalidInput("The target value equals the baseline: there is nothing to achieve.")
    return known[codes[0]].unit


def add_pledge(
    session: Session,
    actor: Viewer,
    *,
    city: str,
    number: str,
    owner_department: str,
    indicator_codes: list[str],
    baseline_value: float,
    baseline_date: dt.date,
    target_value: float,
    target_date: dt.date,
    title_ko: str | None = None,
    title_en: str | None = None,
    pack: str = "administration",
    visibility: str = "public",
    milestones: list[dict[str, Any]] | None = None,
    notes: str | None = None,
) -> Pledge:
    the_city = _city(session, city)
    if not number.strip():
        raise InvalidInput("A pledge needs a number, e.g. 1-3.")
    if not (title_ko or title_en):
        raise InvalidInput("A pledge needs a title (Korean, English or both).")
    if not owner_department.strip():
        raise InvalidInput("A pledge needs an owner department.")
    if visibility not in ("public", "internal"):
        raise InvalidInput(f"Visibility {visibility!r} is not public or internal.")
    _check(pack, indicator_codes, baseline_date, target_date, baseline_value, target_value)
    exists = session.scalar(
        select(Pledge.id).where(Pledge.city_id == the_city.id, Pledge.number == number)
    )
    if exists is not None:
        raise Conflict(f"The city {city} has a pledge {number} already; update it instead.")
    pledge = Pledge(
        city_id=the_city.id, number=number, title_ko=title_ko, title_en=title_en,
        owner_department=owner_department, pack=pack, indicator_codes=list(indicator_codes),
        baseline_value=baseline_value, baseline_date=baseline_date, target_value=target_value,
        target_date=target_date, visibility=visibility, notes=notes,
    )  # fmt: skip
    for item in milestones or []:
        try:
            due = dt.date.fromisoformat(str(item["due"]))
            title = str(item["title"])
        except (KeyError, ValueError):
            raise InvalidInput(
                f"A milestone needs due (YYYY-MM-DD) and title; got {item!r}."
            ) from None
        target = item.get("target_value")
        pledge.milestones.append(
            PledgeMilestone(
                due=due, title=title, target_value=None if target is None else float(target)
            )
        )
    session.add(pledge)
    session.flush()
    audit.record(
        session, actor, "pledge.add", "pledge", pledge.id, {"number": number, "city": city}
    )
    assess(session, actor, pledge, note="created")
    return pledge


def get_pledge(session: Session, viewer: Viewer, city: str, number: str) -> Pledge:
    the_city = _city(session, city)
    pledge = session.scalar(
        select(Pledge)
        .where(Pledge.city_id == the_city.id, Pledge.number == number)
        .options(selectinload(Pledge.milestones), selectinload(Pledge.history))
    )
    if pledge is None or (pledge.visibility == "internal" and not viewer.can(READ_INTERNAL)):
        raise NotFound(f"The city {city} has no pledge {number}.")
    return pledge


UPDATABLE = (
    "title_ko", "title_en", "owner_department", "indicator_codes", "baseline_value",
    "baseline_date", "target_value", "target_date", "visibility", "notes",
)  # fmt: skip


def update_pledge(
    session: Session, actor: Viewer, *, city: str, number: str, note: str | None = None,
    **changes: Any,
) -> Pledge:  # fmt: skip
    """Change fields of a pledge (None leaves a field as it is); records the change and a new
    status in the history."""
    pledge = get_pledge(session, actor, city, number)
    unknown = [k for k in changes if k not in UPDATABLE]
    if unknown:
        raise InvalidInput(f"Cannot change {', '.join(unknown)} of a pledge.")
    given = {k: v for k, v in changes.items() if v is not None}
    merged = {k: given.get(k, getattr(pledge, k)) for k in UPDATABLE}
    if merged["visibility"] not in ("public", "internal"):
        raise InvalidInput(f"Visibility {merged['visibility']!r} is not public or internal.")
    _check(
        pledge.pack, list(merged["indicator_codes"]), merged["baseline_date"],
        merged["target_date"], merged["baseline_value"], merged["target_value"],
    )  # fmt: skip
    for key, value in given.items():
        setattr(pledge, key, value)
    session.flush()
    detail = {k: str(v) for k, v in given.items()}
    audit.record(session, actor, "pledge.update", "pledge", pledge.id, {"number": number, **detail})
    assess(session, actor, pledge, note=note or "updated")
    return pledge


def assess(
    session: Session, actor: Viewer | None, pledge: Pledge, *, note: str | None = None,
    today: dt.date | None = None, force: bool = True,
) -> PledgeStatus | None:  # fmt: skip
    """Append the pledge's current status to its history (unless unchanged and not forced)."""
    progress = progress_of(session, pledge, today)
    last = pledge.history[-1] if pledge.history else None
    if (
        not force
        and last is not None
        and last.status == progress.status
        and last.value == progress.value
    ):
        return None
    entry = PledgeStatus(
        as_of=progress.as_of,
        value=progress.value,
        progress=progress.progress,
        status=progress.status,
        note=note,
        actor=actor.label if actor else None,
    )
    pledge.history.append(entry)
    session.flush()
    return entry


def assess_city(session: Session, actor: Viewer | None, city_id: int) -> int:
    """After new values: record each pledge whose status or value changed."""
    changed = 0
    for pledge in session.scalars(select(Pledge).where(Pledge.city_id == city_id)):
        if assess(session, actor, pledge, note="indicator values recomputed", force=False):
            changed += 1
    return changed


def view(session: Session, pledge: Pledge, today: dt.date | None = None) -> PledgeView:
    loaded = load_pack(pledge.pack)
    unit = next(
        (d.unit for d in loaded.indicators if d.code == (pledge.indicator_codes or [""])[0]), ""
    )
    progress = progress_of(session, pledge, today)
    milestones = []
    for m in pledge.milestones:
        reached = (
            m.target_value is not None
            and progress.value is not None
            and (
                progress.value >= m.target_value
                if pledge.target_value >= pledge.baseline_value
                else progress.value <= m.target_value
            )
        )
        milestones.append(
            {
                "due": m.due,
                "title": m.title,
                "target_value": m.target_value,
                "done_on": m.done_on,
                "reached": bool(m.done_on) or reached,
            }
        )
    history = [
        {
            "assessed_at": h.assessed_at,
            "as_of": h.as_of,
            "value": h.value,
            "progress": h.progress,
            "status": h.status,
            "note": h.note,
            "actor": h.actor,
        }
        for h in pledge.history
    ]
    return PledgeView(
        pledge.number, pledge.title_ko, pledge.title_en, pledge.owner_department, pledge.pack,
        list(pledge.indicator_codes), unit, pledge.baseline_value, pledge.baseline_date,
        pledge.target_value, pledge.target_date, pledge.visibility, progress, milestones, history,
    )  # fmt: skip


def board(
    session: Session,
    viewer: Viewer,
    city: str,
    today: dt.date | None = None,
    *,
    measured_by: str | None = None,
) -> list[PledgeView]:
    """The mayor's pledge board: every pledge the viewer may see, with progress and status
    (only those measured by the indicator `measured_by`, when given)."""
    the_city = _city(session, city)
    query = (
        select(Pledge)
        .where(Pledge.city_id == the_city.id)
        .options(selectinload(Pledge.milestones), selectinload(Pledge.history))
        .order_by(Pledge.number)
    )
    if not viewer.can(READ_INTERNAL):
        query = query.where(Pledge.visibility == "public")
    found = sorted(session.scalars(query), key=lambda p: _natural(p.number))
    if measured_by is not None:
        found = [p for p in found if p.indicator_codes[:1] == [measured_by]]
    return [view(session, p, today) for p in found]


def _natural(number: str) -> list[tuple[int, str]]:
    """1-2 before 1-10 before 2."""
    return [(int(part), "") if part.isdigit() else (0, part) for part in re.split(r"(\d+)", number)]


def board_summary(views: list[PledgeView]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for v in views:
        counts[v.progress.status] += 1
    return counts
