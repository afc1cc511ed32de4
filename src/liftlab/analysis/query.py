"""The results query: every metric of an experiment in one query, each row read once.

The query is built from named parts that read like the method (docs/metrics.md):

1. ``assignment``: the flag's exposures grouped by identity: first-touch time and variant,
   whether it saw more than one value, and its status (assigned, quarantined, unknown variant).
2. ``metric_rows``: the environment's metric events in the analysed range. Each row carries
   the flag of every *matcher* (a distinct event name + filters) and the number of every
   *value source* (the ``value`` column or a property) its metrics use, each read once.
3. ``per_identity``: the metric rows joined to the assigned identities and grouped by
   identity: per metric, a conditional aggregate over the events at or after the identity's
   first exposure (and within the metric's window).
4. ``per_variant``: n, Σx and Σx² per metric and variant; the outer query puts them beside
   the exposure counts. Nothing per identity leaves ClickHouse.

Identities are joined and grouped by a 64-bit hash of the identifier, which is what makes the
join cheap (docs/metrics.md, "Why a hashed join"). A second, independent hash travels with
it: if two identifiers ever share the first hash, the query reports it in ``collisions`` and
``liftlab.analysis.results.query_results`` runs the exact query (keyed by the identifier).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from liftlab.analysis.definition import Aggregation
from liftlab.analysis.filters import Filter
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.analysis.sql import VALUE_NUMBER, FilterCompiler, Params, PropertyReads

ASSIGNED = "assigned"
QUARANTINED = "quarantined"
UNKNOWN_VARIANT = "unknown_variant"
HOUR_MS = 3_600_000


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
    """Where one metric finds its events: its matcher column and, for sum/mean, its number's."""

    metric: MetricSpec
    matcher: str
    number: str | None


