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
from typing import Any, NamedTuple, Protocol

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from citymeter.indicators import breakdowns
from citymeter.indicators.formula import Aggregate, MetricRef
from citymeter.indicators.loader import shipped_catalogue
from citymeter.indicators.units import UnitError, parse_unit
from citymeter.observations.models import Metric, Observation
from citymeter.places.models import Area

# Units of counts of people: a value computed from fewer of them than the disclosure threshold is
# suppressed in the public view.
PERSONAL_COUNT_UNITS = frozenset({"persons", "households"})


class Cell(NamedTuple):
    area_id: int
    grain: str
    period_start: dt.date
    sex: str
    age_band: str


class InputValue(NamedTuple):
    value: float
    observations: int  # how many stored observations make up the value
    batch: int  # the latest load batch among them (0: unknown)


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

    tables: dict[InputRequest, InputTable] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)  # input key → why
    problems: list[str] = field(default_factory=list)
    personal: set[str] = field(default_factory=set)  # input keys from internal/personal data
    counts: set[str] = field(default_factory=set)  # input keys counting people
    _shared: Any = field(default=None, repr=False, compare=False)

    def shared(self) -> _Shared:
        """The cells shared by the tables of this resolution (see `_Shared`)."""
        if self._shared is None:
            self._shared = _Shared()
        return self._shared  # type: ignore[no-any-return]


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


def _canonical_dims(pairs: Iterable[tuple[str, str]]) -> str:
    return ";".join(f"{k}={v}" for k, v in sorted(pairs))


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
        """Stream the metric's observations (with its aliases) in (area, grain, period) order
        and turn each chunk of groups into the requests' input tables, so that memory holds the
        tables, not the raw rows. The catalogue's own code wins over an alias in the same cell;
        only the age-band totals are read when no request needs the bands.

        Rows are read through Core (no ORM rows) and period starts are converted once per
        distinct value; cells are shared between all tables of a resolution."""
        tables: dict[InputRequest, InputTable] = {r: {} for r in wanted}
        for request in wanted:
            into.tables[request] = tables[request]
        if not metrics:
            return
        canonical = metrics[0].id
        observation = Observation.__table__
        area = Area.__table__
        query = (
            select(
                observation.c.area_id,
                observation.c.grain,
                type_coerce(observation.c.period_start, String),
                observation.c.dims,
                observation.c.sex,
                observation.c.age_band,
                observation.c.value,
                observation.c.batch_id,
                observation.c.metric_id,
            )
            .join(area, area.c.id == observation.c.area_id)
            .where(
                observation.c.metric_id.in_([m.id for m in metrics]),
                area.c.city_id == city_id,
                area.c.level.in_(sorted(levels)),
            )
            .order_by(observation.c.area_id, observation.c.grain, observation.c.period_start)
        )
        if scope.area_ids is not None:
            query = query.where(observation.c.area_id.in_(sorted(scope.area_ids)))
        if scope.period_from is not None:
            query = query.where(observation.c.period_start >= scope.period_from)
        if scope.period_to is not None:
            query = query.where(observation.c.period_start <= scope.period_to)
        if not bands:
            query = query.where(observation.c.age_band == "total")
        shared = into.shared()
        groups: dict[tuple[int, str, object, str], dict[str, dict[str, tuple[float, int, int]]]]
        groups = {}
        last: tuple[int, str, object] | None = None
        # Options on the statement, not the connection: a connection option would stay and turn
        # every later statement of the transaction into a server-side cursor on PostgreSQL.
        result = session.connection().execute(query.execution_options(yield_per=50_000))
        for rows in result.partitions():
            for area_id, grain, start, dims, sex, age, value, batch, metric_id in rows:
                here = (area_id, grain, start)
                if here != last:
                    if len(groups) >= _CHUNK_GROUPS:
                        _flush(groups, wanted, tables, shared)
                        groups = {}
                    last = here
                by_sex = groups.get((area_id, grain, start, dims))
                if by_sex is None:
                    by_sex = groups[(area_id, grain, start, dims)] = {}
                cells = by_sex.get(sex)
                if cells is None:
                    cells = by_sex[sex] = {}
                if metric_id != canonical and age in cells:
                    continue
                cells[age] = (value, 1, batch or 0)
        _flush(groups, wanted, tables, shared)


