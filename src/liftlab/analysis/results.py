"""What the results query returns, read back into small frozen values.

``ResultStats`` holds sufficient statistics only (per variant and metric: n, sum, sum of
squares of the per-identity values, and the sums and order statistics a covariate, a ratio,
a cap or a quantile adds), which is all ``liftlab.stats`` needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from liftlab.analysis import query
from liftlab.analysis.definition import CapType
from liftlab.analysis.query import (
    ASSIGNED,
    MOMENTS,
    QUARANTINED,
    UNKNOWN_VARIANT,
    build_results_query,
    moment_groups,
    quantile_fields,
)
from liftlab.analysis.spec import ExperimentSpec, MetricSpec
from liftlab.analysis.sql import column


class Table(Protocol):
    """A query result as the event store returns it (``liftlab.eventstore.QueryResult``)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclass(frozen=True)
class CrossMoments:
    """A second per-identity number y beside the metric's x: Σy, Σy² and Σxy."""

    sum: float
    sum_sq: float
    cross: float


@dataclass(frozen=True)
class RatioCovariate:
    """What a regression-adjusted ratio adds: the pre-period denominator d' (Σd', Σd'²) and
    the cross products of the pre-period numerator m' and d' with the post-period m and d."""

    denominator_pre_sum: float
    denominator_pre_sum_sq: float
    numerator_pre_denominator_pre: float
    numerator_denominator_pre: float
    numerator_pre_denominator: float
    denominator_denominator_pre: float


@dataclass(frozen=True)
class QuantileMoments:
    """A quantile metric in one arm: the ``n`` values ranked, the estimate and the order
    statistics bounding it (gbstats' quantile statistic), plus, for event-level quantiles, the
    per-identity counts the clustered variance needs (``clusters`` identities; per identity b
    = events at or below the estimate, e = events: Σb, Σb², Σe², Σbe; Σe is ``n``)."""

    n: int
    quantile: float
    lower: float
    upper: float
    clusters: int = 0
    below_sum: float = 0.0
    below_sum_sq: float = 0.0
    events_sum_sq: float = 0.0
    below_events_sum: float = 0.0


@dataclass(frozen=True)
class Moments:
    """Sufficient statistics of one metric in one variant.

    ``n`` assigned identities; Σx and Σx² of their numbers x (a ratio's numerator; after the
    cap, when the metric has one). The optional parts are present where the metric needs them:
    ``covariate`` (CUPED: the pre-period x' as Σx', Σx'², Σxx'), ``denominator`` (a ratio's
    d: Σd, Σd², Σxd), ``ratio_covariate`` (a regression-adjusted ratio), ``quantile``, and
    ``cap`` (the cap applied, the same in every variant).
    """

    n: int
    sum: float
    sum_sq: float
    covariate: CrossMoments | None = None
    denominator: CrossMoments | None = None
    ratio_covariate: RatioCovariate | None = None
    quantile: QuantileMoments | None = None
    cap: float | None = None


@dataclass(frozen=True)
class ExposureCounts:
    """Exposed identities: per variant (every key present), quarantined, unknown variant."""

    variants: dict[str, int]
    quarantined: int
    unknown_variant: int

    @property
    def total(self) -> int:
        """Every exposed identity, whether assigned, quarantined or of an unknown variant."""
        return sum(self.variants.values()) + self.quarantined + self.unknown_variant


@dataclass(frozen=True)
class ResultStats:
    """Exposures, and per metric key and variant key the metric's ``Moments``."""

    exposures: ExposureCounts
    metrics: dict[str, dict[str, Moments]]


@dataclass(frozen=True)
class TimelinePoint:
    """``identities`` of ``variant`` had their first exposure on ``day`` (UTC)."""

    day: date
    variant: str
    identities: int


Run = Callable[[str, Mapping[str, object]], Table]
"""Runs SQL with bound parameters: ``EventStore.query`` (analysis never imports the store)."""


def _records(table: Table) -> list[dict[str, Any]]:
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


_PARTS: dict[str, type[CrossMoments | RatioCovariate]] = {
    "covariate": CrossMoments,
    "denominator": CrossMoments,
    "ratio_covariate": RatioCovariate,
}
"""The ``Moments`` field each group of ``query.MOMENTS`` fills, and its type."""
_COUNTS = frozenset({"n", "clusters"})
"""The ``QuantileMoments`` fields that count."""


def read_results(spec: ExperimentSpec, table: Table) -> ResultStats:
    """Turn the rows of ``build_results_query(spec)`` into ``ResultStats``.

    Variants nobody was assigned to are present with n = 0 and zero sums; the optional parts
    of ``Moments`` are filled for the metrics that have them, in every variant.
    """
    return read_records(spec, _records(table))


