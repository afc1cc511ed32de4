"""The results query: every metric of an experiment in one pass over the events table.

The query is built from named parts that read like the method (docs/metrics.md):

1. ``event_rows``: the environment's exposure and metric events in the analysed range, each
   row marked with the *matchers* (event name + filters) it satisfies as bits of a mask and
   with the numbers its metrics may sum (one per *value source*: the ``value`` column or a
   property, read once per query).
2. ``per_identity``: one ``GROUP BY identifier``. First-touch assignment comes from the
   exposures (``argMinIf``); the matching events are collected in a few compact arrays
   (time, mask, numbers), because whether an event counts depends on the identity's first
   exposure, known only once the group is complete.
3. ``classified``: each identity's status (assigned / quarantined / unknown variant) and one
   value per metric, computed from those arrays: only events at or after the first exposure
   (and within the metric's window) count.
4. The outer ``GROUP BY status, variant``: n, sum and sum of squares per metric and variant.
   Nothing per identity leaves ClickHouse.

Why arrays and not a join: on 20 M events a join of the assignment to the events cost twice
this query, and one array *per metric* three times (bench/results.py, docs/metrics.md). A
handful of primitive arrays shared by all metrics keeps the aggregation close to a bare scan.
"""

from __future__ import annotations

import json

from dataclasses import dataclass

from liftlab.analysis.definition import Aggregation, Filter, MetricType
from liftlab.analysis.packing import LANES_PER_WORD, MAX_RANGE_MS, TIME_SHIFT, Packing
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.analysis.sql import VALUE_NUMBER, FilterCompiler, Params, PropertyReads

ASSIGNED = "assigned"
QUARANTINED = "quarantined"
UNKNOWN_VARIANT = "unknown_variant"
HOUR_MS = 3_600_000


def sum_column(index: int) -> str:
    """The result column holding the sum of metric ``index``'s per-identity values."""
    return f"m{index}_sum"


def sum_sq_column(index: int) -> str:
    """The result column holding the sum of squares of metric ``index``'s values."""
    return f"m{index}_sum_sq"


class _Matchers:
    """Numbers each distinct (event, filters) pair of the metrics; its flag is one mask bit."""

    def __init__(self, params: Params, filters: FilterCompiler) -> None:
        self._params = params
        self._filters = filters
        self._indexes: dict[str, int] = {}
        self.predicates: list[str] = []

    def index(self, event: str, filters: list[Filter]) -> int:
        key = json.dumps([event, [f.to_json() for f in filters]])
        if key not in self._indexes:
            self._indexes[key] = len(self.predicates)
            parts = [f"event = {self._params.bind(event, 'String')}"]
            parts += [f"({self._filters.predicate(f)})" for f in filters]
            self.predicates.append(" AND ".join(parts))
        return self._indexes[key]


class _Sources:
    """Numbers each distinct value source (``None``: the value column; else a property)."""

    def __init__(self, props: PropertyReads) -> None:
        self._props = props
        self._slots: dict[str | None, int] = {}
        self.expressions: list[str] = []

    def slot(self, prop: str | None) -> int:
        if prop not in self._slots:
            self._slots[prop] = len(self.expressions)
            self.expressions.append(VALUE_NUMBER if prop is None else self._props.number(prop))
        return self._slots[prop]


@dataclass(frozen=True)
class _Plan:
    """Where one metric finds its events in the packed arrays."""

    metric: MetricSpec
    matcher: int
    source: int | None


