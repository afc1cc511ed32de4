"""The results query: every metric of an experiment in one pass over the events table.

The query is built from named parts that read like the method (docs/metrics.md):

1. ``event_rows``: the environment's exposures and metric events in the analysed range.
   Each row says whether it is an exposure, which *matchers* (a distinct event name +
   filters) it satisfies and the numbers its event's sum/mean metrics use (the ``value``
   column or properties, each read once); these facts are packed into one integer
   (packing.py).
2. ``per_identity``: one ``GROUP BY identifier``: first-touch assignment from the exposures,
   and the identity's matching events collected in one array, because whether an event
   counts depends on the identity's first exposure, known only once the group is complete.
3. ``classified``: each identity's status (assigned, quarantined, unknown variant) and its
   number for each metric, from the unpacked arrays: only events from the first exposure on,
   and within the metric's window, count.
4. The outer ``GROUP BY status, variant``: n, Σx and Σx² per metric. Nothing per identity
   leaves ClickHouse.

Why one packed array and not a join, a window function or one array per metric: measured in
docs/metrics.md ("Why arrays, and why packed") and bench/results.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from liftlab.analysis.definition import Aggregation, Filter
from liftlab.analysis.packing import LANES_PER_WORD, MAX_RANGE_MS, TIME_SHIFT, Packing
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.analysis.sql import VALUE_NUMBER, FilterCompiler, Params, PropertyReads

ASSIGNED = "assigned"
QUARANTINED = "quarantined"
UNKNOWN_VARIANT = "unknown_variant"
HOUR_MS = 3_600_000

FIRST_TOUCH = [
    "minIf(time, is_exposure) AS first_time",
    "argMinIf(value, time, is_exposure) AS first_value",
    "minIf(value, is_exposure) != maxIf(value, is_exposure) AS mixed",
]
"""Per identity: first exposure time and value, and whether it saw more than one value."""


def sum_column(index: int) -> str:
    """The result column holding the sum of metric ``index``'s per-identity values."""
    return f"m{index}_sum"


def sum_sq_column(index: int) -> str:
    """The result column holding the sum of squares of metric ``index``'s values."""
    return f"m{index}_sum_sq"


def _select(columns: list[str]) -> str:
    return ",\n    ".join(columns)


@dataclass(frozen=True)
class _Plan:
    """Where one metric finds its events: its matcher and, for sum/mean, its number's slot."""

    metric: MetricSpec
    matcher: int
    slot: int | None


class _Common:
    """The parts both queries share: range, exposure test, time column, status."""

    def __init__(self, spec: ExperimentSpec) -> None:
        if spec.end_ms - spec.start_ms >= MAX_RANGE_MS:
            raise ValueError("the analysed range must be shorter than 34 years")
        self.spec = spec
        self.params = Params()

    def where(self, events: str) -> str:
        start = self.params.bind(self.spec.start_ms, "Int64")
        end = self.params.bind(self.spec.end_ms, "Int64")
        return (
            f"environment_key = {self.params.bind(self.spec.environment_key, 'String')}\n"
            f"      AND {events}\n"
            f"      AND timestamp >= fromUnixTimestamp64Milli({start}, 'UTC')\n"
            f"      AND timestamp <= fromUnixTimestamp64Milli({end}, 'UTC')"
        )

    def is_exposure(self) -> str:
        event = self.params.bind(self.spec.exposure_event, "String")
        flag = self.params.bind(self.spec.feature_name, "String")
        return f"event = {event} AND feature_name = {flag}"

    def time(self) -> str:
        """Milliseconds since the range's start: small enough to share a lane with matchers."""
        start = self.params.bind(self.spec.start_ms, "Int64")
        return f"toUnixTimestamp64Milli(timestamp) - {start} AS time"

    def status(self) -> str:
        """Quarantined if it saw two values, else assigned if its value is a variant key."""
        variants = self.params.bind(list(self.spec.variant_keys), "Array(String)")
        return (
            f"multiIf(mixed, '{QUARANTINED}', has({variants}, first_value), '{ASSIGNED}', "
            f"'{UNKNOWN_VARIANT}')"
        )


