"""Where a formula's inputs come from: a registry of input resolvers.

A resolver takes the formula inputs it understands (metric observations, entity attribute
aggregates, record aggregates) and returns, per input, a table of values by cell (area, grain,
period, sex, age band). Observations are built in; entity history and records plug in through
`register_resolver` when those features are installed. Inputs no resolver accepts are reported as
unresolved, never silently treated as missing data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.indicators import observation_tables

# Cell and InputValue are re-exported: resolvers of other features build their tables with them.
from citymeter.indicators.cells import Cell as Cell
from citymeter.indicators.cells import CellSpace, ColumnTable
from citymeter.indicators.cells import InputValue as InputValue
from citymeter.indicators.formula import Aggregate, MetricRef
from citymeter.indicators.loader import shipped_catalogue
from citymeter.indicators.units import UnitError, parse_unit
from citymeter.observations.models import Metric

# Units of counts of people: a value computed from fewer of them than the disclosure threshold is
# suppressed in the public view.
PERSONAL_COUNT_UNITS = frozenset({"persons", "households"})


InputTable = dict[Cell, InputValue]


@dataclass(frozen=True)
class InputRequest:
    """One input of one indicator, with the breakdowns the indicator is computed by."""

    node: MetricRef | Aggregate
    by_sex: bool
    by_age: bool
    levels: frozenset[str] = frozenset({"city", "district", "neighbourhood"})

    @property
    def key(self) -> str:
        return self.node.key


@dataclass(frozen=True)
class Scope:
    """Which part of a city to read: all of it, or some areas and a period range."""

    area_ids: frozenset[int] | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None


@dataclass
class Resolution:
    """What resolvers found: a table per request, and what they could not resolve."""

    tables: dict[InputRequest, InputTable | ColumnTable] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)  # input key → why
    problems: list[str] = field(default_factory=list)
    personal: set[str] = field(default_factory=set)  # input keys from internal/personal data
    counts: set[str] = field(default_factory=set)  # input keys counting people
    # How the tables' cells are packed; resolvers reading columns pack theirs with it.
    space: CellSpace = field(default_factory=CellSpace, repr=False, compare=False)

    def columns(self, request: InputRequest) -> ColumnTable | None:
        """The request's table as columns (tables built cell by cell are converted once)."""
        table = self.tables.get(request)
        if table is None or isinstance(table, ColumnTable):
            return table
        converted = self.tables[request] = ColumnTable.from_cells(table, self.space)
        return converted


class InputResolver(Protocol):
    name: str

    def accepts(self, node: MetricRef | Aggregate) -> bool: ...

    def resolve(
        self,
        session: Session,
        city_id: int,
        requests: list[InputRequest],
        scope: Scope,
        into: Resolution,
    ) -> None: ...


_RESOLVERS: list[InputResolver] = []


def register_resolver(resolver: InputResolver) -> None:
    """Add a resolver (a later registration for the same name replaces the earlier one)."""
    _RESOLVERS[:] = [r for r in _RESOLVERS if r.name != resolver.name]
    _RESOLVERS.append(resolver)


def resolvers() -> list[InputResolver]:
    return list(_RESOLVERS)


def _why_unresolved(node: MetricRef | Aggregate) -> str:
    if isinstance(node, Aggregate):
        entity = node.option("entity")
        if entity is not None:
            return f"no input resolver for {entity} attribute history (the entities feature)"
        records = str(node.option("field") or node.option("records") or "").partition(".")[0]
        return f"no input resolver for {records or 'records'} (that feature is not installed)"
    return "no input resolver for metric observations"


def resolve(
    session: Session, city_id: int, requests: Iterable[InputRequest], scope: Scope
) -> Resolution:
    """Hand every request to the first resolver that accepts it."""
    result = Resolution()
    by_resolver: dict[str, list[InputRequest]] = defaultdict(list)
    chosen: dict[str, InputResolver] = {}
    for request in requests:
        resolver = next((r for r in _RESOLVERS if r.accepts(request.node)), None)
        if resolver is None:
            result.unresolved[request.key] = _why_unresolved(request.node)
            continue
        by_resolver[resolver.name].append(request)
        chosen[resolver.name] = resolver
    for name, batch in by_resolver.items():
        chosen[name].resolve(session, city_id, batch, scope, result)
    return result


