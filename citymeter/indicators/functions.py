"""Aggregate functions a formula may call, as small registered Python callables.

Each function declares its parameters (what kind of argument each takes) and how its result unit
follows from them; `compute` works on plain Python data (values, (time, value) pairs, records), so
the engine that fetches the data from the store and these tests share one implementation.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ParamKind = Literal["entity_type", "attribute", "records", "field", "number", "text", "expr"]

# One sample of an entity attribute's history.
Sample = tuple[dt.datetime, float]
Record = Mapping[str, Any]


@dataclass(frozen=True)
class Param:
    name: str
    kind: ParamKind
    required: bool = True
    positional: bool = False
    help: str = ""


@dataclass(frozen=True)
class AggregateFunction:
    """A registered function: its signature, result unit rule and computation."""

    name: str
    summary: str
    params: tuple[Param, ...]
    # "attribute" (the attribute's unit), "field" (the field's unit), "count", "days", "ratio",
    # or "common" (all expression arguments share a unit: coalesce).
    result: Literal["attribute", "field", "count", "days", "ratio", "common"]
    compute: Callable[..., float] | None = None
    # Named arguments beyond `params` are record filters (field: value).
    accepts_filters: bool = False
    variadic: bool = False
    examples: tuple[str, ...] = field(default=())


REGISTRY: dict[str, AggregateFunction] = {}


def register(function: AggregateFunction) -> AggregateFunction:
    if function.name in REGISTRY:
        raise ValueError(f"the formula function {function.name!r} is already registered")
    REGISTRY[function.name] = function
    return function


def _daily_means(samples: Sequence[Sample]) -> dict[dt.date, float]:
    by_day: dict[dt.date, list[float]] = defaultdict(list)
    for when, value in samples:
        by_day[when.date()].append(value)
    return {day: statistics.fmean(values) for day, values in by_day.items()}


def _need(values: Sequence[Any], what: str) -> None:
    if not values:
        raise LookupError(f"no {what} in the period")


def daily_mean(samples: Sequence[Sample]) -> float:
    _need(samples, "samples")
    return statistics.fmean(value for _, value in samples)


def annual_mean_of_daily_means(samples: Sequence[Sample], min_days: int = 1) -> float:
    means = _daily_means(samples)
    _need(list(means), "days with samples")
    if len(means) < min_days:
        raise LookupError(f"only {len(means)} days with samples; at least {min_days} are needed")
    return statistics.fmean(means.values())


def days_above(samples: Sequence[Sample], threshold: float) -> float:
    return float(sum(1 for mean in _daily_means(samples).values() if mean > threshold))


def _filtered(records: Sequence[Record], filters: Mapping[str, str]) -> list[Record]:
    return [r for r in records if all(str(r.get(k)) == v for k, v in filters.items())]


def count_records(records: Sequence[Record], filters: Mapping[str, str]) -> float:
    return float(len(_filtered(records, filters)))


def _field_values(records: Sequence[Record], name: str, filters: Mapping[str, str]) -> list[Any]:
    return [r[name] for r in _filtered(records, filters) if r.get(name) is not None]


def median_field(records: Sequence[Record], name: str, filters: Mapping[str, str]) -> float:
    values = _field_values(records, name, filters)
    _need(values, f"values of {name}")
    return float(statistics.median(values))


def mean_field(records: Sequence[Record], name: str, filters: Mapping[str, str]) -> float:
    values = _field_values(records, name, filters)
    _need(values, f"values of {name}")
    return statistics.fmean(values)


def sum_field(records: Sequence[Record], name: str, filters: Mapping[str, str]) -> float:
    return float(sum(_field_values(records, name, filters)))


def share_true(records: Sequence[Record], name: str, filters: Mapping[str, str]) -> float:
    values = _field_values(records, name, filters)
    _need(values, f"values of {name}")
    return sum(1 for v in values if v) / len(values)


def percentile_field(
    records: Sequence[Record], name: str, filters: Mapping[str, str], p: float
) -> float:
    values = sorted(_field_values(records, name, filters))
    _need(values, f"values of {name}")
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1])


_ENTITY = Param("entity", "entity_type", help="the entity type, e.g. AirQualityStation")
_ATTR = Param("attr", "attribute", help="the attribute whose history is read, e.g. pm25")
_FIELD = Param(
    "field", "field", positional=True, help="records.field, e.g. complaints.processing_hours"
)

register(
    AggregateFunction(
        "daily_mean",
        "Mean of an entity attribute's samples over the period (a day, typically).",
        (_ENTITY, _ATTR),
        "attribute",
        daily_mean,
        examples=("daily_mean(entity: AirQualityStation, attr: pm25)",),
    )
)
register(
    AggregateFunction(
        "annual_mean_of_daily_means",
        "Mean over the days of the period of each day's mean (days without samples are skipped).",
        (_ENTITY, _ATTR, Param("min_days", "number", required=False)),
        "attribute",
        annual_mean_of_daily_means,
        examples=("annual_mean_of_daily_means(entity: AirQualityStation, attr: pm25)",),
    )
)
register(
    AggregateFunction(
        "days_above",
        "Number of days whose daily mean is above a threshold.",
        (_ENTITY, _ATTR, Param("threshold", "number")),
        "days",
        days_above,
        examples=("days_above(entity: AirQualityStation, attr: pm25, threshold: 35)",),
    )
)
register(
    AggregateFunction(
        "count",
        "Number of records in the period, optionally filtered (field: value).",
        (Param("records", "records", positional=True),),
        "count",
        count_records,
        accepts_filters=True,
        examples=("count(incidents, type: fire)",),
    )
)
register(
    AggregateFunction(
        "median",
        "Median of a record field over the period.",
        (_FIELD,),
        "field",
        median_field,
        accepts_filters=True,
        examples=("median(incidents.response_time_s)",),
    )
)
register(
    AggregateFunction(
        "mean",
        "Mean of a record field over the period.",
        (_FIELD,),
        "field",
        mean_field,
        accepts_filters=True,
        examples=("mean(complaints.processing_hours, type: pothole)",),
    )
)
register(
    AggregateFunction(
        "sum",
        "Sum of a record field over the period.",
        (_FIELD,),
        "field",
        sum_field,
        accepts_filters=True,
        examples=("sum(incidents.casualties)",),
    )
)
register(
    AggregateFunction(
        "percentile",
        "The p-th percentile (1–99) of a record field.",
        (_FIELD, Param("p", "number")),
        "field",
        percentile_field,
        accepts_filters=True,
        examples=("percentile(incidents.response_time_s, p: 90)",),
    )
)
register(
    AggregateFunction(
        "share",
        "Share (0–1) of records whose yes/no field is true; multiply by 100 for %.",
        (_FIELD,),
        "ratio",
        share_true,
        accepts_filters=True,
        examples=("share(complaints.closed_late) * 100",),
    )
)
register(AggregateFunction(
    "coalesce",
    "The first of its arguments that can be computed (an input may be missing); all share a unit.",
    (Param("value", "expr", positional=True),), "common", None, variadic=True,
    examples=("coalesce(annual_mean_of_daily_means(entity: AirQualityStation, attr: pm25), "
              "pm25_annual_mean)",),
))  # fmt: skip