class _ResultsQuery(_Common):
    """Assembles the results query's parts; see the module docstring."""

    def __init__(self, spec: ExperimentSpec) -> None:
        super().__init__(spec)
        self.props = PropertyReads(self.params)
        self.filters = FilterCompiler(self.params, self.props)
        self.matchers: list[str] = []
        self._matcher_keys: dict[str, int] = {}
        self._slots: dict[str, list[str | None]] = {}
        self.plans = [self._plan(m) for m in spec.metrics]
        self.numbers = self._slot_numbers()
        self.packing = Packing(len(self.matchers), len(self.numbers))

    def _plan(self, metric: MetricSpec) -> _Plan:
        definition = metric.definition
        needs_number = metric.aggregation in (Aggregation.SUM, Aggregation.MEAN)
        slot = self._slot(definition.event, definition.value) if needs_number else None
        return _Plan(metric, self._matcher(definition.event, definition.filters), slot)

    def _matcher(self, event: str, filters: list[Filter]) -> int:
        key = json.dumps([event, [f.to_json() for f in filters]])
        if key not in self._matcher_keys:
            self._matcher_keys[key] = len(self.matchers)
            parts = [f"event = {self.params.bind(event, 'String')}"]
            parts += [f"({self.filters.predicate(f)})" for f in filters]
            self.matchers.append(" AND ".join(parts))
        return self._matcher_keys[key]

    def _slot(self, event: str, prop: str | None) -> int:
        """Numbers travel in slots per event: a row carries only its own event's numbers."""
        props = self._slots.setdefault(event, [])
        if prop not in props:
            props.append(prop)
        return props.index(prop)

    def _slot_numbers(self) -> list[str]:
        """Per slot k, the row's number: the k-th value source of the row's own event.

        ``multiIf`` evaluates only the branch of the row's event, so a property is parsed
        only on the rows of the events whose metrics use it.
        """
        slots = max((len(props) for props in self._slots.values()), default=0)
        numbers = []
        for k in range(slots):
            branches = []
            for event, props in self._slots.items():
                if k < len(props):
                    number = VALUE_NUMBER if props[k] is None else self.props.number(props[k])
                    branches += [f"event = {self.params.bind(event, 'String')}", number]
            numbers.append(f"multiIf({', '.join(branches)}, nan)")
        return numbers

    def row_columns(self) -> list[str]:
        columns = ["identifier", "value", self.time(), f"{self.is_exposure()} AS is_exposure"]
        if not self.plans:
            return columns
        flags = [f"match_{k}" for k in range(len(self.matchers))]
        numbers = [f"number_{k}" for k in range(len(self.numbers))]
        words = self.packing.row_words(self.packing.row_lanes("time", flags, numbers))
        return [
            *columns,
            *self.props.columns(),
            *(f"{sql} AS {flag}" for sql, flag in zip(self.matchers, flags, strict=True)),
            *(f"{sql} AS {name}" for sql, name in zip(self.numbers, numbers, strict=True)),
            *(f"{word} AS word_{j}" for j, word in enumerate(words)),
            " OR ".join(flags) + " AS matched",
        ]

    def identity_columns(self) -> list[str]:
        arrays = [
            f"groupArrayIf(word_{j}, matched) AS ev_word_{j}" for j in range(self.packing.words)
        ]
        return ["identifier", *FIRST_TOUCH, *(arrays if self.plans else [])]

    def classified_columns(self) -> list[str]:
        columns = [
            f"{self.status()} AS status",
            f"if(status = '{ASSIGNED}', first_value, '') AS variant",
        ]
        if not self.plans:
            return columns
        return [*columns, *self._unpacked(), *(self._value(i, p) for i, p in enumerate(self.plans))]

    def _unpacked(self) -> list[str]:
        """Each lane once as a plain array: ``ev_time``, ``ev_lane_k``, ``ev_number_s``."""

        def lane_array(lane: int) -> str:
            return self.packing.unpack_lane(lane, f"ev_word_{lane // LANES_PER_WORD}")

        columns = [f"{lane_array(k)} AS ev_lane_{k}" for k in range(self.packing.mask_lanes)]
        columns.append(f"arrayMap(l -> bitShiftRight(l, {TIME_SHIFT}), ev_lane_0) AS ev_time")
        columns += [
            f"arrayMap(l -> reinterpretAsFloat64(l), {lane_array(self.packing.slot_lane(s))}) "
            f"AS ev_number_{s}"
            for s in range(self.packing.slots)
        ]
        return columns

    def _value(self, index: int, plan: _Plan) -> str:
        """One identity's number for the metric, as ``v_{index}``.

        In the lambdas ``t`` is an event's time, ``m`` the lane holding the metric's matcher
        bit and ``x`` the event's number (NaN when it has none).
        """
        where = self.packing.matcher_bit(plan.matcher)
        arrays = f"ev_time, ev_lane_{where.lane}"
        counted = f"bitTest(m, {where.bit}) AND t >= first_time"
        window = plan.metric.definition.window
        if window is not None:
            hours = self.params.bind(window.hours * HOUR_MS, "Int64")
            counted += f" AND t <= first_time + {hours}"
        aggregation = plan.metric.aggregation
        if aggregation is Aggregation.COUNT:
            return f"arrayCount((t, m) -> {counted}, {arrays}) AS v_{index}"
        if aggregation is Aggregation.OCCURRENCE:
            return f"toUInt8(arrayExists((t, m) -> {counted}, {arrays})) AS v_{index}"
        arrays += f", ev_number_{plan.slot}"
        counted += " AND NOT isNaN(x)"
        total = f"arraySum((t, m, x) -> if({counted}, x, 0.), {arrays})"
        if aggregation is Aggregation.SUM:
            return f"{total} AS v_{index}"
        count = f"arrayCount((t, m, x) -> {counted}, {arrays})"
        return (
            f"{total} AS total_{index}, {count} AS n_{index}, "
            f"if(n_{index} = 0, 0., total_{index} / n_{index}) AS v_{index}"
        )

    def outer_columns(self) -> list[str]:
        columns = ["status", "variant", "count() AS n"]
        for i in range(len(self.plans)):
            columns += [
                f"sum(v_{i}) AS {sum_column(i)}",
                f"sum(v_{i} * v_{i}) AS {sum_sq_column(i)}",
            ]
        return columns

    def sql(self) -> str:
        spec = self.spec
        events = sorted({spec.exposure_event, *(m.definition.event for m in spec.metrics)})
        in_events = f"event IN {self.params.bind(events, 'Array(String)')}"
        return f"""WITH
event_rows AS (
    SELECT
    {_select(self.row_columns())}
    FROM events
    WHERE {self.where(in_events)}
),
per_identity AS (
    SELECT
    {_select(self.identity_columns())}
    FROM event_rows
    GROUP BY identifier
    HAVING max(is_exposure)
),
classified AS (
    SELECT
    {_select(self.classified_columns())}
    FROM per_identity
)
SELECT
    {_select(self.outer_columns())}
FROM classified
GROUP BY status, variant
ORDER BY status, variant"""


