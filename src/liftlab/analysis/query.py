"""The results query: every metric of an experiment in one query, each row read once.

The query is built from named parts that read like the method (docs/metrics.md):

1. ``assignment``: the flag's exposures grouped by identity: first-touch time and variant,
   whether it saw more than one value, and its status (assigned, quarantined, unknown variant).
2. ``metric_rows``: the environment's metric events in the analysed range (from the longest
   lookback before its start). Each row carries the flag of every *matcher* (a distinct event
   name + filters) and the number of every *value source* (the ``value`` column or a property)
   its metrics use, each read once.
3. ``per_identity``: the metric rows joined to the assigned identities and grouped by
   identity: per metric, conditional aggregates over the events at or after the identity's
   first exposure (and within the metric's window): its number x, a ratio's denominator d,
   and with a lookback the same numbers over the days before the first exposure (x', d').
4. ``per_variant``: n and the sums of products of those numbers (Σx, Σx², Σxx', …) per metric
   and variant, the order statistics of quantile metrics (``ranked``); the outer query puts
   them beside the exposure counts and computes percentile caps across the variants. Nothing
   per identity leaves ClickHouse.

Identities are joined and grouped by a 64-bit hash of the identifier, which is what makes the
join cheap (docs/metrics.md, "Why a hashed join"). A second, independent hash travels with
it: if two identifiers ever share the first hash, the query reports it in ``collisions`` and
``liftlab.analysis.results.query_results`` runs the exact query (keyed by the identifier).

The same parts, with a slice key added to ``exposures`` and ``per_variant``
(``ResultsQuery.keys`` and its hooks), compute the results of every day
(``liftlab.analysis.timeline``) and of every breakdown segment
(``liftlab.analysis.segments``), each in one query too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from liftlab.analysis import ranked
from liftlab.analysis.definition import Aggregation, CapType, QuantileLevel
from liftlab.analysis.filters import Filter
from liftlab.analysis.spec import ExperimentSpec, MetricSpec, Part
from liftlab.analysis.sql import (
    VALUE_NUMBER,
    FilterCompiler,
    Params,
    PropertyReads,
    column,
    identity_number,
)

ASSIGNED = "assigned"
QUARANTINED = "quarantined"
UNKNOWN_VARIANT = "unknown_variant"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

NUMBERS = {"x": (0, False), "x_pre": (0, True), "d": (1, False), "d_pre": (1, True)}
"""An identity's numbers of a metric: (part, pre-period?). Part 0 is the metric's number (a
ratio's numerator), part 1 a ratio's denominator; the pre-period is the lookback before the
first exposure."""
CAPPED = frozenset({"x", "x_pre"})
"""A cap applies to the metric's number and to its covariate, never to a denominator."""

MOMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "": {"sum": ("x",), "sum_sq": ("x", "x")},
    "covariate": {"sum": ("x_pre",), "sum_sq": ("x_pre", "x_pre"), "cross": ("x", "x_pre")},
    "denominator": {"sum": ("d",), "sum_sq": ("d", "d"), "cross": ("x", "d")},
    "ratio_covariate": {
        "denominator_pre_sum": ("d_pre",),
        "denominator_pre_sum_sq": ("d_pre", "d_pre"),
        "numerator_pre_denominator_pre": ("x_pre", "d_pre"),
        "numerator_denominator_pre": ("x", "d_pre"),
        "numerator_pre_denominator": ("x_pre", "d"),
        "denominator_denominator_pre": ("d", "d_pre"),
    },
}
"""The sums per variant, by group (a part of ``results.Moments``) and field: each is Σ over the
variant's identities of the product of the listed numbers. Column ``m{i}_{group}_{field}``
(``m{i}_sum`` for the plain group ``""``)."""


def moment_groups(metric: MetricSpec) -> tuple[str, ...]:
    """The groups of ``MOMENTS`` a metric needs: always its own sums, a covariate with a
    lookback, a denominator for a ratio, and both cross-period parts for an adjusted ratio."""
    adjusted = metric.lookback_days is not None
    ratio = metric.denominator is not None
    wanted = {"": True, "covariate": adjusted, "denominator": ratio}
    wanted["ratio_covariate"] = adjusted and ratio
    return tuple(group for group, needed in wanted.items() if needed)


