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

from liftlab.analysis.definition import Aggregation, Filter
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.analysis.sql import VALUE_NUMBER, FilterCompiler, Params, PropertyReads

ASSIGNED = "assigned"
QUARANTINED = "quarantined"
UNKNOWN_VARIANT = "unknown_variant"
MASK_BITS = 64
HOUR_MS = 3_600_000


def sum_column(index: int) -> str:
    """The result column holding the sum of metric ``index``'s per-identity values."""
    return f"m{index}_sum"


def sum_sq_column(index: int) -> str:
    """The result column holding the sum of squares of metric ``index``'s values."""
    return f"m{index}_sum_sq"


class _Matchers:
    """Gives each distinct (event, filters) pair of the metrics one bit of the row mask."""

    def __init__(self, params: Params, filters: FilterCompiler) -> None:
        self._params = params
        self._filters = filters
        self._bits: dict[str, int] = {}
        self.predicates: list[str] = []

    def bit(self, event: str, filters: list[Filter]) -> int:
        key = json.dumps([event, [f.to_json() for f in filters]])
        if key not in self._bits:
            self._bits[key] = len(self.predicates)
            parts = [f"event = {self._params.bind(event, 'String')}"]
            parts += [f"({self._filters.predicate(f)})" for f in filters]
            self.predicates.append(" AND ".join(parts))
        return self._bits[key]

    def mask_columns(self) -> list[str]:
        """``match_k`` flags, then ``mask_w`` words of 64 flags each, then ``matched``."""
        columns = [f"{p} AS match_{k}" for k, p in enumerate(self.predicates)]
        words = range(0, len(self.predicates), MASK_BITS)
        for w, first in enumerate(words):
            bits = range(first, min(first + MASK_BITS, len(self.predicates)))
            terms = " + ".join(f"toUInt64(match_{k}) * {1 << (k - first)}" for k in bits)
            columns.append(f"{terms} AS mask_{w}")
        columns.append(" OR ".join(f"mask_{w} != 0" for w in range(len(words))) + " AS matched")
        return columns

    @property
    def words(self) -> int:
        return -(-len(self.predicates) // MASK_BITS)


class _Sources:
    """Gives each distinct value source (``None``: the value column; else a property) a slot."""

    def __init__(self, props: PropertyReads) -> None:
        self._props = props
        self._slots: dict[str | None, int] = {}
        self.expressions: list[str] = []

    def slot(self, prop: str | None) -> int:
        if prop not in self._slots:
            self._slots[prop] = len(self.expressions)
            self.expressions.append(VALUE_NUMBER if prop is None else self._props.number(prop))
        return self._slots[prop]


def _metric_value(
    index: int, metric: MetricSpec, matchers: _Matchers, sources: _Sources, params: Params
) -> str:
    """SQL for one identity's value of the metric, from the per-identity arrays."""
    definition = metric.definition
    bit = matchers.bit(definition.event, definition.filters)
    mask = f"ev_mask_{bit // MASK_BITS}"
    counted = f"bitTest(m, {bit % MASK_BITS}) AND t >= first_ms"
    if definition.window is not None:
        window_ms = params.bind(definition.window.hours * HOUR_MS, "Int64")
        counted += f" AND t <= first_ms + {window_ms}"
    if metric.aggregation is Aggregation.COUNT:
        return f"arrayCount((t, m) -> {counted}, ev_ms, {mask}) AS v_{index}"
    if metric.aggregation is Aggregation.OCCURRENCE:
        return f"toUInt8(arrayExists((t, m) -> {counted}, ev_ms, {mask})) AS v_{index}"
    numbers = f"ev_num_{sources.slot(definition.value)}"
    with_number = f"(t, m, x) -> {counted} AND NOT isNaN(x)"
    total = f"arraySum((t, m, x) -> if({counted} AND NOT isNaN(x), x, 0.), ev_ms, {mask}, {numbers})"
    if metric.aggregation is Aggregation.SUM:
        return f"{total} AS v_{index}"
    count = f"arrayCount({with_number}, ev_ms, {mask}, {numbers})"
    return (
        f"{total} AS total_{index}, {count} AS counted_{index}, "
        f"if(counted_{index} = 0, 0., total_{index} / counted_{index}) AS v_{index}"
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
    "minIf(ts_ms, is_exposure) AS first_ms",
    "argMinIf(value, ts_ms, is_exposure) AS first_value",
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


def build_results_query(spec: ExperimentSpec) -> tuple[str, dict[str, object]]:
    """The SQL and parameters computing exposures and every metric's sufficient statistics.

    One row per (status, variant): ``status``, ``variant`` (empty unless assigned), ``n``
    and, for metric i of ``spec.metrics``, ``m{i}_sum`` and ``m{i}_sum_sq``.
    """
    params = Params()
    props = PropertyReads(params)
    matchers = _Matchers(params, FilterCompiler(params, props))
    sources = _Sources(props)
    values = [_metric_value(i, m, matchers, sources, params) for i, m in enumerate(spec.metrics)]
    events = sorted({spec.exposure_event, *(m.definition.event for m in spec.metrics)})

    row_columns = [
        "identifier",
        "value",
        "toUnixTimestamp64Milli(timestamp) AS ts_ms",
        f"{_is_exposure(spec, params)} AS is_exposure",
    ]
    identity_columns = ["identifier", *FIRST_TOUCH]
    if spec.metrics:
        row_columns += props.columns() + matchers.mask_columns()
        row_columns += [f"{e} AS num_{s}" for s, e in enumerate(sources.expressions)]
        identity_columns.append("groupArrayIf(ts_ms, matched) AS ev_ms")
        identity_columns += [f"groupArrayIf(mask_{w}, matched) AS ev_mask_{w}" for w in range(matchers.words)]
        identity_columns += [
            f"groupArrayIf(num_{s}, matched) AS ev_num_{s}" for s in range(len(sources.expressions))
        ]
    outer = ["status", "variant", "count() AS n"]
    for i in range(len(spec.metrics)):
        outer += [f"sum(v_{i}) AS {sum_column(i)}", f"sum(v_{i} * v_{i}) AS {sum_sq_column(i)}"]

    sql = f"""WITH
event_rows AS (
    SELECT
    {_select(row_columns)}
    FROM events
    WHERE environment_key = {params.bind(spec.environment_key, 'String')}
      AND event IN {params.bind(events, 'Array(String)')}
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
    {_select([f"{_status(spec, params)} AS status", f"if(status = '{ASSIGNED}', first_value, '') AS variant", *values])}
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
        SELECT identifier, value, toUnixTimestamp64Milli(timestamp) AS ts_ms, 1 AS is_exposure
        FROM events
        WHERE environment_key = {params.bind(spec.environment_key, 'String')}
          AND {_is_exposure(spec, params)}
          AND {_in_range(spec, params)}
    )
    GROUP BY identifier
)
SELECT
    toDate(fromUnixTimestamp64Milli(first_ms, 'UTC')) AS day,
    first_value AS variant,
    count() AS identities
FROM per_identity
WHERE {_status(spec, params)} = '{ASSIGNED}'
GROUP BY day, variant
ORDER BY day, variant"""
    return sql, params.values
