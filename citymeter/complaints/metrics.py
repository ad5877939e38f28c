"""The indicator engine's input resolver for complaint records (`count(complaints)`,
`median(complaints.processing_hours)`, `share(complaints.closed_late)`, ...).

Values come from the service-level buckets of `sla.py`, per area (the city, each district, each
neighbourhood) and period (month, quarter and year cells, each computed from its own requests, so
a year's median is the median of the year's requests, not a mean of monthly medians):

- `count(complaints)`: requests received in the period (filters: `type`, `channel`);
- `count(complaints, status: closed)` (or `closed: true`): requests closed in the period;
- `count(complaints, status: open)` (or `closed: false`): the open backlog at the period's end;
- `median`, `mean`, `percentile`, `sum` of `complaints.processing_hours`: over the requests closed
  in the period (hours from opening to closing, negative durations included as they are);
- `share(complaints.closed_late)`: of the requests closed in the period that had a deadline, the
  share closed after it.

Requests without a district count for the city only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.complaints import sla
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

RECORDS = "complaints"
FIELD_FUNCTIONS = ("median", "mean", "sum", "percentile", "share")


def records_of(node: Aggregate) -> str:
    name = node.option("records") or node.option("field") or ""
    return str(name).partition(".")[0]


def _role(node: Aggregate) -> str:
    """Which requests of a bucket the aggregate reads: received, closed or backlog."""
    if node.function.name != "count":
        return "closed"
    filters = dict(node.filters)
    status = filters.get("status")
    closed = filters.get("closed", "").lower()
    if status == "closed" or closed == "true":
        return "closed"
    if status == "open" or closed == "false":
        return "backlog"
    return "received"


def _record(row: sla.Row, role: str) -> dict[str, Any]:
    closed = role == "closed"
    return {
        "type": row.service_code,
        "channel": row.source or "",
        "status": "closed" if closed else "open" if role == "backlog" else "received",
        "closed": closed if role != "received" else row.closed_at is not None,
        "processing_hours": row.hours if closed else None,
        "closed_late": row.late if closed else None,
    }


def _matches(record: Mapping[str, Any], filters: Mapping[str, str]) -> bool:
    for name, wanted in filters.items():
        if name in ("status", "closed"):
            continue  # chose the role already
        if str(record.get(name)) != wanted:
            return False
    return True


def value_of(node: Aggregate, bucket: sla.Bucket) -> float | None:
    """The aggregate over one bucket, or None when it has no value there."""
    role = _role(node)
    rows: list[sla.Row] = getattr(bucket, role)
    records = [_record(r, role) for r in rows]
    filters = dict(node.filters)
    kept = [r for r in records if _matches(r, filters)]
    compute = node.function.compute
    assert compute is not None
    options = {k: v for k, v in node.options if k not in ("records", "field")}
    try:
        if node.function.name == "count":
            return float(len(kept))
        name = str(node.option("field")).partition(".")[2]
        return float(compute(kept, name, {}, **options))
    except LookupError:
        return None  # e.g. no request closed in the period: no median


class ComplaintsResolver:
    name = "complaints"

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
        city = session.get(City, city_id)
        if city is None:
            return
        zone = ZoneInfo(city.timezone)
        rows = sla.load_rows(session, city)
        levels = {
            area_id: level
            for area_id, level in session.execute(
                select(Area.id, Area.level).where(Area.city_id == city_id)
            )
        }
        roots = [a for a, level in levels.items() if level == "city"]
        wanted_levels = frozenset().union(*(r.levels for r in requests))

        def places(r: sla.Row) -> Iterable[Hashable]:
            found: list[int] = []
            if "city" in wanted_levels:
                found += roots
            if "district" in wanted_levels and r.district_id is not None:
                found.append(r.district_id)
            if (
                "neighbourhood" in wanted_levels
                and r.area_id is not None
                and r.area_id != r.district_id
                and levels.get(r.area_id) == "neighbourhood"
            ):
                found.append(r.area_id)
            return found

        by_grain: dict[str, dict[tuple[Hashable, dt.date], sla.Bucket]] = {}
        if rows:
            events = [r.requested_at for r in rows] + [
                r.closed_at for r in rows if r.closed_at is not None
            ]
            for grain in sla.GRAINS:
                first = sla.period_start(sla.as_utc(min(events)), zone, grain)
                last = sla.period_start(sla.as_utc(max(events)), zone, grain)
                periods = sla.periods_between(first, last, grain)
                if scope.period_from is not None:
                    periods = [p for p in periods if p >= scope.period_from]
                if scope.period_to is not None:
                    periods = [p for p in periods if p <= scope.period_to]
                by_grain[grain] = sla.buckets(rows, zone, grain, periods, places)
        for request in requests:
            node = request.node
            assert isinstance(node, Aggregate)
            into.tables[request] = self._table(node, request, by_grain, levels, scope)

    def _table(
        self,
        node: Aggregate,
        request: InputRequest,
        by_grain: Mapping[str, Mapping[tuple[Hashable, dt.date], sla.Bucket]],
        levels: Mapping[int, str],
        scope: Scope,
    ) -> InputTable:
        table: InputTable = {}
        for grain, found in by_grain.items():
            for (place, start), bucket in found.items():
                assert isinstance(place, int)
                if levels.get(place) not in request.levels:
                    continue
                if scope.area_ids is not None and place not in scope.area_ids:
                    continue
                value = value_of(node, bucket)
                if value is None:
                    continue
                size = len(getattr(bucket, _role(node)))
                table[Cell(place, grain, start, "total", "total")] = InputValue(value, size, 0)
        return table


register_resolver(ComplaintsResolver())
