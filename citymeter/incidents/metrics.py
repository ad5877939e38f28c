"""The indicator engine's input resolver for incident records (`count(incidents, type: fire)`,
`median(incidents.response_time_s)`, ...).

Values are computed per area (the city, each district, each neighbourhood) and period (month,
quarter and year cells, each from its own incidents, so a year's median is the median of the
year's incidents, not a mean of monthly medians). An incident belongs to the period of its call
(`reported_at`) in the city's time zone, response times included:

- `count(incidents)`: incidents reported in the period; filters `type` (the type code or its
  category: `type: fire` counts every fire-category type), `priority` (the severity, 1–5) and
  `status` (the incident's current status);
- `median`, `mean`, `percentile`, `sum` of `incidents.response_time_s`: first dispatch to first
  arrival (`on_scene`) of any unit, in seconds, over the incidents that have both, with the same
  filters; stage times are stored as full moments, so an arrival past midnight counts as the
  minutes it took, never as a negative day.

An incident without a district counts for the city only; one without any location counts for the
city when the store holds one city (as the incidents service locates incidents only then), and for
none otherwise. A place and period without any incident has no value, not 0: the store cannot tell
a quiet month from a feed that was not connected yet. Record fields the incidents feature does not
keep (`casualties`) are reported as unresolved.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from citymeter.incidents.models import Incident, IncidentType, IncidentUnitStage
from citymeter.indicators.formula import Aggregate, MetricRef
from citymeter.indicators.inputs import (
    Cell,
    InputRequest,
    InputTable,
    InputValue,
    Resolution,
    Scope,
    register_resolver,
)
from citymeter.places.models import Area, City

RECORDS = "incidents"
GRAINS = ("month", "quarter", "year")
FIELDS = ("response_time_s",)
FILTERS = ("type", "priority", "status")


class Row(NamedTuple):
    """One incident as the aggregates read it."""

    area_id: int | None
    district_id: int | None
    type_code: str
    category: str
    severity: int
    status: str
    reported_at: dt.datetime
    response_time_s: float | None

    def record(self) -> dict[str, Any]:
        return {
            "type": self.type_code,
            "category": self.category,
            "priority": str(self.severity),
            "status": self.status,
            "response_time_s": self.response_time_s,
        }


def records_of(node: Aggregate) -> str:
    name = node.option("records") or node.option("field") or ""
    return str(name).partition(".")[0]


def period_start(moment: dt.datetime, zone: ZoneInfo, grain: str) -> dt.date:
    """The first day of the month, quarter or year holding `moment` in the city's time zone."""
    local = moment.astimezone(zone)
    if grain == "year":
        return dt.date(local.year, 1, 1)
    if grain == "quarter":
        return dt.date(local.year, (local.month - 1) // 3 * 3 + 1, 1)
    return dt.date(local.year, local.month, 1)


def load_rows(session: Session, city_id: int) -> tuple[list[Row], int]:
    """The city's incidents with their response times, and how many incidents without a location
    were left out because the store holds several cities."""
    areas = select(Area.id).where(Area.city_id == city_id)
    unlocated = Incident.area_id.is_(None) & Incident.district_id.is_(None)
    several = int(session.scalar(select(func.count()).select_from(City)) or 0) > 1
    mine = or_(Incident.area_id.in_(areas), Incident.district_id.in_(areas))
    if not several:
        mine = or_(mine, unlocated)
    left_out = (
        int(session.scalar(select(func.count()).select_from(Incident).where(unlocated)) or 0)
        if several
        else 0
    )
    firsts: dict[int, dict[str, dt.datetime]] = defaultdict(dict)
    stages = (
        select(
            IncidentUnitStage.incident_id, IncidentUnitStage.stage, func.min(IncidentUnitStage.at)
        )
        .where(
            IncidentUnitStage.stage.in_(["dispatched", "on_scene"]),
            IncidentUnitStage.incident_id.in_(select(Incident.id).where(mine)),
        )
        .group_by(IncidentUnitStage.incident_id, IncidentUnitStage.stage)
    )
    for incident_id, stage, at in session.execute(stages):
        firsts[incident_id][stage] = at
    incidents = (
        select(
            Incident.id,
            Incident.area_id,
            Incident.district_id,
            IncidentType.code,
            IncidentType.category,
            Incident.severity,
            Incident.status,
            Incident.reported_at,
        )
        .join(IncidentType, IncidentType.id == Incident.type_id)
        .where(mine)
    )
    rows = []
    for incident_id, area_id, district_id, code, category, severity, status, at in session.execute(
        incidents
    ):
        first = firsts.get(incident_id, {})
        dispatched, arrived = first.get("dispatched"), first.get("on_scene")
        seconds = (
            (arrived - dispatched).total_seconds()
            if dispatched is not None and arrived is not None
            else None
        )
        rows.append(Row(area_id, district_id, code, category, severity, status, at, seconds))
    return rows, left_out


def _matches(record: Mapping[str, Any], filters: Iterable[tuple[str, str]]) -> bool:
    for name, wanted in filters:
        if name == "type":
            if wanted not in (record["type"], record["category"]):
                return False
        elif str(record.get(name)) != wanted:
            return False
    return True


def value_of(node: Aggregate, records: list[dict[str, Any]]) -> InputValue | None:
    """The aggregate over the incidents of one place and period (with how many incidents it is
    made of), or None when it has no value there."""
    kept = [r for r in records if _matches(r, node.filters)]
    if node.function.name == "count":
        return InputValue(float(len(kept)), len(kept), 0)
    name = str(node.option("field")).partition(".")[2]
    compute = node.function.compute
    assert compute is not None
    options = {k: v for k, v in node.options if k not in ("records", "field")}
    try:
        value = float(compute(kept, name, {}, **options))
    except LookupError:
        return None  # no incident of the period has both a dispatch and an arrival
    return InputValue(value, sum(1 for r in kept if r.get(name) is not None), 0)


def _why_not(node: Aggregate) -> str | None:
    """Why the incidents feature cannot answer the aggregate, or None when it can."""
    if node.function.name != "count":
        name = str(node.option("field")).partition(".")[2]
        if name not in FIELDS:
            return f"incidents record no {name} (they have {', '.join(FIELDS)})"
    unknown = [name for name, _ in node.filters if name not in FILTERS]
    if unknown:
        return f"incidents cannot be filtered by {', '.join(unknown)} (only {', '.join(FILTERS)})"
    return None


class IncidentsResolver:
    name = "incidents"

    def accepts(self, node: MetricRef | Aggregate) -> bool:
        return isinstance(node, Aggregate) and records_of(node) == RECORDS

    def resolve(
        self,
        session: Session,
        city_id: int,
        requests: list[InputRequest],
        scope: Scope,
        into: Resolution,
    ) -> None:
        # Incidents are operational records whose public view already shows type, time and
        # district, so their inputs are neither internal (`into.personal`) nor counts of people
        # (`into.counts`): the values are published without disclosure suppression.
        answerable = []
        for request in requests:
            assert isinstance(request.node, Aggregate)
            reason = _why_not(request.node)
            if reason is None:
                answerable.append(request)
            else:
                into.unresolved[request.key] = reason
        city = session.get(City, city_id)
        if city is None or not answerable:
            return
        rows, left_out = load_rows(session, city_id)
        if left_out:
            into.problems.append(
                f"{left_out} incident(s) without a location not counted for {city.code}: the "
                "store holds several cities and an incident without a location names none"
            )
        levels = {
            area_id: level
            for area_id, level in session.execute(
                select(Area.id, Area.level).where(Area.city_id == city_id)
            )
        }
        cells = self._cells(rows, ZoneInfo(city.timezone), levels, scope)
        for request in answerable:
            node = request.node
            assert isinstance(node, Aggregate)
            table: InputTable = {}
            for cell, records in cells.items():
                if levels.get(cell.area_id) not in request.levels:
                    continue
                value = value_of(node, records)
                if value is not None:
                    table[cell] = value
            into.tables[request] = table

    def _cells(
        self, rows: list[Row], zone: ZoneInfo, levels: Mapping[int, str], scope: Scope
    ) -> dict[Cell, list[dict[str, Any]]]:
        """The incidents' records by cell: every place holding the incident, every grain."""
        roots = [a for a, level in levels.items() if level == "city"]
        found: dict[Cell, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            places = list(roots)
            if row.district_id is not None:
                places.append(row.district_id)
            if (
                row.area_id is not None
                and row.area_id != row.district_id
                and levels.get(row.area_id) == "neighbourhood"
            ):
                places.append(row.area_id)
            if scope.area_ids is not None:
                places = [p for p in places if p in scope.area_ids]
            record = row.record()
            for grain in GRAINS:
                start = period_start(row.reported_at, zone, grain)
                if scope.period_from is not None and start < scope.period_from:
                    continue
                if scope.period_to is not None and start > scope.period_to:
                    continue
                for place in places:
                    found[Cell(place, grain, start, "total", "total")].append(record)
        return dict(found)


register_resolver(IncidentsResolver())