def build_results_query(spec: ExperimentSpec) -> tuple[str, dict[str, object]]:
    """The SQL and parameters computing exposures and every metric's sufficient statistics.

    One row per (status, variant): ``status``, ``variant`` (empty unless assigned), ``n``
    and, for metric i of ``spec.metrics``, ``m{i}_sum`` and ``m{i}_sum_sq``.
    """
    query = _ResultsQuery(spec)
    return query.sql(), query.params.values


def build_exposure_timeline_query(spec: ExperimentSpec) -> tuple[str, dict[str, object]]:
    """Per UTC day and variant, how many assigned identities were first exposed that day.

    Rows: ``day`` (Date), ``variant``, ``identities``; quarantined identities and unknown
    variants are left out, as in the results query.
    """
    query = _Common(spec)
    start = query.params.bind(spec.start_ms, "Int64")
    sql = f"""WITH
per_identity AS (
    SELECT
    {_select(["identifier", *FIRST_TOUCH])}
    FROM (
        SELECT identifier, value, {query.time()}, 1 AS is_exposure
        FROM events
        WHERE {query.where(query.is_exposure())}
    )
    GROUP BY identifier
)
SELECT
    toDate(fromUnixTimestamp64Milli(first_time + {start}, 'UTC')) AS day,
    first_value AS variant,
    count() AS identities
FROM per_identity
WHERE {query.status()} = '{ASSIGNED}'
GROUP BY day, variant
ORDER BY day, variant"""
    return sql, query.params.values