def read_sliced(
    spec: ExperimentSpec, table: Table, keys: Sequence[str]
) -> dict[tuple[Any, ...], ResultStats]:
    """Turn the rows of a query over slices (each row led by ``keys``) into ``ResultStats``
    per slice present in the rows, keyed by the slice's key values."""
    slices: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in _records(table):
        slices.setdefault(tuple(record[k] for k in keys), []).append(record)
    return {key: read_records(spec, records) for key, records in slices.items()}


def read_records(spec: ExperimentSpec, records: list[dict[str, Any]]) -> ResultStats:
    """The ``ResultStats`` of one set of (status, variant) rows (``read_results``)."""
    by_status: dict[str, int] = {QUARANTINED: 0, UNKNOWN_VARIANT: 0}
    assigned: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["status"] == ASSIGNED:
            assigned[record["variant"]] = record
        else:
            by_status[record["status"]] += int(record["n"])

    exposures = ExposureCounts(
        variants={v: int(assigned[v]["n"]) if v in assigned else 0 for v in spec.variant_keys},
        quarantined=by_status[QUARANTINED],
        unknown_variant=by_status[UNKNOWN_VARIANT],
    )
    metrics = {}
    for i, metric in enumerate(spec.metrics):
        cap = _cap(i, metric, list(assigned.values()))
        metrics[metric.key] = {
            v: _moments(i, metric, assigned.get(v), cap) for v in spec.variant_keys
        }
    return ResultStats(exposures=exposures, metrics=metrics)


def _moments(
    index: int, metric: MetricSpec, record: dict[str, Any] | None, cap: float | None
) -> Moments:
    """Metric ``index``'s moments in the variant of ``record`` (None: nobody assigned)."""

    def read(*names: str) -> float:
        return 0.0 if record is None else float(record[column(index, *names)])

    def group(name: str) -> dict[str, float]:
        return {field: read(name, field) for field in MOMENTS[name]}

    parts: dict[str, object] = {
        name: _PARTS[name](**group(name)) for name in moment_groups(metric) if name
    }
    fields = quantile_fields(metric)
    if fields:
        parts["quantile"] = _quantile({f: read("quantile", f) for f in fields})
    return Moments(0 if record is None else int(record["n"]), **group(""), **parts, cap=cap)


def _quantile(values: dict[str, float]) -> QuantileMoments:
    """An arm without values has no estimate: its order statistics are NaN."""
    if not values["n"]:
        return QuantileMoments(0, math.nan, math.nan, math.nan)
    return QuantileMoments(**{f: int(v) if f in _COUNTS else v for f, v in values.items()})


def _cap(index: int, metric: MetricSpec, assigned: list[dict[str, Any]]) -> float | None:
    """The cap applied: an absolute cap's value, or the percentile cap the query found (every
    row carries it); None without a cap, or without any assigned identity to rank."""
    cap = metric.cap
    if cap is None or cap.type is CapType.ABSOLUTE:
        return None if cap is None else cap.value
    if not any(int(record["n"]) for record in assigned):
        return None
    return float(assigned[0][column(index, "cap")])


def collisions(table: Table) -> int:
    """Identities whose hashed key another identifier shares, per the query's own check."""
    return sum(int(record["collisions"]) for record in _records(table))


Build = Callable[[ExperimentSpec, query.IdentityKey], tuple[str, dict[str, object]]]
"""A query builder taking the identity key: ``build_results_query`` and its like."""


def run_without_collisions(spec: ExperimentSpec, build: Build, run: Run) -> Table:
    """Run ``build``'s query with hashed identities, again with exact ones if they collide.

    The hashed query is exact unless two identifiers share its 64-bit key (about one chance
    in 10^8 for a million exposed identities); it then says so, and the identifier-keyed
    query, slower but free of hashing, answers instead.
    """
    table = run(*build(spec, query.HASHED))
    if collisions(table):
        table = run(*build(spec, query.EXACT))
    return table


def query_results(spec: ExperimentSpec, run: Run) -> ResultStats:
    """Compute ``spec``'s results through ``run``: hashed identities, exact if they collide."""
    return read_results(spec, run_without_collisions(spec, build_results_query, run))


def read_exposure_timeline(table: Table) -> list[TimelinePoint]:
    """Turn the rows of ``build_exposure_timeline_query`` into points, by day then variant."""
    return [
        TimelinePoint(day=r["day"], variant=r["variant"], identities=int(r["identities"]))
        for r in _records(table)
    ]