def is_percentile_capped(metric: MetricSpec) -> bool:
    """A percentile cap is read from the experiment's data, in the query."""
    return metric.cap is not None and metric.cap.type is CapType.PERCENTILE


@dataclass(frozen=True)
class IdentityKey:
    """How the query tells identities apart: a join/group ``key`` and an independent ``check``.

    Rows whose keys are equal but whose checks differ belong to two identities that share a
    key: the query counts them as collisions.
    """

    key: str
    check: str


HASHED = IdentityKey("cityHash64(identifier)", "xxh3(identifier)")
"""The fast key: two identifiers sharing both 64-bit hashes are never expected."""

EXACT = IdentityKey("identifier", "toUInt64(0)")
"""The identifier itself: no collision possible, about 1.5× slower on large experiments."""


def select_list(columns: list[str]) -> str:
    return ",\n    ".join(columns)


@dataclass(frozen=True)
class PartSource:
    """Where one part of a metric finds its events: its matcher column and, for a part that
    reads numbers, its value source's column."""

    part: Part
    matcher: str
    number: str | None


@dataclass(frozen=True)
class Plan:
    """One metric of the query: its position, its parts' sources and the numbers it needs."""

    index: int
    metric: MetricSpec
    sources: tuple[PartSource, ...]

    @property
    def numbers(self) -> list[str]:
        """The per-identity numbers its sums multiply, in ``NUMBERS`` order."""
        used = {n for g in moment_groups(self.metric) for f in MOMENTS[g].values() for n in f}
        return [name for name in NUMBERS if name in used]

    def number(self, name: str) -> str:
        return f"{name}_{self.index}"


class _Common:
    """The parts every query over an experiment shares: rows in range, the assignment."""

    def __init__(self, spec: ExperimentSpec, identity: IdentityKey) -> None:
        self.spec = spec
        self.identity = identity
        self.params = Params()

    def where(self, events: str, start_ms: int | None = None) -> str:
        """The environment's rows of ``events`` from ``start_ms`` (the experiment's start) to
        its end."""
        first = self.spec.start_ms if start_ms is None else start_ms
        start = self.params.bind(first, "Int64")
        end = self.params.bind(self.spec.end_ms, "Int64")
        return (
            f"environment_key = {self.params.bind(self.spec.environment_key, 'String')}\n"
            f"      AND {events}\n"
            f"      AND timestamp >= fromUnixTimestamp64Milli({start}, 'UTC')\n"
            f"      AND timestamp <= fromUnixTimestamp64Milli({end}, 'UTC')"
        )

    def identity_columns(self) -> list[str]:
        return [f"{self.identity.key} AS key", f"{self.identity.check} AS check"]

    def assignment_columns(self) -> list[str]:
        """What a query over slices adds to each identity's assignment (none here)."""
        return []

    def exposure_columns(self) -> list[str]:
        """What a query over slices reads from each exposure row (none here)."""
        return []

    def assignment(self) -> str:
        """Per exposed identity: first exposure, its value, status, the index of its variant
        (``arm``, 0 unless assigned) and whether its key collides."""
        event = self.params.bind(self.spec.exposure_event, "String")
        flag = self.params.bind(self.spec.feature_name, "String")
        variants = self.variants()
        extra = "".join(f",\n    {c}" for c in self.assignment_columns())
        reads = "".join(f", {c}" for c in self.exposure_columns())
        return f"""assignment AS (
    SELECT
    key,
    min(time) AS first_time,
    argMin(value, time) AS first_value,
    min(value) != max(value) AS mixed,
    multiIf(mixed, '{QUARANTINED}', has({variants}, first_value), '{ASSIGNED}',
            '{UNKNOWN_VARIANT}') AS status,
    if(status = '{ASSIGNED}', indexOf({variants}, first_value), 0) AS arm,
    any(check) AS identity_check,
    min(check) != max(check) AS collided{extra}
    FROM (
        SELECT {", ".join(self.identity_columns())}, value,
               toUnixTimestamp64Milli(timestamp) AS time{reads}
        FROM events
        WHERE {self.where(f"event = {event} AND feature_name = {flag}")}
    )
    GROUP BY key
)"""

    def variants(self) -> str:
        return self.params.bind(list(self.spec.variant_keys), "Array(String)")