def _metric_value(index: int, plan: _Plan, packing: Packing, params: Params) -> str:
    """SQL for one identity's value of the metric, from the unpacked per-identity arrays.

    ``t`` is an event's time since the range's start, ``m`` the lane with its matcher bit,
    ``x`` its number (NaN when none); only events from the first exposure on count.
    """
    where = packing.matcher_bit(plan.matcher)
    arrays = f"ev_time, ev_lane_{where.lane}"
    counted = f"bitTest(m, {where.bit}) AND t >= first_time"
    window = plan.metric.definition.window
    if window is not None:
        counted += f" AND t <= first_time + {params.bind(window.hours * HOUR_MS, 'Int64')}"
    aggregation = plan.metric.aggregation
    if aggregation is Aggregation.COUNT:
        return f"arrayCount((t, m) -> {counted}, {arrays}) AS v_{index}"
    if aggregation is Aggregation.OCCURRENCE:
        return f"toUInt8(arrayExists((t, m) -> {counted}, {arrays})) AS v_{index}"
    arrays += f", ev_number_{plan.source}"
    counted += " AND NOT isNaN(x)"
    total = f"arraySum((t, m, x) -> if({counted}, x, 0.), {arrays})"
    if aggregation is Aggregation.SUM:
        return f"{total} AS v_{index}"
    return (
        f"{total} AS total_{index}, arrayCount((t, m, x) -> {counted}, {arrays}) AS n_{index}, "
        f"if(n_{index} = 0, 0., total_{index} / n_{index}) AS v_{index}"
    )


def _in_range(spec: ExperimentSpec, params: Params) -> str:
    start = params.bind(spec.start_ms, "Int64")
    end = params.bind(spec.end_ms, "Int64")
    return (
        f"timestamp >= fromUnixTimestamp64Milli({start}, 'UTC') "
        f"AND timestamp <= fromUnixTimestamp64Milli({end}, 'UTC')"
    )


def _is_exposure(spec: ExperimentSpec, params: Params) -> str:
    event = params.bind(spec.exposure_event, "String")
    return f"event = {event} AND feature_name = {params.bind(spec.feature_name, 'String')}"


FIRST_TOUCH = [
    "minIf(time, is_exposure) AS first_time",
    "argMinIf(value, time, is_exposure) AS first_value",
    "minIf(value, is_exposure) != maxIf(value, is_exposure) AS mixed",
]
"""Per identity: first exposure time and value, and whether it saw more than one value."""


def _status(spec: ExperimentSpec, params: Params) -> str:
    """Quarantined if it saw two values, else assigned if its value is a variant key."""
    variants = params.bind(list(spec.variant_keys), "Array(String)")
    return (
        f"multiIf(mixed, '{QUARANTINED}', has({variants}, first_value), '{ASSIGNED}', "
        f"'{UNKNOWN_VARIANT}')"
    )


def _select(columns: list[str], indent: str = "    ") -> str:
    return (",\n" + indent).join(columns)


def _time(spec: ExperimentSpec, params: Params) -> str:
    """Milliseconds since the range's start: small, so it packs with the matcher bits."""
    return f"toUnixTimestamp64Milli(timestamp) - {params.bind(spec.start_ms, 'Int64')} AS time"


def _event_columns(plans: list[_Plan], matchers: _Matchers, sources: _Sources, props, packing):
    flags = [f"match_{k}" for k in range(len(matchers.predicates))]
    numbers = [f"number_{s}" for s in range(len(sources.expressions))]
    lanes = packing.row_lanes("time", flags, numbers)
    return [
        *props.columns(),
        *(f"{p} AS {flag}" for p, flag in zip(matchers.predicates, flags, strict=True)),
        *(f"{e} AS {n}" for e, n in zip(sources.expressions, numbers, strict=True)),
        *(f"{word} AS word_{j}" for j, word in enumerate(packing.row_words(lanes))),
        " OR ".join(flags) + " AS matched",
    ]


def _unpacked_columns(packing: Packing) -> list[str]:
    columns = [
        f"{packing.unpack_lane(lane, f'ev_word_{lane // LANES_PER_WORD}')} AS ev_lane_{lane}"
        for lane in range(packing.mask_lanes)
    ]
    columns.append(f"arrayMap(l -> bitShiftRight(l, {TIME_SHIFT}), ev_lane_0) AS ev_time")
    for source in range(packing.sources):
        lane = packing.value_lane(source)
        word = f"ev_word_{lane // LANES_PER_WORD}"
        columns.append(
            f"arrayMap(l -> reinterpretAsFloat64(l), {packing.unpack_lane(lane, word)}) "
            f"AS ev_number_{source}"
        )
    return columns