class _Common:
    """The parts every query over an experiment shares: rows in range, the assignment."""

    def __init__(self, spec: ExperimentSpec, identity: IdentityKey) -> None:
        self.spec = spec
        self.identity = identity
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

    def identity_columns(self) -> list[str]:
        return [f"{self.identity.key} AS key", f"{self.identity.check} AS check"]

    def assignment(self) -> str:
        """Per exposed identity: first exposure, its value, status, the index of its variant
        (``arm``, 0 unless assigned) and whether its key collides."""
        event = self.params.bind(self.spec.exposure_event, "String")
        flag = self.params.bind(self.spec.feature_name, "String")
        variants = self.variants()
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
    min(check) != max(check) AS collided
    FROM (
        SELECT {", ".join(self.identity_columns())}, value,
               toUnixTimestamp64Milli(timestamp) AS time
        FROM events
        WHERE {self.where(f"event = {event} AND feature_name = {flag}")}
    )
    GROUP BY key
)"""

    def variants(self) -> str:
        return self.params.bind(list(self.spec.variant_keys), "Array(String)")


class _ResultsQuery(_Common):
    """Assembles the results query's parts; see the module docstring."""

    def __init__(self, spec: ExperimentSpec, identity: IdentityKey) -> None:
        super().__init__(spec, identity)
        self.props = PropertyReads(self.params)
        self.filters = FilterCompiler(self.params, self.props)
        self.matchers: dict[str, str] = {}
        self.numbers: dict[tuple[str, str | None], str] = {}
        self._columns: list[str] = []
        self.plans = [self._plan(m) for m in spec.metrics]

    def _plan(self, metric: MetricSpec) -> _Plan:
        definition = metric.definition
        number = None
        if metric.aggregation in (Aggregation.SUM, Aggregation.MEAN):
            number = self._number(definition.event, definition.value)
        return _Plan(metric, self._matcher(definition.event, definition.filters), number)

    def _matcher(self, event: str, filters: list[Filter]) -> str:
        key = json.dumps([event, [f.to_json() for f in filters]])
        if key not in self.matchers:
            name = self.matchers[key] = f"match_{len(self.matchers)}"
            parts = [f"event = {self.params.bind(event, 'String')}"]
            parts += [f"({self.filters.predicate(f)})" for f in filters]
            self._columns.append(f"{' AND '.join(parts)} AS {name}")
        return self.matchers[key]

    def _number(self, event: str, prop: str | None) -> str:
        """A value source of one event: computed only on that event's rows (``if`` is lazy)."""
        if (event, prop) not in self.numbers:
            name = self.numbers[event, prop] = f"number_{len(self.numbers)}"
            number = VALUE_NUMBER if prop is None else self.props.number(prop)
            event_is = f"event = {self.params.bind(event, 'String')}"
            self._columns.append(f"if({event_is}, {number}, nan) AS {name}")
        return self.numbers[event, prop]

    def metric_rows(self) -> str:
        events = sorted({m.definition.event for m in self.spec.metrics})
        in_events = f"event IN {self.params.bind(events, 'Array(String)')}"
        columns = [
            *self.identity_columns(),
            "toUnixTimestamp64Milli(timestamp) AS time",
            *self.props.columns(),
            *self._columns,
        ]
        return f"""metric_rows AS (
    SELECT
    {_select(columns)}
    FROM events
    WHERE {self.where(in_events)}
)"""

    def _value(self, index: int, plan: _Plan) -> str:
        """One identity's number for the metric, as ``v_{index}``."""
        counted = plan.matcher
        window = plan.metric.definition.window
        if window is not None:
            hours = self.params.bind(window.hours * HOUR_MS, "Int64")
            counted += f" AND time <= first_time + {hours}"
        aggregation = plan.metric.aggregation
        if aggregation is Aggregation.COUNT:
            return f"countIf({counted}) AS v_{index}"
        if aggregation is Aggregation.OCCURRENCE:
            return f"toUInt8(max({counted})) AS v_{index}"
        counted += f" AND NOT isNaN({plan.number})"
        total = f"sumIf({plan.number}, {counted})"
        if aggregation is Aggregation.SUM:
            return f"{total} AS v_{index}"
        return (
            f"{total} AS total_{index}, countIf({counted}) AS n_{index}, "
            f"if(n_{index} = 0, 0., total_{index} / n_{index}) AS v_{index}"
        )

    def per_identity(self) -> str:
        """Metric rows of assigned identities from their first exposure on, per identity.

        The join drops everyone else's rows, the ``WHERE`` the rows before the first
        exposure, so the grouping sees only rows some metric may count.
        """
        values = [self._value(i, plan) for i, plan in enumerate(self.plans)]
        return f"""per_identity AS (
    SELECT
    any(arm) AS arm,
    max(check != identity_check) AS collided,
    {_select(values)}
    FROM metric_rows
    INNER JOIN (
        SELECT key, identity_check, first_time, arm
        FROM assignment
        WHERE status = '{ASSIGNED}'
    ) AS assigned ON metric_rows.key = assigned.key
    WHERE time >= first_time
    GROUP BY metric_rows.key
)"""

    def per_variant(self) -> str:
        columns = ["arm", "sum(collided) AS collisions"]
        for i in range(len(self.plans)):
            columns += [
                f"sum(v_{i}) AS {sum_column(i)}",
                f"sum(v_{i} * v_{i}) AS {sum_sq_column(i)}",
            ]
        return f"""per_variant AS (
    SELECT
    {_select(columns)}
    FROM per_identity
    GROUP BY arm
)"""

    def exposures(self) -> str:
        """Identities per status and variant, with the variant's arm to join metrics on."""
        return f"""exposures AS (
    SELECT
    status,
    if(status = '{ASSIGNED}', first_value, '') AS variant,
    arm,
    count() AS n,
    sum(collided) AS collided
    FROM assignment
    GROUP BY status, variant, arm
)"""

    def sql(self) -> str:
        parts = [self.assignment(), self.exposures()]
        if not self.plans:
            return _with(parts) + _OUTER.format(columns="", join="", collisions="collided")
        parts += [self.metric_rows(), self.per_identity(), self.per_variant()]
        columns = "".join(
            f",\n    ifNull(per_variant.{name}, 0) AS {name}"
            for i in range(len(self.plans))
            for name in (sum_column(i), sum_sq_column(i))
        )
        return _with(parts) + _OUTER.format(
            columns=columns,
            join="LEFT JOIN per_variant ON exposures.arm = per_variant.arm\n",
            collisions="collided + ifNull(per_variant.collisions, 0)",
        )


def _with(parts: list[str]) -> str:
    return "WITH\n" + ",\n".join(parts) + "\n"


_OUTER = """SELECT
    status,
    variant,
    n,
    {collisions} AS collisions{columns}
FROM exposures
{join}ORDER BY status, variant"""


def build_results_query(
    spec: ExperimentSpec, identity: IdentityKey = HASHED
) -> tuple[str, dict[str, object]]:
    """The SQL and parameters computing exposures and every metric's sufficient statistics.

    One row per (status, variant): ``status``, ``variant`` (empty unless assigned), ``n``,
    ``collisions`` (identities whose key another identifier shares; see ``IdentityKey``)
    and, for metric i of ``spec.metrics``, ``m{i}_sum`` and ``m{i}_sum_sq``.
    """
    query = _ResultsQuery(spec, identity)
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
