"""The indicator engine: compute a pack's indicators for a city from its inputs, roll months up to
quarters and years, and store the values with provenance.

Inputs are read in bulk through the resolvers of `inputs.py` (one query per metric) into column
tables, formulas are evaluated over whole columns (`evaluation.py`) and rolled up the same way
(`rollups.py`), and a run records a watermark (the highest observation batch id) so that the next
incremental run recomputes only the cells whose observations changed.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from citymeter.errors import InvalidInput, NotFound
from citymeter.indicators import evaluation, rollups, value_rows
from citymeter.indicators import inputs as resolving
from citymeter.indicators.cells import CellSpace, ColumnTable, InputValue, distinct
from citymeter.indicators.formula import (
    Aggregate,
    Binary,
    Formula,
    FormulaError,
    MetricRef,
    Node,
    Number,
    Unary,
    walk,
)
from citymeter.indicators.inputs import InputRequest, Scope
from citymeter.indicators.loader import LoadedPack, load_pack
from citymeter.indicators.models import IndicatorRun, IndicatorValue
from citymeter.indicators.rollups import Block, InputColumns
from citymeter.indicators.schema import IndicatorDefinition
from citymeter.observations.models import GRAINS, LoadBatch, Metric, Observation, ObservationPeriod
from citymeter.places.models import Area, City


@dataclass
class IndicatorResult:
    code: str
    block: Block | None = None  # the values, with roll-ups; None: no value
    errors: list[str] = field(default_factory=list)
    incomplete: int = 0  # cells where some input was missing
    personal: set[str] = field(default_factory=set)  # input keys from internal data
    counts: set[str] = field(default_factory=set)  # input keys counting people
    space: CellSpace = field(default_factory=CellSpace)  # how the block's keys are packed

    def __len__(self) -> int:
        return 0 if self.block is None else len(self.block)


@dataclass
class RunReport:
    city: str
    pack: str
    mode: str
    indicators: int = 0
    computed: list[str] = field(default_factory=list)  # codes with at least one value
    values_written: int = 0
    unresolved: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    watermark: int = 0
    run_id: int | None = None


def input_nodes(formula: Formula) -> list[MetricRef | Aggregate]:
    nodes: dict[str, MetricRef | Aggregate] = {}
    for node in walk(formula.tree):
        if isinstance(node, MetricRef) or (
            isinstance(node, Aggregate) and node.function.name != "coalesce"
        ):
            nodes.setdefault(node.key, node)
    return list(nodes.values())


def _requests(definition: IndicatorDefinition, formula: Formula) -> list[InputRequest]:
    by_sex = definition.breakdowns.sex
    by_age = definition.breakdowns.age_band
    levels = frozenset(definition.breakdowns.area_levels)
    return [InputRequest(node, by_sex, by_age, levels) for node in input_nodes(formula)]


Evaluator = Callable[[Mapping[str, float]], float]


def _compile(node: Node) -> Evaluator:
    """A closure computing the node from input values: the formula's tree walked once, not per
    cell. A missing input raises KeyError, a zero divisor ZeroDivisionError; the caller then asks
    `Formula.evaluate` for the precise error."""
    if isinstance(node, Number):
        constant = node.value
        return lambda inputs: constant
    if isinstance(node, MetricRef):
        key = node.key
        return lambda inputs: inputs[key]
    if isinstance(node, Unary):
        inner = _compile(node.operand)
        return lambda inputs: -inner(inputs)
    if isinstance(node, Binary):
        left, right = _compile(node.left), _compile(node.right)
        return {
            "+": lambda inputs: left(inputs) + right(inputs),
            "-": lambda inputs: left(inputs) - right(inputs),
            "*": lambda inputs: left(inputs) * right(inputs),
            "/": lambda inputs: left(inputs) / right(inputs),
        }[node.op]
    if isinstance(node, Aggregate) and node.function.name == "coalesce":
        options = [_compile(expr) for expr in node.exprs]

        def coalesce(inputs: Mapping[str, float]) -> float:
            for option in options:
                try:
                    return option(inputs)
                except KeyError:
                    continue
            raise KeyError(node.key)

        return coalesce
    if isinstance(node, Aggregate):
        key = node.key
        return lambda inputs: inputs[key]
    raise FormulaError("?", f"cannot evaluate {node!r}")


_COMPILED: dict[int, tuple[Formula, Evaluator]] = {}


def _evaluator(formula: Formula) -> Evaluator:
    found = _COMPILED.get(id(formula))
    if found is None or found[0] is not formula:
        found = (formula, _compile(formula.tree))
        _COMPILED[id(formula)] = found
    return found[1]


def _evaluate(
    formula: Formula, cell_inputs: dict[str, InputValue]
) -> tuple[float | None, str | None]:
    values = {k: v.value for k, v in cell_inputs.items()}
    try:
        value = _evaluator(formula)(values)
        if math.isfinite(value):
            return value, None
    except KeyError:
        return None, None
    except ZeroDivisionError:
        pass
    try:  # the slow path names the indicator and the inputs involved
        formula.evaluate(values)
    except FormulaError as exc:
        if exc.problem == "missing input":
            return None, None
        return None, str(exc)
    return None, f"Indicator {formula.code}: the result is not a finite number"


def compute_indicator(
    definition: IndicatorDefinition,
    formula: Formula,
    tables: Mapping[str, ColumnTable],
    space: CellSpace,
    levels: Mapping[int, str],
    unresolved_quality: bool = False,
) -> IndicatorResult:
    """Values of one indicator at every cell where its inputs exist, with roll-ups."""
    result = IndicatorResult(definition.code, space=space)
    allowed_levels = set(definition.breakdowns.area_levels)
    allowed = np.fromiter(
        (levels.get(a) in allowed_levels for a in space.area_ids), np.bool_, len(space.area_ids)
    )
    keys = distinct(np.concatenate([t.keys for t in tables.values()]))
    keys = keys[allowed[CellSpace.area_of(keys)]]
    inputs: dict[str, InputColumns] = {}
    for key, table in tables.items():
        inputs[key] = InputColumns(*table.aligned(keys))
    columns = {k: evaluation.Column(c.values, c.present) for k, c in inputs.items()}
    evaluated = evaluation.evaluate(formula.tree, columns, len(keys))
    ok, values = evaluated.ok, evaluated.values
    result.incomplete = int(evaluated.missing.sum())
    errors: dict[str, int] = {}
    unsettled = np.flatnonzero(evaluated.unsettled)
    if len(unsettled):
        # A zero divisor or a result that is not finite: the cell-by-cell path words the error.
        ok, values = ok.copy(), values.copy()
        # The outcome depends on the input values only: cells with the same ones share it.
        outcomes: dict[tuple[tuple[str, float], ...], tuple[float | None, str | None]] = {}
        for i in unsettled.tolist():
            used = {
                k: InputValue(float(c.values[i]), int(c.observations[i]), int(c.batches[i]))
                for k, c in inputs.items()
                if c.present[i]
            }
            seen = tuple((k, v.value) for k, v in used.items())
            if seen not in outcomes:
                outcomes[seen] = _evaluate(formula, used)
            value, error = outcomes[seen]
            if error is not None:
                errors[error] = errors.get(error, 0) + 1
            elif value is None:
                result.incomplete += 1
            else:
                ok[i], values[i] = True, value
    for message, times in errors.items():
        suffix = f" ({times} cells)" if times > 1 else ""
        result.errors.append(message + suffix)
    quality = rollups.UNKNOWN if unresolved_quality else rollups.MEASURED
    size = int(ok.sum())
    direct = Block(
        keys[ok], values[ok], np.full(size, quality, np.int64), np.ones(size, np.int64),
        np.zeros(size, np.bool_), {k: c.take(ok) for k, c in inputs.items()},
    )  # fmt: skip
    grains = CellSpace.grain_of(direct.keys)
    months, quarters, years = (
        direct.take(grains == space.grains.code(g)) for g in ("month", "quarter", "year")
    )
    # Roll up month → quarter → year; a value computed at a grain from its own inputs wins.
    rule = definition.rollup
    kept: list[Block] = []
    keep_from = rollups.GRAIN_ORDER[definition.periodicity]
    if keep_from <= rollups.GRAIN_ORDER["month"]:
        kept.append(months)
    if keep_from <= rollups.GRAIN_ORDER["quarter"]:
        from_months = rollups.roll_up(months, "month", "quarter", rule, formula, space)
        kept.append(rollups.first_wins([quarters, from_months]))
    kept.append(
        rollups.first_wins(
            [
                years,
                rollups.roll_up(months, "month", "year", rule, formula, space),
                rollups.roll_up(quarters, "quarter", "year", rule, formula, space),
            ]
        )
    )
    block = Block.concat(kept)
    if len(block):
        result.block = block
    return result


# ---------------------------------------------------------------- runs


def _city(session: Session, city_code: str) -> City:
    city = session.scalar(select(City).where(City.code == city_code))
    if city is None:
        raise NotFound(f"No city with code {city_code!r}; `citymeter cities list` shows them.")
    return city


def _watermark(session: Session) -> int:
    """The highest load batch id: observations written later belong to later batches."""
    return int(session.scalar(select(func.max(LoadBatch.id))) or 0)


def _undone(session: Session) -> list[int]:
    return sorted(session.scalars(select(LoadBatch.id).where(LoadBatch.status == "undone")))


def compute(
    session: Session,
    *,
    city_code: str,
    pack_id: str = "administration",
    codes: Iterable[str] | None = None,
    full: bool = False,
) -> RunReport:
    """Compute a pack (or some of its indicators) for a city and store the values.

    Incremental by default: when a previous run of the pack exists, only the cells whose
    observations were written since (batch id above its watermark) are recomputed; `full` or an
    undone batch since then recomputes everything.
    """
    started = time.perf_counter()
    city = _city(session, city_code)
    loaded = load_pack(pack_id)
    pack = loaded.pack.id
    definitions = list(loaded.indicators)
    if codes is not None:
        wanted = list(codes)
        known = {d.code for d in definitions}
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise NotFound(f"The pack {pack} has no indicator {', '.join(map(repr, unknown))}.")
        definitions = [d for d in definitions if d.code in wanted]
    watermark = _watermark(session)
    undone = _undone(session)
    previous = session.scalar(
        select(IndicatorRun)
        .where(IndicatorRun.city_id == city.id, IndicatorRun.pack == pack)
        .order_by(IndicatorRun.id.desc())
        .limit(1)
    )
    mode = "full"
    scope = Scope()
    window: tuple[dt.date, dt.date] | None = None
    if codes is not None:
        mode = "single"
    elif not full and previous is not None and previous.summary.get("undone") == undone:
        mode = "incremental"
        changed = _changed_since(session, city.id, previous.watermark)
        aliases = resolving.metric_aliases()
        canonical = {alias: code for code, names in aliases.items() for alias in names}
        changed_codes = {canonical.get(c, c) for c in changed["metrics"]}
        definitions = [
            d
            for d in definitions
            if d.code in loaded.formulas and loaded.formulas[d.code].metrics & changed_codes
        ]
        if not changed["areas"]:
            definitions = []
        else:
            # Read whole years (a year's roll-up needs all its months) but write only the
            # periods that contain a changed one: the month, its quarter, its year.
            scope = Scope(
                frozenset(changed["areas"]),
                changed["from"].replace(month=1, day=1),
                changed["to"].replace(month=12, day=31),
            )
            window = (changed["from"], changed["to"])
    report = RunReport(city.code, pack, mode, watermark=watermark)
    report.indicators = len(definitions)
    results = evaluate_pack(session, city, loaded, definitions, scope, report)
    if window is not None:
        results = (_within(definition, result, window) for definition, result in results)
    report.values_written = _store(session, city, loaded, definitions, results, scope, window)

    run = IndicatorRun(
        city_id=city.id,
        pack=pack,
        mode=mode,
        watermark=watermark,
        values_written=report.values_written,
        summary={
            "undone": undone,
            "indicators": report.indicators,
            "computed": len(report.computed),
            "unresolved": report.unresolved,
            "errors": report.errors[:50],
            "problems": report.problems[:50],
        },
        finished_at=dt.datetime.now(dt.UTC),
    )
    session.add(run)
    session.flush()
    report.run_id = run.id
    report.seconds = time.perf_counter() - started
    return report


def _changed_since(session: Session, city_id: int, watermark: int) -> dict[str, Any]:
    """(metric, area, period range) of the observations the batches after `watermark` wrote:
    the rows a batch inserted lie in its id range, the rows it replaced keep a previous value."""
    batches = session.scalars(select(LoadBatch).where(LoadBatch.id > watermark)).all()
    rows: list[Any] = []
    for batch in batches:
        written = (Observation.batch_id == batch.id) & Observation.previous_batch_id.is_not(None)
        if batch.first_observation_id is not None and batch.last_observation_id is not None:
            inserted = Observation.id.between(
                batch.first_observation_id, batch.last_observation_id
            ) & (Observation.batch_id == batch.id)
            written = written | inserted
        rows += session.execute(
            select(
                Metric.code,
                Observation.area_id,
                func.min(ObservationPeriod.period_start),
                func.max(ObservationPeriod.period_start),
            )
            .join(ObservationPeriod, ObservationPeriod.id == Observation.period_id)
            .join(Metric, Metric.id == Observation.metric_id)
            .join(Area, Area.id == Observation.area_id)
            .where(written, Area.city_id == city_id)
            .group_by(Metric.code, Observation.area_id)
        ).all()
    metrics = {r[0] for r in rows}
    areas = {r[1] for r in rows}
    starts = [r[2] for r in rows]
    ends = [r[3] for r in rows]
    return {
        "metrics": metrics,
        "areas": areas,
        "from": min(starts) if starts else None,
        "to": max(ends) if ends else None,
    }


def evaluate_pack(
    session: Session,
    city: City,
    loaded: LoadedPack,
    definitions: list[IndicatorDefinition],
    scope: Scope,
    report: RunReport,
) -> Iterator[tuple[IndicatorDefinition, IndicatorResult]]:
    """Resolve every input of the definitions once, then evaluate the indicators one by one;
    an input table is released once the last indicator reading it has been evaluated."""
    requests: list[InputRequest] = []
    for definition in definitions:
        formula = loaded.formulas[definition.code]
        requests.extend(_requests(definition, formula))
    uses = Counter(requests)
    resolution = resolving.resolve(session, city.id, dict.fromkeys(requests), scope)
    report.unresolved.update(resolution.unresolved)
    report.problems.extend(resolution.problems)
    levels: dict[int, str] = {
        area_id: level
        for area_id, level in session.execute(
            select(Area.id, Area.level).where(Area.city_id == city.id)
        )
    }
    for definition in definitions:
        formula = loaded.formulas[definition.code]
        mine = _requests(definition, formula)
        tables: dict[str, ColumnTable] = {}
        for request in mine:
            table = resolution.columns(request)
            if table is not None:
                tables[request.key] = table
        for request in mine:
            uses[request] -= 1
            if uses[request] == 0:
                resolution.tables.pop(request, None)
        if not tables:
            continue
        from_records = any(not isinstance(r.node, MetricRef) and r.key in tables for r in mine)
        result = compute_indicator(
            definition, formula, tables, resolution.space, levels, from_records
        )
        result.personal = {k for k in tables if k in resolution.personal}
        result.counts = {k for k in tables if k in resolution.counts}
        report.errors.extend(result.errors)
        if len(result):
            report.computed.append(definition.code)
        del tables
        yield definition, result


def _within(
    definition: IndicatorDefinition, result: IndicatorResult, window: tuple[dt.date, dt.date]
) -> tuple[IndicatorDefinition, IndicatorResult]:
    """The result restricted to the cells whose period overlaps the window of changed periods."""
    block = result.block
    if block is not None:
        first, last = window
        space = result.space
        earliest = np.array(
            [rollups.period_start(first, grain).toordinal() for grain in space.grains.labels],
            np.int64,
        )
        starts = CellSpace.period_of(block.keys)
        inside = (starts >= earliest[CellSpace.grain_of(block.keys)]) & (starts <= last.toordinal())
        result.block = block.take(inside) if inside.any() else None
    return definition, result


def _store(
    session: Session,
    city: City,
    loaded: LoadedPack,
    definitions: list[IndicatorDefinition],
    results: Iterable[tuple[IndicatorDefinition, IndicatorResult]],
    scope: Scope,
    window: tuple[dt.date, dt.date] | None = None,
) -> int:
    """Replace the stored values of these indicators within the scope (and, given a window of
    changed periods, only the values of the periods overlapping it)."""
    pack = loaded.pack.id
    codes = [d.code for d in definitions]
    if not codes:
        return 0
    stmt = delete(IndicatorValue).where(IndicatorValue.pack == pack, IndicatorValue.code.in_(codes))
    if scope.area_ids is not None:
        # The areas are the city's; naming the city as well would lead SQLite to its city_id
        # index (every value of the city) instead of the (pack, code, area, grain, period) one.
        stmt = stmt.where(IndicatorValue.area_id.in_(sorted(scope.area_ids)))
    else:
        stmt = stmt.where(IndicatorValue.city_id == city.id)
    if window is None:
        if scope.period_from is not None:
            stmt = stmt.where(IndicatorValue.period_start >= scope.period_from)
        if scope.period_to is not None:
            stmt = stmt.where(IndicatorValue.period_start <= scope.period_to)
        statements = [stmt]
    else:
        # One statement per grain, so that the index (code, area, grain, period) serves each.
        first, last = window
        statements = [
            stmt.where(
                IndicatorValue.grain == grain,
                IndicatorValue.period_start >= rollups.period_start(first, grain),
                IndicatorValue.period_start <= last,
            )
            for grain in GRAINS
        ]
    for statement in statements:
        session.execute(statement.execution_options(synchronize_session=False))
    writer = value_rows.Writer(session.connection(), pack, city.id)
    for definition, result in results:
        if result.block is not None:
            writer.add(definition, result.block, result.personal, result.counts, result.space)
    writer.close()
    session.flush()
    return writer.written


def check_scope(city_code: str | None) -> str:
    if not city_code:
        raise InvalidInput("Name the city: --city CODE (`citymeter cities list` shows them).")
    return city_code


def compute_all(
    session: Session,
    *,
    city_code: str | None = None,
    pack_id: str | None = None,
    codes: list[str] | None = None,
    full: bool = False,
) -> list[RunReport]:
    """Compute for one city (or every city) and one pack (or every shipped pack); pledges of
    each city are reassessed afterwards so that their history follows the values."""
    from citymeter.indicators import pledges
    from citymeter.indicators.loader import shipped_pack_files

    if codes and pack_id is None:
        raise InvalidInput("Name the pack of the indicator: --pack ID with --code.")
    cities = (
        [_city(session, city_code)]
        if city_code
        else list(session.scalars(select(City).order_by(City.code)))
    )
    if not cities:
        raise NotFound("There is no city yet: `citymeter cities add` or `citymeter demo`.")
    packs = [pack_id] if pack_id else list(shipped_pack_files())
    reports = []
    for city in cities:
        for pack in packs:
            reports.append(
                compute(session, city_code=city.code, pack_id=pack, codes=codes, full=full)
            )
        pledges.assess_city(session, None, city.id)
    return reports
