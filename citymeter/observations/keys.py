"""The periods and breakdowns an observation's key points into: each stored once, their ids got
or created in bulk by the writers, and joined back by the readers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Select, Table, select, tuple_

from citymeter.db.upsert import conflict_insert
from citymeter.observations.models import Breakdown, Observation, ObservationPeriod

# Keys per lookup statement: a few hundred bound values, far below either backend's limit.
_KEYS_PER_LOOKUP = 300

_Row = TypeVar("_Row", bound=tuple[Any, ...])


# The columns of an observation's period and breakdown, for a query joined `with_keys`.
KEY_COLUMNS = (
    ObservationPeriod.grain,
    ObservationPeriod.period_start,
    Breakdown.sex,
    Breakdown.age_band,
    Breakdown.dims,
)


class PeriodKey(NamedTuple):
    grain: str
    start: dt.date


class BreakdownKey(NamedTuple):
    sex: str
    age_band: str
    dims: str


def period_ids(connection: Connection, periods: Sequence[PeriodKey]) -> list[int]:
    """The id of each period, in order; periods not stored yet are added."""
    table: Table = ObservationPeriod.__table__  # type: ignore[assignment]
    return _ids(connection, table, ("grain", "period_start"), periods)


def breakdown_ids(connection: Connection, breakdowns: Sequence[BreakdownKey]) -> list[int]:
    """The id of each breakdown, in order; breakdowns not stored yet are added."""
    table: Table = Breakdown.__table__  # type: ignore[assignment]
    return _ids(connection, table, ("sex", "age_band", "dims"), breakdowns)


def _ids(
    connection: Connection, table: Table, names: tuple[str, ...], keys: Sequence[tuple[Any, ...]]
) -> list[int]:
    # Look up first, so that a re-import writes nothing here. Then INSERT … ON CONFLICT DO
    # NOTHING and look up again: two loads adding the same key at once end up with one row.
    found = _lookup(connection, table, names, keys)
    new = [key for key in dict.fromkeys(keys) if key not in found]
    if new:
        rows = [dict(zip(names, key, strict=True)) for key in new]
        insert = conflict_insert(connection, table).on_conflict_do_nothing(index_elements=names)
        connection.execute(insert, rows)
        found.update(_lookup(connection, table, names, new))
    return [found[key] for key in keys]


def _lookup(
    connection: Connection, table: Table, names: tuple[str, ...], keys: Sequence[tuple[Any, ...]]
) -> dict[tuple[Any, ...], int]:
    columns = [table.c[name] for name in names]
    wanted = list(dict.fromkeys(keys))
    found: dict[tuple[Any, ...], int] = {}
    for start in range(0, len(wanted), _KEYS_PER_LOOKUP):
        part = wanted[start : start + _KEYS_PER_LOOKUP]
        query = select(table.c.id, *columns).where(tuple_(*columns).in_(part))
        for row in connection.execute(query):
            found[tuple(row[1:])] = row[0]
    return found


def with_keys(query: Select[_Row]) -> Select[_Row]:
    """`query` (over observation) joined to the observation's period and breakdown, so that it
    can filter, order and show their columns."""
    return (
        query.select_from(Observation)
        .join(ObservationPeriod, ObservationPeriod.id == Observation.period_id)
        .join(Breakdown, Breakdown.id == Observation.breakdown_id)
    )