class ResultsQuery(_Common):
    """Assembles the results query's parts; see the module docstring.

    ``keys`` are the columns a query over slices (``timeline``, ``segments``) adds to the
    grouping of ``exposures`` and ``per_variant``: each slice gets its own rows, arms and
    percentile caps. The plain query has none.
    """

    keys: tuple[str, ...] = ()

    def __init__(self, spec: ExperimentSpec, identity: IdentityKey) -> None:
        super().__init__(spec, identity)
        self.props = PropertyReads(self.params)
        self.filters = FilterCompiler(self.params, self.props)
        self.matchers: dict[str, str] = {}
        self.value_sources: dict[tuple[str, str | None], str] = {}
        self._columns: list[str] = []
        self.plans = [self._plan(i, m) for i, m in enumerate(spec.metrics)]
        self.percentile = any(is_percentile_capped(p.metric) for p in self.plans)
        # A percentile cap or a quantile ranks every identity's numbers; without one, a slice
        # needs only the sums of its identities' products, which may be summed in groups.
        self.ranks = self.percentile or any(p.metric.quantile for p in self.plans)

    def _plan(self, index: int, metric: MetricSpec) -> Plan:
        return Plan(index, metric, tuple(self._source(part) for part in metric.parts))

    def _source(self, part: Part) -> PartSource:
        number = None
        if part.aggregation in (Aggregation.SUM, Aggregation.MEAN):
            number = self._value_source(part.event, part.value)
        return PartSource(part, self._matcher(part.event, part.filters), number)

    def _matcher(self, event: str, filters: tuple[Filter, ...]) -> str:
        key = json.dumps([event, [f.to_json() for f in filters]])
        if key not in self.matchers:
            name = self.matchers[key] = f"match_{len(self.matchers)}"
            parts = [f"event = {self.params.bind(event, 'String')}"]
            parts += [f"({self.filters.predicate(f)})" for f in filters]
            self._columns.append(f"{' AND '.join(parts)} AS {name}")
        return self.matchers[key]

    def _value_source(self, event: str, prop: str | None) -> str:
        """A value source of one event: computed only on that event's rows (``if`` is lazy).

        NaN, never NULL, where there is no number, so that every per-identity number is a
        plain (not Nullable) number: ranked and capped, an identity's 0 must stay a 0.
        """
        if (event, prop) not in self.value_sources:
            name = self.value_sources[event, prop] = f"number_{len(self.value_sources)}"
            number = VALUE_NUMBER if prop is None else self.props.number(prop)
            event_is = f"event = {self.params.bind(event, 'String')}"
            self._columns.append(f"if({event_is}, ifNull({number}, nan), nan) AS {name}")
        return self.value_sources[event, prop]

    def row_columns(self) -> list[str]:
        """What a query over slices adds to each metric row (none here)."""
        return []

    def metric_rows(self) -> str:
        events = sorted({part.event for m in self.spec.metrics for part in m.parts})
        in_events = f"event IN {self.params.bind(events, 'Array(String)')}"
        columns = [
            *self.identity_columns(),
            "toUnixTimestamp64Milli(timestamp) AS time",
            *self.row_columns(),
            *self.props.columns(),
            *self._columns,
        ]
        start = self.spec.start_ms - self.spec.lookback_ms
        return f"""metric_rows AS (
    SELECT
    {select_list(columns)}
    FROM events
    WHERE {self.where(in_events, start)}
)"""

    def _period(self, metric: MetricSpec, pre: bool) -> str:
        """The rows of the identity's period: from the first exposure to the window's end, or
        the lookback's days before the first exposure."""
        if pre:
            lookback = self.params.bind(metric.lookback_days * DAY_MS, "Int64")  # type: ignore[operator]
            return f" AND time < first_time AND time >= first_time - {lookback}"
        period = " AND time >= first_time" if self.spec.lookback_ms else ""
        if metric.window_hours is not None:
            hours = self.params.bind(metric.window_hours * HOUR_MS, "Int64")
            period += f" AND time <= first_time + {hours}"
        return period

    def _aggregate(self, source: PartSource, counted: str) -> str:
        """The identity's number of one part over its ``counted`` rows."""
        return identity_number(source.part.aggregation, counted, source.number)

    def _numbers(self, plan: Plan) -> list[str]:
        """The identity's numbers of the metric (``x_{i}``, …), then what its quantile ranks."""
        return [self._number(plan, name) for name in plan.numbers] + self._quantile_values(plan)

    def _number(self, plan: Plan, name: str) -> str:
        """One number of the identity, ``x_{i}`` say; an absolute cap is applied here."""
        part, pre = NUMBERS[name]
        source = plan.sources[part]
        value = self._aggregate(source, source.matcher + self._period(plan.metric, pre))
        return f"{self.absolute_cap(plan, name, value)} AS {plan.number(name)}"

    def absolute_cap(self, plan: Plan, name: str, value: str) -> str:
        """``value`` capped when the metric has an absolute cap and the number is capped."""
        cap = plan.metric.cap
        if name in CAPPED and cap is not None and cap.type is CapType.ABSOLUTE:
            return f"least(toFloat64({value}), {self.params.bind(cap.value, 'Float64')})"
        return value

    def _quantile_values(self, plan: Plan) -> list[str]:
        """What a quantile metric ranks, per identity: how many numbers it has (identity level,
        beside its total ``x``) or the numbers themselves (event level)."""
        quantile = plan.metric.quantile
        if quantile is None:
            return []
        source = plan.sources[0]
        period = self._period(plan.metric, False)
        counted = f"{source.matcher}{period} AND NOT isNaN({source.number})"
        return [self.ranked_values(quantile.level, source.number, counted, plan.index)]

    def ranked_values(self, level: QuantileLevel, number: str, counted: str, index: int) -> str:
        """``counted_{index}`` (identity level) or ``events_{index}`` (event level)."""
        if level is QuantileLevel.IDENTITY:
            return f"countIf({counted}) AS counted_{index}"
        return f"groupArrayIf({number}, {counted}) AS events_{index}"

    def per_identity(self) -> str:
        """Metric rows of assigned identities from their first exposure (less the longest
        lookback) on, per identity.

        The join drops everyone else's rows, the ``WHERE`` the rows before that, so the
        grouping sees only rows some metric may count.
        """
        numbers = [column for plan in self.plans for column in self._numbers(plan)]
        carried = [f"any({name}) AS {name}" for name in ("arm", *self.carried())]
        since = "first_time"
        if self.spec.lookback_ms:
            since += f" - {self.params.bind(self.spec.lookback_ms, 'Int64')}"
        return f"""per_identity AS (
    SELECT
    {select_list(carried)},
    max(check != identity_check) AS collided,
    {select_list(numbers)}
    FROM metric_rows
    INNER JOIN (
        {self.assigned()}
    ) AS assigned ON metric_rows.key = assigned.key
    WHERE time >= {since}
    GROUP BY metric_rows.key
)"""

    def carried(self) -> dict[str, str]:
        """What ``per_identity`` keeps of each identity beside its arm, by name: the
        expression over ``assignment`` (none here)."""
        return {}

    def counted(self) -> tuple[str, str]:
        """Which identities' metric rows count, and their arm: the assigned ones."""
        return f"status = '{ASSIGNED}'", "arm"

    def assigned(self) -> str:
        """The identities whose metric rows count, with what ``per_identity`` keeps."""
        where, arm = self.counted()
        kept = "".join(f", {expression} AS {name}" for name, expression in self.carried().items())
        return (
            f"SELECT key, identity_check, first_time, {arm} AS arm{kept}\n"
            f"        FROM assignment WHERE {where}"
        )

    def _sums(self, plan: Plan) -> list[str]:
        """Per variant: the metric's sums, or, under a percentile cap (known only once every
        variant is grouped), the identities' numbers to sum once it is."""
        if is_percentile_capped(plan.metric):
            numbers = ", ".join(plan.number(name) for name in plan.numbers)
            return [f"groupArray(tuple({numbers})) AS values_{plan.index}"]
        return [
            f"sum({' * '.join(plan.number(name) for name in factors)}) AS {name}"
            for name, factors in products(plan.index, plan.metric)
        ]

    def _ranked(self, plan: Plan) -> list[str]:
        quantile = plan.metric.quantile
        if quantile is None:
            return []
        q, i = self.params.bind(quantile.q, "Float64"), plan.index
        if quantile.level is QuantileLevel.IDENTITY:
            return ranked.order_columns(i, q, f"groupArrayIf(x_{i}, counted_{i} > 0)")
        return ranked.event_quantile(i, q, f"groupArrayIf(events_{i}, notEmpty(events_{i}))")

    def slices(self) -> str:
        """What ``per_variant`` groups: an identity's numbers, in each slice it belongs to."""
        return "per_identity"

    def expansions(self) -> list[str]:
        """Parts between ``per_identity`` and ``per_variant`` (none here)."""
        return []

    def per_variant(self) -> str:
        grouped = [*self.keys, "arm"]
        columns = [*grouped, "sum(collided) AS collisions"]
        if self.percentile:
            columns.append("count() AS rows")
        for plan in self.plans:
            columns += self._sums(plan) + self._ranked(plan)
        return f"""per_variant AS (
    SELECT
    {select_list(columns)}
    FROM {self.slices()}
    GROUP BY {", ".join(grouped)}
)"""

    def shown(self) -> list[str]:
        """How the result rows name their slice: its keys themselves."""
        return list(self.keys)

    def window(self) -> str:
        """The window over one slice's rows beside the exposure counts."""
        if not self.keys:
            return "OVER ()"
        return f"OVER (PARTITION BY {', '.join(self.keys)})"

    def exposed(self) -> str:
        """What ``exposures`` counts: each identity, in each slice it belongs to."""
        return "assignment"

    def exposures(self) -> str:
        """Identities per status and variant, with the variant's arm to join metrics on."""
        grouped = ", ".join([*self.keys, "status", "variant", "arm"])
        return f"""exposures AS (
    SELECT
    {"".join(f"{k}, " for k in self.keys)}status,
    if(status = '{ASSIGNED}', first_value, '') AS variant,
    arm,
    count() AS n,
    sum(collided) AS collided
    FROM {self.exposed()}
    GROUP BY {grouped}
)"""

    def _combined(self, plan: Plan) -> list[str]:
        """The metric's columns beside the exposure counts; a percentile cap is found here,
        by window functions over these few rows, with the arm's numbers to cap."""
        passed = [column(plan.index, "quantile", f) for f in quantile_fields(plan.metric)]
        computed = []
        if is_percentile_capped(plan.metric):
            i = plan.index
            level = self.params.bind(plan.metric.cap.value, "Float64")  # type: ignore[union-attr]
            values = f"per_variant.values_{i}"
            computed = ranked.percentile_cap(i, level, values, "identities", self.window())
            computed.append(f"per_variant.values_{i} AS values_{i}")
        else:
            passed += [name for name, _ in products(plan.index, plan.metric)]
        return computed + [f"ifNull(per_variant.{name}, 0) AS {name}" for name in passed]

    def _results(self, plan: Plan) -> list[str]:
        """The metric's result columns; a percentile-capped metric's sums are computed here,
        a level above its cap: an alias in the same select would be inlined into every
        ``arraySum`` lambda, which then recomputes the cap per element (measured 10× slower)."""
        names = result_columns(plan.index, plan.metric)
        if not is_percentile_capped(plan.metric):
            return names
        i = plan.index
        position = {name: k for k, name in enumerate(plan.numbers, start=1)}
        sums = []
        for name, factors in products(i, plan.metric):
            product = [(position[number], number in CAPPED) for number in factors]
            total = ranked.capped_sum(f"values_{i}", product, column(i, "cap"), "missing")
            sums.append(f"{total} AS {name}")
        return sums + names[len(sums) :]

    def head(self) -> list[str]:
        """The parts before the exposure counts: the assignment."""
        return [self.assignment()]

    def sql(self) -> str:
        parts = [*self.head(), self.exposures()]
        if not self.plans:
            return _with(parts) + _outer(self.keys, self.shown(), "collided", [], [], "")
        parts += [self.metric_rows(), self.per_identity(), *self.expansions(), self.per_variant()]
        combined = [column for plan in self.plans for column in self._combined(plan)]
        if self.percentile:
            combined[:0] = [
                f"sum(if(status = '{ASSIGNED}', n, 0)) {self.window()} AS identities",
                f"if(status = '{ASSIGNED}', n - ifNull(per_variant.rows, 0), 0) AS missing",
            ]
        results = [column for plan in self.plans for column in self._results(plan)]
        joined = " AND ".join(f"exposures.{k} = per_variant.{k}" for k in (*self.keys, "arm"))
        return _with(parts) + _outer(
            self.keys,
            self.shown(),
            "collided + ifNull(per_variant.collisions, 0)",
            combined,
            results,
            f"LEFT JOIN per_variant ON {joined}",
        )


