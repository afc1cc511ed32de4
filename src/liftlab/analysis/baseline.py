"""A metric's baseline from the event store: its per-identity mean and variance, and traffic.

What an experiment over the last ``days`` would have seen had every identity active then (any
event of the environment) been exposed at its first event: each identity's number of the
metric counted from that event on (within the metric's window, after an absolute or percentile
cap), their mean and variance, and per UTC day how many identities were active and how many
were first seen. Identities of an experiment enter once, so the traffic to plan with is the
active identities over the days (``Baseline.daily_traffic``), not the day's active count.

One query, its values all bound parameters, built from the results query's parts (``sql``'s
``Params``, ``PropertyReads`` and ``FilterCompiler``, ``ranked``'s percentile cap): the event
store scans the window, groups by identity and returns one row. Identities are keyed by the
64-bit hash of the identifier, and by the identifier itself if two of them ever share it,
as in the results query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from liftlab.analysis import arms, ranked
from liftlab.analysis.definition import CapType, MetricType
from liftlab.analysis.query import EXACT, HASHED, IdentityKey
from liftlab.analysis.results import CrossMoments, Moments, Run, Table, collisions
from liftlab.analysis.spec import MetricSpec, Part
from liftlab.analysis.sql import (
    VALUE_NUMBER,
    FilterCompiler,
    Params,
    PropertyReads,
    column,
    identity_number,
)

DEFAULT_DAYS = 28
MAX_DAYS = 365


class BaselineUnsupported(ValueError):
    """A metric whose identities do not each have a number (quantiles) has no such baseline."""


@dataclass(frozen=True)
class Window:
    """The ``days`` before ``end`` (inclusive of both ends, to the millisecond)."""

    end: datetime
    days: int = DEFAULT_DAYS

    def __post_init__(self) -> None:
        if self.end.tzinfo is None:
            raise ValueError("end must be a timezone-aware datetime")
        if not 1 <= self.days <= MAX_DAYS:
            raise ValueError(f"days must be between 1 and {MAX_DAYS}")

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    @property
    def start_ms(self) -> int:
        return self.end_ms - self.days * 86_400_000

    @classmethod
    def until_now(cls, days: int = DEFAULT_DAYS) -> Window:
        return cls(datetime.now(UTC), days)


@dataclass(frozen=True)
class DailyActivity:
    """On ``day`` (UTC): identities with any event, and those whose first event it was."""

    day: date
    active: int
    first_seen: int


@dataclass(frozen=True)
class Baseline:
    """A metric over the window's active identities, with the traffic they came as.

    ``mean`` and ``variance`` are per identity (a rate and p(1 − p) for a conversion; the
    delta method's variance of the linearised ratio for a ratio), nan with fewer than two
    identities; ``moments`` are the sums they come from; ``cap`` the cap applied, if any.
    """

    metric_type: MetricType
    days: int
    identities: int
    mean: float
    variance: float
    moments: Moments
    daily: tuple[DailyActivity, ...]
    cap: float | None = None

    @property
    def daily_traffic(self) -> float:
        """The identities an experiment of ``days`` days would enrol per day."""
        return self.identities / self.days


def _check(metric: MetricSpec) -> None:
    if metric.metric_type is MetricType.QUANTILE:
        raise BaselineUnsupported(
            "a quantile metric has no per-identity mean and variance to plan with: "
            "not supported for baseline"
        )


def _lines(items: Sequence[str], indent: str = "    ") -> str:
    return f",\n{indent}".join(items)


class _BaselineQuery:
    """Assembles the query's parts: activity, metric rows, per identity, the one result row."""

    def __init__(self, environment_key: str, metric: MetricSpec, window: Window, key: IdentityKey):
        self.metric = metric
        self.identity = key
        self.params = Params()
        self.props = PropertyReads(self.params)
        self.filters = FilterCompiler(self.params, self.props)
        self.environment = self.params.bind(environment_key, "String")
        self.start = self.params.bind(window.start_ms, "Int64")
        self.end = self.params.bind(window.end_ms, "Int64")
        self.columns: list[str] = []
        self.numbers = [self._number(i, part) for i, part in enumerate(metric.parts)]

    def where(self, extra: str = "") -> str:
        return (
            f"environment_key = {self.environment}{extra}\n"
            f"      AND timestamp >= fromUnixTimestamp64Milli({self.start}, 'UTC')\n"
            f"      AND timestamp <= fromUnixTimestamp64Milli({self.end}, 'UTC')"
        )

    def _number(self, index: int, part: Part) -> str:
        """The part's per-identity number; its row columns (match, value) go to ``columns``."""
        event = f"event = {self.params.bind(part.event, 'String')}"
        matched = " AND ".join([event, *(f"({self.filters.predicate(f)})" for f in part.filters)])
        self.columns.append(f"{matched} AS match_{index}")
        value = VALUE_NUMBER if part.value is None else self.props.number(part.value)
        self.columns.append(f"if({event}, ifNull({value}, nan), nan) AS number_{index}")
        counted = f"match_{index}"
        if self.metric.window_hours is not None:
            hours = self.params.bind(self.metric.window_hours * 3_600_000, "Int64")
            counted += f" AND time <= first_time + {hours}"
        number = identity_number(part.aggregation, counted, f"number_{index}")
        cap = self.metric.cap
        if index == 0 and cap is not None and cap.type is CapType.ABSOLUTE:
            number = f"least(toFloat64({number}), {self.params.bind(cap.value, 'Float64')})"
        return number

    def activity(self) -> str:
        """Every identity with an event in the window: its first, the days it was active."""
        return f"""activity AS (
    SELECT
    key,
    min(time) AS first_time,
    min(day) AS first_day,
    groupUniqArray(day) AS days,
    any(check) AS identity_check,
    min(check) != max(check) AS collided
    FROM (
        SELECT {self.identity.key} AS key, {self.identity.check} AS check,
               toUnixTimestamp64Milli(timestamp) AS time, toDate(timestamp) AS day
        FROM events
        WHERE {self.where()}
    )
    GROUP BY key
)"""

    def metric_rows(self) -> str:
        events = sorted({part.event for part in self.metric.parts})
        columns = [
            f"{self.identity.key} AS key",
            f"{self.identity.check} AS check",
            "toUnixTimestamp64Milli(timestamp) AS time",
            *self.props.columns(),
            *self.columns,
        ]
        in_events = f" AND event IN {self.params.bind(events, 'Array(String)')}"
        return f"""metric_rows AS (
    SELECT
    {_lines(columns)}
    FROM events
    WHERE {self.where(in_events)}
)"""

    def per_identity(self) -> str:
        numbers = [f"{number} AS {name}" for number, name in zip(self.numbers, "xd", strict=False)]
        return f"""per_identity AS (
    SELECT
    max(check != identity_check) AS collided,
    {_lines(numbers)}
    FROM metric_rows
    INNER JOIN (SELECT key, identity_check, first_time FROM activity) AS active
        ON metric_rows.key = active.key
    GROUP BY metric_rows.key
)"""

    def traffic(self) -> str:
        return """traffic AS (
    SELECT groupArray(day) AS day, groupArray(active) AS active,
           groupArray(first_seen) AS first_seen
    FROM (
        SELECT day, count() AS active, countIf(day = first_day) AS first_seen
        FROM activity ARRAY JOIN days AS day
        GROUP BY day
        ORDER BY day
    )
)"""

    def factors(self) -> list[tuple[str, tuple[str, ...]]]:
        """Each sum the moments need: its name and the numbers it multiplies."""
        sums = [("sum", ("x",)), ("sum_sq", ("x", "x"))]
        if self.metric.denominator is not None:
            sums += [("d_sum", ("d",)), ("d_sum_sq", ("d", "d")), ("cross", ("x", "d"))]
        return sums

    @property
    def percentile(self) -> bool:
        return self.metric.cap is not None and self.metric.cap.type is CapType.PERCENTILE

    def sums(self) -> str:
        """The sums over identities with a metric row; the others all have the number 0.

        Under a percentile cap the numbers are kept instead: the cap ranks every active
        identity, zeros included, and the capped numbers are summed a level above it, as in
        the results query (``ranked``).
        """
        if self.percentile:
            numbers = ", ".join("xd"[: len(self.numbers)])
            columns = [f"groupArray(tuple({numbers})) AS values"]
        else:
            columns = [f"sum({' * '.join(f)}) AS {name}" for name, f in self.factors()]
        return f"""sums AS (
    SELECT sum(collided) AS collided, {", ".join(columns)}
    FROM per_identity
)"""

    def _results(self) -> tuple[str, list[str]]:
        """The source of the sums and the result columns read from it."""
        names = [name for name, _ in self.factors()]
        if not self.percentile:
            return "sums", [f"sums.{name} AS {name}" for name in names] + ["nan AS cap"]
        level = self.params.bind(self.metric.cap.value, "Float64")  # type: ignore[union-attr]
        cap = ranked.percentile_cap(0, level, "values", "identities", "OVER ()")
        source = f"""(
    SELECT collided, values, {", ".join(cap)}
    FROM sums CROSS JOIN counts
) AS sums"""
        missing = "(identities - length(values))"
        position = {"x": (1, True), "d": (2, False)}
        results = [
            ranked.capped_sum("values", [position[n] for n in f], column(0, "cap"), missing)
            + f" AS {name}"
            for name, f in self.factors()
        ]
        return source, [*results, f"{column(0, 'cap')} AS cap"]

    def sql(self) -> str:
        parts = [self.activity(), self.metric_rows(), self.per_identity(), self.traffic()]
        parts += [
            "counts AS (SELECT count() AS identities, sum(collided) AS collided FROM activity)",
            self.sums(),
        ]
        source, results = self._results()
        columns = [
            "identities",
            "counts.collided + sums.collided AS collisions",
            *results,
            "traffic.day AS day",
            "traffic.active AS active",
            "traffic.first_seen AS first_seen",
        ]
        return f"""WITH
{_lines(parts, indent="")}
SELECT
    {_lines(columns)}
FROM counts CROSS JOIN {source} CROSS JOIN traffic"""


def build_baseline_query(
    environment_key: str, metric: MetricSpec, window: Window, identity: IdentityKey = HASHED
) -> tuple[str, dict[str, object]]:
    """The SQL and parameters of ``metric``'s baseline in the environment over ``window``.

    One row: ``identities`` (active in the window), ``collisions`` (see ``query.IdentityKey``),
    the sums ``sum`` and ``sum_sq`` of the identities' numbers (a ratio's numerator) and for a
    ratio ``d_sum``, ``d_sum_sq`` and ``cross`` of its denominator; ``cap`` (the percentile
    cap applied, nan otherwise); ``day``, ``active`` and ``first_seen``, arrays by UTC day.
    """
    _check(metric)
    query = _BaselineQuery(environment_key, metric, window, identity)
    return query.sql(), query.params.values


def read_baseline(metric: MetricSpec, window: Window, table: Table) -> Baseline:
    """Turn the row of ``build_baseline_query`` into a ``Baseline``."""
    (row,) = table.rows
    record = dict(zip(table.columns, row, strict=True))
    n = int(record["identities"])
    denominator = None
    if metric.denominator is not None:
        denominator = CrossMoments(
            float(record["d_sum"]), float(record["d_sum_sq"]), float(record["cross"])
        )
    moments = Moments(n, float(record["sum"]), float(record["sum_sq"]), denominator=denominator)
    summary = arms.arm(metric.metric_type, [moments])
    cap = None if metric.cap is None or not n else float(record["cap"])
    if metric.cap is not None and metric.cap.type is CapType.ABSOLUTE:
        cap = metric.cap.value
    daily = tuple(
        DailyActivity(day, int(active), int(first))
        for day, active, first in zip(
            record["day"], record["active"], record["first_seen"], strict=True
        )
    )
    return Baseline(
        metric_type=metric.metric_type,
        days=window.days,
        identities=n,
        mean=float(summary.mean[0]),
        variance=float(summary.variance[0]),
        moments=moments,
        daily=daily,
        cap=cap,
    )


def query_baseline(
    environment_key: str, metric: MetricSpec, run: Run, window: Window | None = None
) -> Baseline:
    """The baseline through ``run`` (``EventStore.query``); the identifier-keyed query
    answers instead if two identifiers share a hash."""
    window = window or Window.until_now()
    table = run(*build_baseline_query(environment_key, metric, window, HASHED))
    if collisions(table):
        table = run(*build_baseline_query(environment_key, metric, window, EXACT))
    return read_baseline(metric, window, table)