def build_results_query(spec: ExperimentSpec) -> tuple[str, dict[str, object]]:
    """The SQL and parameters computing exposures and every metric's sufficient statistics.

    One row per (status, variant): ``status``, ``variant`` (empty unless assigned), ``n``
    and, for metric i of ``spec.metrics``, ``m{i}_sum`` and ``m{i}_sum_sq``.
    """
    if spec.end_ms - spec.start_ms >= MAX_RANGE_MS:
        raise ValueError("the analysed range must be shorter than 34 years")
    params = Params()
    props = PropertyReads(params)
    matchers = _Matchers(params, FilterCompiler(params, props))
    sources = _Sources(props)
    plans = [
        _Plan(
            m,
            matchers.index(m.definition.event, m.definition.filters),
            None
            if m.metric_type is MetricType.CONVERSION or m.aggregation is Aggregation.COUNT
            else sources.slot(m.definition.value),
        )
        for m in spec.metrics
    ]
    packing = Packing(len(matchers.predicates), len(sources.expressions))
    events = sorted({spec.exposure_event, *(m.definition.event for m in spec.metrics)})

    row_columns = ["identifier", "value", _time(spec, params)]
    row_columns.append(f"{_is_exposure(spec, params)} AS is_exposure")
    identity_columns = ["identifier", *FIRST_TOUCH]
    classified_columns = [
        f"{_status(spec, params)} AS status",
        f"if(status = '{ASSIGNED}', first_value, '') AS variant",
    ]
    if plans:
        row_columns += _event_columns(plans, matchers, sources, props, packing)
        identity_columns += [
            f"groupArrayIf(word_{j}, matched) AS ev_word_{j}" for j in range(packing.words)
        ]
        classified_columns += _unpacked_columns(packing)
        classified_columns += [_metric_value(i, p, packing, params) for i, p in enumerate(plans)]
    outer = ["status", "variant", "count() AS n"]
    for i in range(len(plans)):
        outer += [f"sum(v_{i}) AS {sum_column(i)}", f"sum(v_{i} * v_{i}) AS {sum_sq_column(i)}"]

    sql = f"""WITH
event_rows AS (
    SELECT
    {_select(row_columns)}
    FROM events
    WHERE environment_key = {params.bind(spec.environment_key, "String")}
      AND event IN {params.bind(events, "Array(String)")}
      AND {_in_range(spec, params)}
),
per_identity AS (
    SELECT
    {_select(identity_columns)}
    FROM event_rows
    GROUP BY identifier
    HAVING max(is_exposure)
),
classified AS (
    SELECT
    {_select(classified_columns)}
    FROM per_identity
)
SELECT
    {_select(outer)}
FROM classified
GROUP BY status, variant
ORDER BY status, variant"""
    return sql, params.values


def build_exposure_timeline_query(spec: ExperimentSpec) -> tuple[str, dict[str, object]]:
    """Per UTC day and variant, how many assigned identities were first exposed that day.

    Rows: ``day`` (Date), ``variant``, ``identities``; quarantined identities and unknown
    variants are left out, as in the results query.
    """
    params = Params()
    sql = f"""WITH
per_identity AS (
    SELECT
    {_select(["identifier", *FIRST_TOUCH])}
    FROM (
        SELECT identifier, value, {_time(spec, params)}, 1 AS is_exposure
        FROM events
        WHERE environment_key = {params.bind(spec.environment_key, "String")}
          AND {_is_exposure(spec, params)}
          AND {_in_range(spec, params)}
    )
    GROUP BY identifier
)
SELECT
    toDate(fromUnixTimestamp64Milli(first_time + {params.bind(spec.start_ms, "Int64")}, 'UTC'))
        AS day,
    first_value AS variant,
    count() AS identities
FROM per_identity
WHERE {_status(spec, params)} = '{ASSIGNED}'
GROUP BY day, variant
ORDER BY day, variant"""
    return sql, params.values