def products(index: int, metric: MetricSpec) -> list[tuple[str, tuple[str, ...]]]:
    """Each of the metric's sums: its result column and the numbers it multiplies."""
    return [
        (column(index, group, field), factors)
        for group in moment_groups(metric)
        for field, factors in MOMENTS[group].items()
    ]


def quantile_fields(metric: MetricSpec) -> tuple[str, ...]:
    """The ``QuantileMoments`` fields a quantile metric's columns hold (none for the others)."""
    quantile = metric.quantile
    if quantile is None:
        return ()
    if quantile.level is QuantileLevel.IDENTITY:
        return ranked.ORDER_FIELDS
    return ranked.ORDER_FIELDS + ranked.CLUSTER_FIELDS


def result_columns(index: int, metric: MetricSpec) -> list[str]:
    """The result columns of metric ``index``: its sums, then its cap and quantile columns."""
    names = [name for name, _ in products(index, metric)]
    if is_percentile_capped(metric):
        names.append(column(index, "cap"))
    return names + [column(index, "quantile", f) for f in quantile_fields(metric)]


def _with(parts: list[str]) -> str:
    return "WITH\n" + ",\n".join(parts) + "\n"


def _outer(
    keys: tuple[str, ...],
    shown: list[str],
    collisions: str,
    combined: list[str],
    results: list[str],
    join: str,
) -> str:
    """The result rows: exposures per slice (``keys``, returned as ``shown``), status and
    variant, each beside its arm's metrics.

    The inner select may hold window columns over all its rows (a percentile cap ranks every
    variant's values); the outer one keeps only the result columns.
    """
    inner = "".join(f",\n        {c}" for c in combined)
    outer = "".join(f",\n    {name}" for name in results)
    sliced = "".join(f"{k},\n    " for k in shown)
    qualified = "".join(f"exposures.{k} AS {k},\n        " for k in keys)
    return f"""SELECT
    {sliced}status,
    variant,
    n,
    collisions{outer}
FROM (
    SELECT
        {qualified}status,
        variant,
        n,
        {collisions} AS collisions{inner}
    FROM exposures
    {join}
)
ORDER BY {"".join(f"{k}, " for k in keys)}status, variant"""


