"""Metric observations as column tables: one query per metric (with its aliases), its rows turned
into arrays chunk by chunk, then every request's table cut from the arrays with numpy.

The rules are the cell-by-cell ones of before: the catalogue's own code wins over an alias in the
same cell; a sex total that is not stored is male + female wherever both have the band; an age
range sums the bands lying inside it, chosen from the labels present in each cell (so a cell that
mixes two bandings still fails loudly); sums run in band order, as Python's `sum` did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import FromClause, Select, select
from sqlalchemy.orm import Session

from citymeter.indicators import breakdowns
from citymeter.indicators.cells import (
    CellSpace,
    ColumnTable,
    Floats,
    Ints,
    distinct,
    member_of,
    ordered_sums,
)
from citymeter.indicators.formula import MetricRef
from citymeter.observations.models import Breakdown, Metric, Observation, ObservationPeriod
from citymeter.places.models import Area

_TOTAL = 0  # the code of sex "total" and of band "total" in every CellSpace
_MALE, _FEMALE = 1, 2
_PARTITION = 50_000


def canonical_dims(pairs: Iterable[tuple[str, str]]) -> str:
    return ";".join(f"{k}={v}" for k, v in sorted(pairs))


class Rows:
    """A metric's observations as arrays: packed cell keys, dims codes, values, batches, and the
    alias rank of the metric each row came from (0: the catalogue's own code)."""

    def __init__(
        self,
        keys: Ints,
        dims: Ints,
        values: Floats,
        batches: Ints,
        ranks: Ints,
        dim_labels: list[str],
    ) -> None:
        self.keys, self.dims, self.values, self.batches, self.ranks = (
            keys, dims, values, batches, ranks,
        )  # fmt: skip
        self.dim_labels = dim_labels


def read(
    session: Session,
    city_id: int,
    metrics: Sequence[Metric],
    scope_areas: Iterable[int] | None,
    period_from: dt.date | None,
    period_to: dt.date | None,
    levels: frozenset[str],
    bands: bool,
    space: CellSpace,
) -> Rows:
    """Stream the observations of `metrics` and encode them chunk by chunk, so that memory holds
    arrays, not Python rows; only the age-band totals are read when no request needs the bands.
    Rows come with their period and breakdown ids, decoded through the small key tables."""
    observation = Observation.__table__
    area = Area.__table__
    period = ObservationPeriod.__table__
    breakdown = Breakdown.__table__
    query = select(
        observation.c.area_id,
        observation.c.period_id,
        observation.c.breakdown_id,
        observation.c.value,
        observation.c.batch_id,
        observation.c.metric_id,
    ).where(
        observation.c.metric_id.in_([m.id for m in metrics]),
        observation.c.area_id.in_(
            select(area.c.id).where(area.c.city_id == city_id, area.c.level.in_(sorted(levels)))
        ),
    )
    if scope_areas is not None:
        query = query.where(observation.c.area_id.in_(sorted(scope_areas)))
    if period_from is not None or period_to is not None:
        # The periods in range as a list of ids: the unique index (metric, area, period, …)
        # then seeks each of them instead of scanning all periods of each metric and area.
        periods = select(period.c.id)
        if period_from is not None:
            periods = periods.where(period.c.period_start >= period_from)
        if period_to is not None:
            periods = periods.where(period.c.period_start <= period_to)
        query = query.where(observation.c.period_id.in_(periods))
    if not bands:
        totals = select(breakdown.c.id).where(breakdown.c.age_band == "total")
        query = query.where(observation.c.breakdown_id.in_(totals))
    rank = {m.id: i for i, m in enumerate(metrics)}
    dim_codes: dict[str, int] = {}
    area_cache: dict[Any, int] = {}
    period_codes = _KeyCodes(
        session, period, ("grain", "period_start"), (space.grains.code, _ordinal)
    )
    breakdown_codes = _KeyCodes(
        session,
        breakdown,
        ("dims", "sex", "age_band"),
        (lambda d: dim_codes.setdefault(d, len(dim_codes)), space.sexes.code, space.bands.code),
    )
    parts: list[tuple[Ints, Ints, Floats, Ints, Ints]] = []
    for rows in _fetch(session, query):
        # One 2-D object array, then a column at a time (cheaper than transposing with zip).
        table = np.array(rows, dtype=object)
        del rows
        area_c = _encode(table[:, 0], space.area, area_cache)
        grain_c, period_c = period_codes.of(table[:, 1].astype(np.int64))
        dims_c, sex_c, band_c = breakdown_codes.of(table[:, 2].astype(np.int64))
        keys = space.pack(area_c, grain_c, period_c, sex_c, band_c)
        values = table[:, 3].astype(np.float64)
        # A row without a batch reads as NaN here, and counts as batch 0.
        batch_ids = np.array(table[:, 4].tolist(), np.float64)
        batches = np.nan_to_num(batch_ids, nan=0.0).astype(np.int64)
        if len(rank) == 1:
            ranks = np.zeros(len(values), np.int64)
        else:
            ranks = np.fromiter(map(rank.__getitem__, table[:, 5]), np.int64, len(values))
        parts.append((keys, dims_c, values, batches, ranks))
        del table
    if not parts:
        empty = np.empty(0, np.int64)
        return Rows(empty, empty, np.empty(0, np.float64), empty, empty, [])
    labels = sorted(dim_codes, key=dim_codes.__getitem__)
    joined = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    return Rows(joined[0], joined[1], joined[2], joined[3], joined[4], labels)


class _KeyCodes:
    """The codes of the labels of period (or breakdown) ids: an id's labels are read from its
    small table and encoded the first time the id is seen, then whole columns are looked up as
    arrays."""

    def __init__(
        self,
        session: Session,
        table: FromClause,
        names: Sequence[str],
        encoders: Sequence[Callable[[Any], int]],
    ) -> None:
        self._session = session
        self._table = table
        self._columns = [table.c[name] for name in names]
        self._encoders = encoders
        self._codes = np.full((0, len(encoders)), -1, np.int64)  # a row per id; -1: not seen

    def of(self, ids: Ints) -> list[Ints]:
        if len(ids) and int(ids.max()) >= len(self._codes):
            grown = np.full((int(ids.max()) + 1, len(self._encoders)), -1, np.int64)
            grown[: len(self._codes)] = self._codes
            self._codes = grown
        new = np.unique(ids[self._codes[ids, 0] < 0]).tolist()
        if new:
            query = select(self._table.c.id, *self._columns).where(self._table.c.id.in_(new))
            for key_id, *labels in self._session.execute(query):
                self._codes[key_id] = [
                    encode(label) for encode, label in zip(self._encoders, labels, strict=True)
                ]
        return [self._codes[ids, i] for i in range(len(self._encoders))]


def _fetch(session: Session, query: Select[Any]) -> Iterator[list[tuple[Any, ...]]]:
    """The rows in chunks of plain tuples, straight from the driver's cursor: building a
    SQLAlchemy row per observation cost more than the rest of the reading. PostgreSQL streams
    through a server-side cursor; the statement holds only ids, codes and dates, inlined."""
    connection = session.connection()
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    driver = connection.connection.driver_connection
    assert driver is not None
    if connection.dialect.name == "postgresql":
        cursor = driver.cursor(name="citymeter_indicator_inputs")
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(_PARTITION):
            yield rows
    finally:
        cursor.close()


def _ordinal(start: object) -> int:
    day = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
    return day.toordinal()


def _encode(column: npt.NDArray[Any], encode: Callable[[Any], int], cache: dict[Any, int]) -> Ints:
    """Codes of a column of labels: each distinct label is encoded once."""
    for label in set(column).difference(cache):
        cache[label] = encode(label)
    return np.fromiter(map(cache.__getitem__, column), np.int64, len(column))


class Cells:
    """The rows of one dims value, one row per cell: the catalogue's code wins over an alias."""

    def __init__(self, rows: Rows, dims: str) -> None:
        try:
            code = rows.dim_labels.index(dims)
        except ValueError:
            code = -1
        mine = np.flatnonzero(rows.dims == code)
        keys, ranks = rows.keys[mine], rows.ranks[mine]
        order = np.lexsort((ranks, keys))
        keys = keys[order]
        first = np.ones(len(keys), np.bool_)
        first[1:] = keys[1:] != keys[:-1]
        chosen = mine[order[first]]
        self.keys: Ints = keys[first]
        self.values: Floats = rows.values[chosen]
        self.batches: Ints = rows.batches[chosen]
        self.observations: Ints = np.ones(len(self.keys), np.int64)
        self._by_sex: dict[int, tuple[Ints, Floats, Ints, Ints]] = {}

    def of_sex(self, sex: int) -> tuple[Ints, Floats, Ints, Ints]:
        """Keys, values, observation counts and batches of one sex; for the total, male + female
        in the (area, period) groups where no total is stored, for the bands both have."""
        found = self._by_sex.get(sex)
        if found is None:
            found = self._by_sex[sex] = self._of_sex(sex)
        return found

    def _of_sex(self, sex: int) -> tuple[Ints, Floats, Ints, Ints]:
        sexes = CellSpace.sex_of(self.keys)
        here = sexes == sex
        stored = (self.keys[here], self.values[here], self.observations[here], self.batches[here])
        if sex != _TOTAL:
            return stored
        groups_with_total = distinct(_group(stored[0]))
        derived = []
        for part in (_MALE, _FEMALE):
            rows = np.flatnonzero(sexes == part)
            rows = rows[~member_of(_group(self.keys[rows]), groups_with_total)]
            keys = self.keys[rows]
            derived.append((CellSpace.with_sex_band(keys, _TOTAL, _band(keys)), rows))
        (male_keys, male), (female_keys, female) = derived
        both = member_of(male_keys, female_keys)  # both are sorted: the keys were
        keys = male_keys[both]
        m, f = male[both], female[np.searchsorted(female_keys, keys)]
        sums = (
            keys,
            self.values[m] + self.values[f],
            np.full(len(keys), 2, np.int64),
            np.maximum(self.batches[m], self.batches[f]),
        )
        merged = [np.concatenate([a, b]) for a, b in zip(stored, sums, strict=True)]
        order = np.argsort(merged[0], kind="stable")
        return merged[0][order], merged[1][order], merged[2][order], merged[3][order]


def _group(keys: Ints) -> Ints:
    """The (area, grain, period) part of keys."""
    return CellSpace.with_sex_band(keys, 0, 0)


def _band(keys: Ints) -> Ints:
    return CellSpace.band_of(keys)


def table(
    cells: Cells, ref: MetricRef, by_sex: bool, by_age: bool, space: CellSpace
) -> ColumnTable:
    """One request's table: its sexes, and its age range summed or its bands kept."""
    if ref.sex is not None:
        sexes = [ref.sex]
    elif by_sex:
        sexes = ["total", "male", "female"]
    else:
        sexes = ["total"]
    parts: list[tuple[Ints, Floats, Ints, Ints]] = []
    for sex in sexes:
        keys, values, observations, batches = cells.of_sex(space.sexes.code(sex))
        if not len(keys):
            continue
        out_sex = space.sexes.code(sex if by_sex else "total")
        if ref.ages is not None:
            parts.append(_age_range(keys, values, observations, batches, ref.ages, out_sex, space))
            continue
        if not by_age:
            total = _band(keys) == _TOTAL
            keys, values, observations, batches = (
                keys[total],
                values[total],
                observations[total],
                batches[total],
            )
        parts.append(
            (CellSpace.with_sex_band(keys, out_sex, _band(keys)), values, observations, batches)
        )
    if not parts:
        return ColumnTable.empty()
    return ColumnTable.sorted_from(*(np.concatenate([p[i] for p in parts]) for i in range(4)))


def _age_range(
    keys: Ints,
    values: Floats,
    observations: Ints,
    batches: Ints,
    wanted: breakdowns.AgeRange,
    out_sex: int,
    space: CellSpace,
) -> tuple[Ints, Floats, Ints, Ints]:
    """Per (area, period) group, the sum of the bands inside `wanted` among those present there.

    The keys are sorted and of one sex, so each group's rows are contiguous."""
    grouped = _group(keys)
    change = np.ones(len(keys), np.bool_)
    change[1:] = grouped[1:] != grouped[:-1]
    starts = np.flatnonzero(change)
    groups = grouped[starts]
    index = np.cumsum(change) - 1
    bands = _band(keys)
    # Which band labels each group has, as bit sets over the labels present in these rows.
    present = np.flatnonzero(np.bincount(bands, minlength=len(space.bands.labels)))
    lookup = np.full(len(space.bands.labels), -1, np.int64)
    lookup[present] = np.arange(len(present))
    position = lookup[bands]
    words = (len(present) + 61) // 62
    signature = np.zeros((len(groups), words), np.int64)
    for word in range(words):
        bits = np.where(position // 62 == word, np.int64(1) << (position % 62), 0)
        signature[:, word] = np.bitwise_or.reduceat(bits, starts)
    kinds, kind_of_group = np.unique(signature, axis=0, return_inverse=True)
    kind_of_group = kind_of_group.reshape(-1)
    # Rank of each band in its group's choice (-1: not chosen), one choice per kind of group.
    ranks = np.full((len(kinds), len(space.bands.labels)), -1, np.int64)
    for kind, bits_of_kind in enumerate(kinds.tolist()):
        labels = frozenset(
            space.bands.labels[int(code)]
            for i, code in enumerate(present.tolist())
            if bits_of_kind[i // 62] >> (i % 62) & 1
        )
        for place, label in enumerate(select_bands(labels, wanted)):
            ranks[kind, space.bands.index[label]] = place
    rank = ranks[kind_of_group[index], bands]
    chosen = np.flatnonzero(rank >= 0)
    order = chosen[np.lexsort((rank[chosen], index[chosen]))]
    target = index[order]
    n = len(groups)
    # Band by band within a group, in age order, as sum() added them.
    total = ordered_sums(target, values[order], n)
    count = np.bincount(target, weights=observations[order], minlength=n).astype(np.int64)
    has = np.zeros(n, np.bool_)
    latest = np.zeros(n, np.int64)
    if len(order):
        first = np.flatnonzero(np.r_[True, target[1:] != target[:-1]])
        has[target[first]] = True
        latest[target[first]] = np.maximum.reduceat(batches[order], first)
    out_keys = CellSpace.with_sex_band(groups[has], out_sex, _TOTAL)
    return out_keys, total[has], count[has], latest[has]


_BAND_CACHE: dict[tuple[frozenset[str], breakdowns.AgeRange], list[str]] = {}


def select_bands(labels: frozenset[str], wanted: breakdowns.AgeRange) -> list[str]:
    """The labels (of one cell) inside `wanted`, in age order; labels that are no band are
    skipped, overlapping bands are an error."""
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
