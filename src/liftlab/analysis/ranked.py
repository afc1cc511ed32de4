"""The parts of the results query that rank values: quantile metrics and percentile caps.

Both need exact order statistics: x_(k) of n sorted values, k = max(1, ceil(n·level)) (at
most n). ClickHouse sorts the values in arrays (``arraySort``), so only the order statistics
and a few sums leave it, never the values.

- A **quantile** metric ranks per variant: ``per_variant`` sorts the arm's values (each
  identity's total, or every counted event's number) and reads the estimate and the order
  statistics bounding its interval; for event-level quantiles it keeps each identity's events
  apart, to count per identity the events at or below the estimate (the clustered variance).
- A **percentile cap** ranks all variants together, so it is computed where the variants meet:
  beside the exposure counts, whose few rows (one per status and variant) get every arm's
  numbers by a window function. The per-variant sums of capped numbers follow, a select
  above, from each arm's array of per-identity numbers. Identities without a row in
  ``per_identity`` are counted, not listed: each of them has the number 0.
"""

from __future__ import annotations

from liftlab.analysis.sql import column

Z = 1.959963984540054
"""Φ⁻¹(0.975): a quantile's 95 % interval is bounded by the order statistics at q ∓ z·se."""
EDGE = 1e-8
"""Interval levels are clipped to [EDGE, 1 − EDGE]."""


def rank(n: str, level: str) -> str:
    """The k of x_(k) at ``level`` among ``n`` values: max(1, ceil(n·level)), at most n."""
    return f"least({n}, greatest(1, toUInt64(ceil({n} * {level}))))"


def _interval_level(q: str, n: str, sign: str) -> str:
    spread = f"{Z!r} * sqrt({q} * (1 - {q}) / {n})"
    return f"least(greatest({q} {sign} {spread}, {EDGE!r}), 1 - {EDGE!r})"


ORDER_FIELDS = ("n", "quantile", "lower", "upper")
"""The ``QuantileMoments`` fields every quantile metric fills."""
CLUSTER_FIELDS = ("clusters", "below_sum", "below_sum_sq", "events_sum_sq", "below_events_sum")
"""The fields an event-level quantile adds: its values are clustered by identity."""


def order_columns(index: int, q: str, values: str) -> list[str]:
    """``per_variant`` columns of a quantile metric over an aggregate of the arm's ``values``:
    n, the estimate x_(k) at ``q`` and the order statistics bounding its interval."""
    ranked, n = f"ranked_{index}", column(index, "quantile", "n")
    columns = [f"arraySort({values}) AS {ranked}", f"length({ranked}) AS {n}"]
    columns.append(f"{ranked}[{rank(n, q)}] AS {column(index, 'quantile', 'quantile')}")
    for field, sign in (("lower", "-"), ("upper", "+")):
        level = _interval_level(q, n, sign)
        columns.append(f"{ranked}[{rank(n, level)}] AS {column(index, 'quantile', field)}")
    return columns


def event_quantile(index: int, q: str, clusters: str) -> list[str]:
    """``per_variant`` columns of an event-level quantile; ``clusters`` aggregates the arm's
    identities' arrays of numbers (of those with at least one)."""
    name = f"clusters_{index}"
    return [
        f"{clusters} AS {name}",
        *order_columns(index, q, f"arrayFlatten({name})"),
        *_cluster_columns(index, name, column(index, "quantile", "quantile")),
    ]


def _cluster_columns(index: int, clusters: str, estimate: str) -> list[str]:
    """Per identity b = its events at or below the estimate, e = its events: Σb, Σb², Σe², Σbe."""
    below = f"below_{index}"

    def name(field: str) -> str:
        return column(index, "quantile", field)

    return [
        f"length({clusters}) AS {name('clusters')}",
        f"arrayMap(e -> arrayCount(v -> v <= {estimate}, e), {clusters}) AS {below}",
        f"arraySum({below}) AS {name('below_sum')}",
        f"arraySum(b -> b * b, {below}) AS {name('below_sum_sq')}",
        f"arraySum(e -> length(e) * length(e), {clusters}) AS {name('events_sum_sq')}",
        f"arraySum((b, e) -> b * length(e), {below}, {clusters}) AS {name('below_events_sum')}",
    ]


def percentile_cap(index: int, level: str, values: str, identities: str, over: str) -> list[str]:
    """Columns beside the exposure counts computing ``m{index}_cap``: x_(k) of every assigned
    identity's number, all variants together, k = max(1, ceil(N·level)).

    ``values`` is the row's arm's array of per-identity tuples (the number first);
    ``identities`` the number N of assigned identities; ``over`` the window of the rows that
    rank together (all of them, or one slice's). The N − (listed) identities missing from the
    arrays are zeros: they rank after the negative numbers.
    """
    ranked, zeros, k = f"cap_ranked_{index}", f"cap_zeros_{index}", f"cap_rank_{index}"
    negative = f"arrayCount(v -> v < 0, {ranked})"
    return [
        f"arraySort(groupArrayArray(arrayMap(t -> toFloat64(t.1), {values})) {over}) AS {ranked}",
        f"{identities} - length({ranked}) AS {zeros}",
        f"{rank(identities, level)} AS {k}",
        f"multiIf({k} <= {negative}, {ranked}[{k}], {k} <= {negative} + {zeros}, 0., "
        f"{ranked}[{k} - {zeros}]) AS {column(index, 'cap')}",
    ]


def capped_sum(values: str, factors: list[tuple[int, bool]], cap: str, missing: str) -> str:
    """Σ over the arm's identities of a product of their numbers, the capped ones capped.

    ``factors``: (position in the tuple, capped?) for each factor; the ``missing`` identities
    (no row, every number 0) add min(0, cap) to a capped factor. ``cap`` must be a column of
    the select below, not an alias of the same one (see ``query.ResultsQuery._results``).
    """
    product = " * ".join(
        f"least(toFloat64(t.{position}), {cap})" if capped else f"t.{position}"
        for position, capped in factors
    )
    total = f"arraySum(t -> {product}, {values})"
    if not all(capped for _, capped in factors):
        return total
    zero = " * ".join(f"least(0., {cap})" for _ in factors)
    return f"{total} + {missing} * {zero}"
