"""The input resolver for entity attribute history (`daily_mean`, `annual_mean_of_daily_means`,
`days_above` over e.g. AirQualityStation.pm25), read from the entities feature's daily roll-ups.

A station's day is its daily roll-up (sum / count, UTC days); an area's daily mean is the mean of
the daily means of its stations (the city: every station of the city; a district or a
neighbourhood: the stations located in it). `annual_mean_of_daily_means` gives year cells, the
other functions month cells (which the engine rolls up to years by the definition's rule).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.entities.models import AttributeRollup, Entity
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
from citymeter.places.models import Area

ENTITY_FUNCTIONS = ("daily_mean", "annual_mean_of_daily_means", "days_above")


class EntityHistoryResolver:
    name = "entities"

    def accepts(self, node: MetricRef | Aggregate) -> bool:
        return isinstance(node, Aggregate) and node.function.name in ENTITY_FUNCTIONS

    def resolve(
        self,
        session: Session,
        city_id: int,
        requests: list[InputRequest],
        scope: Scope,
        into: Resolution,
    ) -> None:
        roots = list(
            session.scalars(select(Area.id).where(Area.city_id == city_id, Area.level == "city"))
        )
        cache: dict[tuple[str, str], list[tuple[int | None, int | None, dt.datetime, float]]] = {}
        for request in requests:
            node = request.node
            assert isinstance(node, Aggregate)
            entity, attr = str(node.option("entity")), str(node.option("attr"))
            if (entity, attr) not in cache:
                cache[(entity, attr)] = self._days(session, city_id, entity, attr, scope)
            into.tables[request] = _table(node, cache[(entity, attr)], roots, request.levels)

    def _days(
        self, session: Session, city_id: int, entity: str, attr: str, scope: Scope
    ) -> list[tuple[int | None, int | None, dt.datetime, float]]:
        query = (
            select(
                Entity.area_id,
                Entity.district_id,
                AttributeRollup.bucket_start,
                AttributeRollup.sum,
                AttributeRollup.count,
            )
            .join(Entity, Entity.id == AttributeRollup.entity_pk)
            .where(
                Entity.city_id == city_id,
                Entity.type == entity,
                AttributeRollup.attr == attr,
                AttributeRollup.grain == "day",
            )
        )
        if scope.period_from is not None:
            start = dt.datetime.combine(scope.period_from, dt.time(), dt.UTC)
            query = query.where(AttributeRollup.bucket_start >= start)
        if scope.period_to is not None:
            end = dt.datetime.combine(scope.period_to, dt.time.max, dt.UTC)
            query = query.where(AttributeRollup.bucket_start <= end)
        return [
            (area, district, day, total / count)
            for area, district, day, total, count in session.execute(query)
            if count
        ]


def _table(
    node: Aggregate,
    days: list[tuple[int | None, int | None, dt.datetime, float]],
    roots: list[int],
    levels: frozenset[str],
) -> InputTable:
    grain = "year" if node.function.name == "annual_mean_of_daily_means" else "month"
    samples: dict[tuple[int, dt.date], list[tuple[dt.datetime, float]]] = defaultdict(list)
    for area, district, day, mean in days:
        period = (
            day.date().replace(day=1) if grain == "month" else day.date().replace(month=1, day=1)
        )
        targets: list[int] = []
        if "city" in levels:
            targets += roots
        if "district" in levels and district is not None:
            targets.append(district)
        if "neighbourhood" in levels and area is not None and area != district:
            targets.append(area)
        for target in targets:
            samples[(target, period)].append((day, mean))
    options = {k: v for k, v in node.options if k not in ("entity", "attr", "records", "field")}
    table: InputTable = {}
    compute = node.function.compute
    assert compute is not None
    for (area_id, period), values in samples.items():
        try:
            value = compute(values, **options)
        except LookupError:
            continue  # e.g. fewer days than min_days: no value for this cell
        table[Cell(area_id, grain, period, "total", "total")] = InputValue(value, len(values), 0)
    return table


register_resolver(EntityHistoryResolver())