# ---------------------------------------------------------------- observations


def metric_aliases() -> dict[str, list[str]]:
    """Catalogue metric → further stored metric codes that measure the same quantity."""
    return {code: list(spec.aliases) for code, spec in shipped_catalogue().metrics.items()}


class ObservationResolver:
    """Metric observations: one query per metric (with its aliases), summed over age bands."""

    name = "observations"

    def __init__(self, catalogue_units: Mapping[str, str] | None = None) -> None:
        self._units = catalogue_units

    def accepts(self, node: MetricRef | Aggregate) -> bool:
        return isinstance(node, MetricRef)

    def resolve(
        self,
        session: Session,
        city_id: int,
        requests: list[InputRequest],
        scope: Scope,
        into: Resolution,
    ) -> None:
        units = self._units or {c: s.unit for c, s in shipped_catalogue().metrics.items()}
        aliases = metric_aliases()
        by_code: dict[str, list[InputRequest]] = defaultdict(list)
        for request in requests:
            assert isinstance(request.node, MetricRef)
            by_code[request.node.code].append(request)
        for code, wanted in by_code.items():
            codes = [code, *aliases.get(code, [])]
            metrics = {
                m.code: m for m in session.scalars(select(Metric).where(Metric.code.in_(codes)))
            }
            usable: list[Metric] = []
            expected = units.get(code)
            for metric_code in codes:
                metric = metrics.get(metric_code)
                if metric is None:
                    continue
                if expected is not None and not _same_unit(metric.unit, expected):
                    into.problems.append(
                        f"metric {metric_code} is stored in {metric.unit!r} but formulas read "
                        f"{code} in {expected!r}; its observations are not used (units are "
                        "never mixed)"
                    )
                    continue
                usable.append(metric)
                if metric.visibility == "internal":
                    into.personal.update(r.key for r in wanted)
            if expected is not None and expected.strip() in PERSONAL_COUNT_UNITS:
                into.counts.update(r.key for r in wanted)
            # One query per metric, for the area levels any of its requests needs.
            levels = frozenset().union(*(r.levels for r in wanted))
            bands = any(
                r.by_age or (isinstance(r.node, MetricRef) and r.node.ages is not None)
                for r in wanted
            )
            self._load(session, city_id, usable, scope, levels, bands, wanted, into)

    def _load(
        self,
        session: Session,
        city_id: int,
        metrics: list[Metric],
        scope: Scope,
        levels: frozenset[str],
        bands: bool,
        wanted: list[InputRequest],
        into: Resolution,
    ) -> None:
        """Read the metric once (with its aliases) and cut every request's table from it."""
        if not metrics:
            for request in wanted:
                into.tables[request] = ColumnTable.empty()
            return
        rows = observation_tables.read(
            session, city_id, metrics, scope.area_ids, scope.period_from, scope.period_to,
            levels, bands, into.space,
        )  # fmt: skip
        refs: dict[InputRequest, MetricRef] = {}
        for request in wanted:
            assert isinstance(request.node, MetricRef)
            refs[request] = request.node
        by_dims = {
            dims: observation_tables.Cells(rows, dims)
            for dims in {observation_tables.canonical_dims(ref.dims) for ref in refs.values()}
        }
        del rows  # the cells of each dims value are all the tables need: free the raw columns
        for request, ref in refs.items():
            cells = by_dims[observation_tables.canonical_dims(ref.dims)]
            into.tables[request] = observation_tables.table(
                cells, ref, request.by_sex, request.by_age, into.space
            )


def _same_unit(a: str, b: str) -> bool:
    try:
        return parse_unit(a).same_as(parse_unit(b))
    except UnitError:
        return a.strip() == b.strip()


register_resolver(ObservationResolver())

# Entity attribute history, when the entities feature is installed.
with contextlib.suppress(ImportError):
    from citymeter.indicators import entity_inputs as _entity_inputs  # noqa: F401

# Complaint records (service levels), when the complaints feature is installed.
with contextlib.suppress(ImportError):
    from citymeter.complaints import metrics as _complaint_inputs  # noqa: F401

# Incident records (counts and response times), when the incidents feature is installed.
with contextlib.suppress(ImportError):
    from citymeter.incidents import metrics as _incident_inputs  # noqa: F401