def build_results_query(
    spec: ExperimentSpec, identity: IdentityKey = HASHED
) -> tuple[str, dict[str, object]]:
    """The SQL and parameters computing exposures and every metric's sufficient statistics.

    One row per (status, variant): ``status``, ``variant`` (empty unless assigned), ``n``,
    ``collisions`` (identities whose key another identifier shares; see ``IdentityKey``)
    and, for metric i of ``spec.metrics``, ``result_columns(i, metric)``: ``m{i}_sum`` and
    ``m{i}_sum_sq``, the other ``MOMENTS`` groups it needs, ``m{i}_cap`` under a percentile
    cap and ``m{i}_quantile_{field}`` for a quantile.
    """
    query = ResultsQuery(spec, identity)
    return query.sql(), query.params.values


def build_exposure_timeline_query(
    spec: ExperimentSpec, identity: IdentityKey = EXACT
) -> tuple[str, dict[str, object]]:
    """Per UTC day and variant, how many assigned identities were first exposed that day.

    Rows: ``day`` (Date), ``variant``, ``identities``; quarantined identities and unknown
    variants are left out, as in the results query. Exposures alone are small, so the exact
    key is the default here.
    """
    query = _Common(spec, identity)
    sql = f"""WITH
{query.assignment()}
SELECT
    toDate(fromUnixTimestamp64Milli(first_time, 'UTC')) AS day,
    first_value AS variant,
    count() AS identities
FROM assignment
WHERE status = '{ASSIGNED}'
GROUP BY day, variant
ORDER BY day, variant"""
    return sql, query.params.values
