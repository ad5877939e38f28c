"""The indicator engine: compute a pack's indicators for a city from its inputs, roll months up to
quarters and years, and store the values with provenance.

Inputs are read in bulk through the resolvers of `inputs.py` (one query per metric), formulas are
evaluated in Python cell by cell, and a run records a watermark (the highest observation batch id)
so that the next incremental run recomputes only the cells whose observations changed.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from citymeter.errors import InvalidInput, NotFound
from citymeter.indicators import inputs as resolving
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
from citymeter.indicators.inputs import Cell, InputRequest, InputValue, Scope
from citymeter.indicators.loader import LoadedPack, load_pack
from citymeter.indicators.models import IndicatorRun, IndicatorValue
from citymeter.indicators.schema import IndicatorDefinition
from citymeter.observations.models import LoadBatch, Metric, Observation
from citymeter.places.models import Area, City

GRAIN_ORDER = {"day": 0, "month": 1, "quarter": 2, "year": 3}
SUB_PERIODS = {("month", "quarter"): 3, ("month", "year"): 12, ("quarter", "year"): 4}


@dataclass
class CellValue:
    value: float
    quality: str
    inputs: dict[str, InputValue]
    periods: int = 1
    rollup: str | None = None


@dataclass
class IndicatorResult:
    code: str
    cells: dict[Cell, CellValue] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    incomplete: int = 0  # cells where some input was missing
    personal: set[str] = field(default_factory=set)  # input keys from internal data
    counts: set[str] = field(default_factory=set)  # input keys counting people


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


def _period_of(start: dt.date, grain: str) -> dt.date:
    if grain == "quarter":
        return start.replace(month=(start.month - 1) // 3 * 3 + 1, day=1)
    if grain == "year":
        return start.replace(month=1, day=1)
    return start


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
    tables: Mapping[str, dict[Cell, InputValue]],
    levels: Mapping[int, str],
    unresolved_quality: bool = False,
) -> IndicatorResult:
    """Values of one indicator at every cell where its inputs exist, with roll-ups."""
    result = IndicatorResult(definition.code)
    allowed_levels = set(definition.breakdowns.area_levels)
    cells: set[Cell] = set()
    for table in tables.values():
        cells.update(c for c in table if levels.get(c.area_id) in allowed_levels)
    direct: dict[str, dict[Cell, CellValue]] = defaultdict(dict)
    quality = "unknown" if unresolved_quality else "measured"
    errors: dict[str, int] = {}
    for cell in cells:
        used = {k: t[cell] for k, t in tables.items() if cell in t}
        value, error = _evaluate(formula, used)
        if error is not None:
            errors[error] = errors.get(error, 0) + 1
            continue
        if value is None:
            result.incomplete += 1
            continue
        direct[cell.grain][cell] = CellValue(value, quality, used)
    for message, times in errors.items():
        suffix = f" ({times} cells)" if times > 1 else ""
        result.errors.append(message + suffix)
    # Roll up month → quarter → year; a value computed at a grain from its own inputs wins.
    months = direct.get("month", {})
    quarters = dict(direct.get("quarter", {}))
    for cell, rolled in _rollup(definition, formula, months, "quarter").items():
        quarters.setdefault(cell, rolled)
    years = dict(direct.get("year", {}))
    for cell, rolled in _rollup(definition, formula, months, "year").items():
        years.setdefault(cell, rolled)
    for cell, rolled in _rollup(definition, formula, direct.get("quarter", {}), "year").items():
        years.setdefault(cell, rolled)
    keep_from = GRAIN_ORDER[definition.periodicity]
    for grain, values in (("month", months), ("quarter", quarters), ("year", years)):
        if GRAIN_ORDER[grain] >= keep_from:
            result.cells.update(values)
    return result


def _rollup(
    definition: IndicatorDefinition,
    formula: Formula,
    fine: Mapping[Cell, CellValue],
    grain: str,
) -> dict[Cell, CellValue]:
    if not fine:
        return {}
    fine_grain = next(iter(fine)).grain
    expected = SUB_PERIODS[(fine_grain, grain)]
    groups: dict[Cell, list[tuple[Cell, CellValue]]] = defaultdict(list)
    for cell, cell_value in fine.items():
        target = Cell(
            cell.area_id, grain, _period_of(cell.period_start, grain), cell.sex, cell.age_band
        )
        groups[target].append((cell, cell_value))
    rule = definition.rollup
    out: dict[Cell, CellValue] = {}
    for target, members in groups.items():
        members.sort(key=lambda item: item[0].period_start)
        n = len(members)
        complete = n == expected
        values = [v.value for _, v in members]
        merged: dict[str, InputValue] = {}
        sums: dict[str, list[InputValue]] = defaultdict(list)
        for _, member in members:
            for key, iv in member.inputs.items():
                sums[key].append(iv)
        for key, ivs in sums.items():
            merged[key] = InputValue(
                sum(i.value for i in ivs) / len(ivs),
                sum(i.observations for i in ivs),
                max(i.batch for i in ivs),
            )
        if rule == "sum":
            value = sum(values) * (expected / n)
        elif rule == "mean":
            value = sum(values) / n
        elif rule == "last":
            value = values[-1]
            last_expected = _period_of(target.period_start, grain)
            complete = members[-1][0].period_start >= _last_sub_period(last_expected, grain)
        else:
            computed, _ = _evaluate(formula, merged)
            if computed is None:
                continue
            value = computed
        quality = members[0][1].quality if complete else "extrapolated"
        if any(m.quality == "unknown" for _, m in members):
            quality = "unknown"
        out[target] = CellValue(value, quality, merged, n, rule)
    return out


def _last_sub_period(start: dt.date, grain: str) -> dt.date:
    months = 3 if grain == "quarter" else 12
    month = start.month + months - 1
    return dt.date(start.year, month, 1)


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
            scope = Scope(
                frozenset(changed["areas"]),
                changed["from"].replace(month=1, day=1),
                changed["to"].replace(month=12, day=31),
            )
    report = RunReport(city.code, pack, mode, watermark=watermark)
    report.indicators = len(definitions)
    results = evaluate_pack(session, city, loaded, definitions, scope, report)
    report.values_written = _store(session, city, loaded, definitions, results, scope)

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
                func.min(Observation.period_start),
                func.max(Observation.period_start),
            )
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
        tables = {r.key: resolution.tables[r] for r in mine if r in resolution.tables}
        for request in mine:
            uses[request] -= 1
            if uses[request] == 0:
                resolution.tables.pop(request, None)
        if not tables:
            continue
        from_records = any(not isinstance(r.node, MetricRef) and r.key in tables for r in mine)
        result = compute_indicator(definition, formula, tables, levels, from_records)
        result.personal = {k for k in tables if k in resolution.personal}
        result.counts = {k for k in tables if k in resolution.counts}
        report.errors.extend(result.errors)
        if result.cells:
            report.computed.append(definition.code)
        del tables
        yield definition, result


_INSERT_CHUNK = 10_000


def _store(
    session: Session,
    city: City,
    loaded: LoadedPack,
    definitions: list[IndicatorDefinition],
    results: Iterable[tuple[IndicatorDefinition, IndicatorResult]],
    scope: Scope,
) -> int:
    """Replace the stored values of these indicators within the scope."""
    pack = loaded.pack.id
    codes = [d.code for d in definitions]
    if not codes:
        return 0
    stmt = delete(IndicatorValue).where(
        IndicatorValue.pack == pack,
        IndicatorValue.city_id == city.id,
        IndicatorValue.code.in_(codes),
    )
    if scope.area_ids is not None:
        stmt = stmt.where(IndicatorValue.area_id.in_(sorted(scope.area_ids)))
    if scope.period_from is not None:
        stmt = stmt.where(IndicatorValue.period_start >= scope.period_from)
    if scope.period_to is not None:
        stmt = stmt.where(IndicatorValue.period_start <= scope.period_to)
    session.execute(stmt.execution_options(synchronize_session=False))
    connection = session.connection()
    now = dt.datetime.now(dt.UTC)
    written = 0
    rows: list[dict[str, Any]] = []
    table = IndicatorValue.__table__
    for definition, result in results:
        personal = sorted(result.personal)
        counted = result.counts
        for cell, cv in result.cells.items():
            counts = [iv.value for k, iv in cv.inputs.items() if k in counted]
            provenance: dict[str, Any] = {
                "inputs": {
                    k: {"value": iv.value, "observations": iv.observations, "batch": iv.batch}
                    for k, iv in cv.inputs.items()
                },
                "batches": sorted({iv.batch for iv in cv.inputs.values() if iv.batch}),
            }
            if cv.rollup is not None:
                provenance["rollup"] = cv.rollup
                provenance["periods"] = cv.periods
            if personal:
                provenance["personal"] = personal
            rows.append(
                {
                    "pack": pack,
                    "code": definition.code,
                    "definition_version": definition.version,
                    "city_id": city.id,
                    "area_id": cell.area_id,
                    "grain": cell.grain,
                    "period_start": cell.period_start,
                    "sex": cell.sex,
                    "age_band": cell.age_band,
                    "value": cv.value,
                    "unit": definition.unit,
                    "quality": cv.quality,
                    "input_count": sum(iv.observations for iv in cv.inputs.values()),
                    "min_count": min(counts) if counts else None,
                    "provenance": provenance,
                    "computed_at": now,
                }
            )
            if len(rows) >= _INSERT_CHUNK:
                connection.execute(insert(table), rows)  # type: ignore[arg-type]
                written += len(rows)
                rows = []
    if rows:
        connection.execute(insert(table), rows)  # type: ignore[arg-type]
        written += len(rows)
    session.flush()
    return written


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
