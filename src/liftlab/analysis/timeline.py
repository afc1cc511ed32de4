"""Results over time: each UTC day's results as they stood at its end, all days in one query.

Day d's *cutoff* is the end of the d-th UTC day from the start's day (the last one is the
experiment's end); its results are exactly what the results query returns with ``end`` at that
cutoff. The query is the results query (``query.ResultsQuery``) with the day as a slice key:

1. ``assignment`` adds, per identity, the day of its first exposure and ``until_day``: the day
   its exposures first show a second value (it is quarantined from then on), or the number of
   days. Before that day it is assigned (or of an unknown variant), with its first value.
2. ``exposures`` counts, per day, the identities exposed by then, each with its status on
   that day (grouped first by first day, until day and value: a few rows to expand).
3. ``per_identity`` computes each post-period number per day (``countResample`` /
   ``sumResample`` by the row's day index, over the identity's rows collected with
   ``groupArrayIf``), cumulated with ``arrayCumSum``: element d is
   the number over the rows up to cutoff d (a mean divides the cumulated sum by the cumulated
   count; an occurrence and an absolute cap apply to the cumulated numbers). Pre-period
   numbers do not depend on the cutoff (their rows precede the first exposure).
4. With a ranking metric (a percentile cap, a quantile), ``per_day`` expands each identity
   over the days it is assigned (``range(first_day, until_day)``) and picks that day's
   numbers; ``per_variant`` and the percentile caps are then the results query's, per
   (day, arm) and per day. Without one, ``arm_days`` sums per arm each identity's products
   as arrays over the days (``sumForEach``, 0 on days it is not assigned), a row per arm
   instead of one per identity and day, and ``per_variant`` is a row per day of them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from liftlab.analysis.definition import Aggregation, QuantileLevel
from liftlab.analysis.query import (
    ASSIGNED,
    DAY_MS,
    HASHED,
    NUMBERS,
    QUARANTINED,
    UNKNOWN_VARIANT,
    IdentityKey,
    PartSource,
    Plan,
    ResultsQuery,
    products,
    select_list,
)
from liftlab.analysis.results import (
    ResultStats,
    Run,
    Table,
    read_records,
    read_sliced,
    run_without_collisions,
)
from liftlab.analysis.spec import ExperimentSpec


def _first_day(spec: ExperimentSpec) -> int:
    return spec.start_ms // DAY_MS


def day_count(spec: ExperimentSpec) -> int:
    """The days of the timeline: from the start's UTC day to the end's, both included."""
    return spec.end_ms // DAY_MS - _first_day(spec) + 1


def cutoffs(spec: ExperimentSpec) -> list[tuple[date, datetime]]:
    """Each day of the timeline and its cutoff: the day's last microsecond, the end's last."""
    first = datetime.fromtimestamp(_first_day(spec) * DAY_MS / 1000, UTC)
    days = [first + timedelta(days=d) for d in range(day_count(spec))]
    ends = [day + timedelta(days=1, microseconds=-1) for day in days[:-1]] + [spec.end]
    return [(day.date(), end) for day, end in zip(days, ends, strict=True)]


class TimelineQuery(ResultsQuery):
    """The results query sliced by day; see the module docstring."""

    keys = ("day",)

    def __init__(self, spec: ExperimentSpec, identity: IdentityKey) -> None:
        super().__init__(spec, identity)
        self.days = day_count(spec)

    def _day(self, time: str) -> str:
        """The day index (0 on the start's day) of a time in milliseconds."""
        return f"intDiv({time}, {DAY_MS}) - {self.params.bind(_first_day(self.spec), 'Int64')}"

    def assignment_columns(self) -> list[str]:
        second = "arraySort(minMap([value], [time]).2)[2]"
        return [
            f"{self._day('first_time')} AS first_day",
            f"if(mixed, {self._day(second)}, {self._days()}) AS until_day",
            f"indexOf({self.variants()}, first_value) AS variant_arm",
        ]

    def _days(self) -> str:
        return self.params.bind(self.days, "Int64")

    def exposures(self) -> str:
        """Per day, the identities exposed by its cutoff, by status on that day."""
        return f"""exposures AS (
    SELECT
    day,
    multiIf(day >= until_day, '{QUARANTINED}', variant_arm > 0, '{ASSIGNED}',
            '{UNKNOWN_VARIANT}') AS status,
    if(status = '{ASSIGNED}', first_value, '') AS variant,
    if(status = '{ASSIGNED}', variant_arm, 0) AS arm,
    sum(identities) AS n,
    sum(collisions) AS collided
    FROM (
        SELECT first_day, until_day, variant_arm, first_value, count() AS identities,
               sum(collided) AS collisions
        FROM assignment
        GROUP BY first_day, until_day, variant_arm, first_value
    )
    ARRAY JOIN range(first_day, {self._days()}) AS day
    GROUP BY day, status, variant, arm
)"""

    def counted(self) -> tuple[str, str]:
        """Identities assigned at some cutoff, quarantined later or not."""
        return "variant_arm > 0 AND until_day > first_day", "variant_arm"

    def carried(self) -> dict[str, str]:
        return {"first_day": "first_day", "until_day": "until_day"}

    def row_columns(self) -> list[str]:
        return [f"{self._day('time')} AS event_day"]

    def _cumulative(self, function: str, counted: str, *numbers: str) -> str:
        """Per day, ``function`` (``count``, ``sum``) of ``numbers`` over the counted rows up
        to that day's cutoff.

        The identity's counted rows are collected (``groupArrayIf``) and bucketed by day once
        per identity (``arrayReduce`` of ``…Resample``) rather than kept as a ``-Resample``
        state of one bucket per day from the first row on: with a million identities and a
        few dozen numbers the per-day states of ``countIfResample`` are most of the query's memory
        traffic (8.0 s against 7.0 s for this query on the bench's 20 M events).
        """
        collected = [f"groupArrayIf({value}, {counted})" for value in (*numbers, "event_day")]
        per_day = f"arrayReduce('{function}Resample(0, {self.days}, 1)', {', '.join(collected)})"
        return f"arrayCumSum({per_day})"

    def _daily(self, source: PartSource, counted: str) -> str:
        """The array of a post-period number at each cutoff (``_aggregate``, day by day)."""
        aggregation = source.part.aggregation
        count = self._cumulative("count", counted)
        if aggregation is Aggregation.COUNT:
            return count
        if aggregation is Aggregation.OCCURRENCE:
            return f"arrayMap(c -> toUInt8(c > 0), {count})"
        counted += f" AND NOT isNaN({source.number})"
        total = self._cumulative("sum", counted, source.number)
        if aggregation is Aggregation.SUM:
            return total
        count = self._cumulative("count", counted)
        return f"arrayMap((s, c) -> if(c = 0, 0., s / c), {total}, {count})"

    def _number(self, plan: Plan, name: str) -> str:
        """A pre-period number as in the results query; a post-period one as ``days_x_{i}``,
        its array over the cutoffs."""
        part, pre = NUMBERS[name]
        if pre:
            return super()._number(plan, name)
        source = plan.sources[part]
        daily = self._daily(source, source.matcher + self._period(plan.metric, False))
        capped = self.absolute_cap(plan, name, "v")
        if capped != "v":
            daily = f"arrayMap(v -> {capped}, {daily})"
        return f"{daily} AS days_{plan.number(name)}"

    def ranked_values(self, level: QuantileLevel, number: str, counted: str, index: int) -> str:
        """Identity level: the cumulated count of numbers; event level: each number with its
        day, kept at the cutoffs from that day on."""
        if level is QuantileLevel.IDENTITY:
            return f"{self._cumulative('count', counted)} AS days_counted_{index}"
        return f"groupArrayIf(({number}, event_day), {counted}) AS days_events_{index}"

    def _on_day(self, plan: Plan) -> list[str]:
        """The metric's numbers of one identity on the ``day`` it is expanded to."""
        columns = [
            plan.number(name)
            if NUMBERS[name][1]
            else f"days_{plan.number(name)}[day + 1] AS {plan.number(name)}"
            for name in plan.numbers
        ]
        quantile, i = plan.metric.quantile, plan.index
        if quantile is not None and quantile.level is QuantileLevel.IDENTITY:
            columns.append(f"days_counted_{i}[day + 1] AS counted_{i}")
        elif quantile is not None:
            columns.append(
                f"arrayMap(t -> t.1, arrayFilter(t -> t.2 <= day, days_events_{i})) AS events_{i}"
            )
        return columns

    def expansions(self) -> list[str]:
        """Unless a metric ranks, the sums per arm as arrays over the days (``arm_days``);
        else every identity expanded over its days (``per_day``)."""
        if not self.ranks:
            return [self.arm_days()]
        columns = ["day", "arm", "collided"]
        columns += [column for plan in self.plans for column in self._on_day(plan)]
        return [
            f"""per_day AS (
    SELECT
    {select_list(columns)}
    FROM per_identity
    ARRAY JOIN range(first_day, until_day) AS day
)"""
        ]

    def slices(self) -> str:
        return "per_day"

    def _daily_sum(self, plan: Plan, factors: tuple[str, ...]) -> str:
        """Per day, Σ over the arm's identities assigned that day of the product of
        ``factors``: ``sumForEach`` of each identity's array of products, 0 on the days it is
        not assigned (no row per identity and day, unlike ``per_day``).

        The days outside [first_day, until_day) are cut out and filled with zeros by array
        slices (no lambda per day and product): a lambda evaluating the mask at each of the
        days of each product cost about a quarter of the query.
        """
        arrays = [f"days_{plan.number(f)}" for f in factors if not NUMBERS[f][1]]
        scalars = [plan.number(f) for f in factors if NUMBERS[f][1]]
        names = [f"v{k}" for k in range(len(arrays))]
        if not arrays:
            per_day = f"arrayWithConstant({self.days}, {' * '.join(scalars)})"
        elif len(arrays) == 1 and not scalars:
            per_day = arrays[0]
        else:
            product = " * ".join([*scalars, *names])
            per_day = f"arrayMap(({', '.join(names)}) -> {product}, {', '.join(arrays)})"
        assigned = (
            "arrayConcat(arrayWithConstant(toUInt32(first_day), 0), "
            f"arraySlice({per_day}, first_day + 1, until_day - first_day), "
            f"arrayWithConstant(toUInt32({self.days} - until_day), 0))"
        )
        return f"sumForEach({assigned})"

    def arm_days(self) -> str:
        columns = ["arm", "sum(collided) AS collisions"]
        for plan in self.plans:
            columns += [
                f"{self._daily_sum(plan, f)} AS days_{name}"
                for name, f in products(plan.index, plan.metric)
            ]
        return f"""arm_days AS (
    SELECT
    {select_list(columns)}
    FROM per_identity
    GROUP BY arm
)"""

    def per_variant(self) -> str:
        """Without ranks: each arm's arrays of sums, a row per day."""
        if self.ranks:
            return super().per_variant()
        sums = [name for plan in self.plans for name, _ in products(plan.index, plan.metric)]
        columns = [
            "day",
            "arm",
            "collisions",
            *(f"days_{name}[day + 1] AS {name}" for name in sums),
        ]
        return f"""per_variant AS (
    SELECT
    {select_list(columns)}
    FROM arm_days
    ARRAY JOIN range({self.days}) AS day
)"""


def build_timeline_query(
    spec: ExperimentSpec, identity: IdentityKey = HASHED
) -> tuple[str, dict[str, object]]:
    """The SQL and parameters of every day's results: the results query's rows
    (``build_results_query``), each led by ``day``, the day's index from the start's day."""
    query = TimelineQuery(spec, identity)
    return query.sql(), query.params.values


def read_timeline(spec: ExperimentSpec, table: Table) -> list[tuple[date, ResultStats]]:
    """Every day of ``cutoffs(spec)`` with its results; a day before any exposure has none."""
    sliced = read_sliced(spec, table, TimelineQuery.keys)
    nobody = read_records(spec, [])
    return [(day, sliced.get((d,), nobody)) for d, (day, _) in enumerate(cutoffs(spec))]


def query_timeline(spec: ExperimentSpec, run: Run) -> list[tuple[date, ResultStats]]:
    """Each UTC day's results at its cutoff (``cutoffs``), in one query through ``run``."""
    return read_timeline(spec, run_without_collisions(spec, build_timeline_query, run))