_CHUNK_GROUPS = 2000


def _same_unit(a: str, b: str) -> bool:
    try:
        return parse_unit(a).same_as(parse_unit(b))
    except UnitError:
        return a.strip() == b.strip()


_BAND_CACHE: dict[tuple[frozenset[str], breakdowns.AgeRange], list[str]] = {}


def _bands(labels: frozenset[str], wanted: breakdowns.AgeRange) -> list[str]:
    key = (labels, wanted)
    if key not in _BAND_CACHE:
        valid = []
        for label in labels:
            try:
                breakdowns.parse_band(label)
            except ValueError:
                continue
            valid.append(label)
        _BAND_CACHE[key] = breakdowns.select_age_bands(sorted(valid), wanted)
    return _BAND_CACHE[key]


class _Shared:
    """Cells and period starts shared by every table of one resolution: a cell is created once,
    however many inputs have a value there."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, str, object, str, str], Cell] = {}
        self.dates: dict[object, dt.date] = {}

    def cell(self, area_id: int, grain: str, start: object, sex: str, band: str) -> Cell:
        key = (area_id, grain, start, sex, band)
        found = self.cells.get(key)
        if found is None:
            day = self.dates.get(start)
            if day is None:
                day = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
                self.dates[start] = day
            found = self.cells[key] = _new_cell((area_id, grain, day, sex, band))
        return found


def _new_cell(parts: tuple[int, str, dt.date, str, str]) -> Cell:
    return tuple.__new__(Cell, parts)


def _new_value(parts: tuple[float, int, int]) -> InputValue:
    return tuple.__new__(InputValue, parts)


_Groups = Mapping[tuple[int, str, object, str], Mapping[str, Mapping[str, tuple[float, int, int]]]]


def _flush(
    groups: _Groups,
    wanted: list[InputRequest],
    tables: dict[InputRequest, InputTable],
    shared: _Shared,
) -> None:
    by_dims: dict[str, list[tuple[tuple[int, str, object, str], Any]]] = defaultdict(list)
    for group, cells in groups.items():
        by_dims[group[3]].append((group, cells))
    for request in wanted:
        _table(by_dims, request, tables[request], shared)


def _table(
    by_dims: Mapping[str, list[tuple[tuple[int, str, object, str], Any]]],
    request: InputRequest,
    table: InputTable,
    shared: _Shared,
) -> None:
    ref = request.node
    assert isinstance(ref, MetricRef)
    matching = by_dims.get(_canonical_dims(ref.dims))
    if not matching:
        return
    if ref.sex is not None:
        sexes = [ref.sex]
    elif request.by_sex:
        sexes = ["total", "male", "female"]
    else:
        sexes = ["total"]
    cell = shared.cell
    new = _new_value
    for (area_id, grain, start, _), cells in matching:
        for sex in sexes:
            by_age = _by_age(cells, sex)
            if not by_age:
                continue
            out_sex = sex if request.by_sex else "total"
            if ref.ages is not None:
                chosen = _bands(frozenset(by_age), ref.ages)
                if not chosen:
                    continue
                picked = [by_age[b] for b in chosen]
                total = sum(p[0] for p in picked)
                batch = max(p[2] for p in picked)
                count = sum(p[1] for p in picked)
                table[cell(area_id, grain, start, out_sex, "total")] = new((total, count, batch))
            elif request.by_age:
                for band, parts in by_age.items():
                    table[cell(area_id, grain, start, out_sex, band)] = new(parts)
            elif "total" in by_age:
                table[cell(area_id, grain, start, out_sex, "total")] = new(by_age["total"])


def _by_age(
    cells: Mapping[str, Mapping[str, tuple[float, int, int]]], sex: str
) -> Mapping[str, tuple[float, int, int]]:
    """Age band → (value, observations, batch) for one sex; the sex total is male + female
    when it is not stored itself."""
    found = cells.get(sex)
    if found:
        return found
    if sex != "total":
        return {}
    male, female = cells.get("male", {}), cells.get("female", {})
    return {
        age: (male[age][0] + female[age][0], 2, max(male[age][2], female[age][2]))
        for age in male.keys() & female.keys()
    }


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
