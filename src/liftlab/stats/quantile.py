"""Quantile metrics (p50, p90 latency): the arm's sample quantile and its spread from two ranks.

A quantile has no sufficient statistics, but its sampling distribution does not need them:
the number of values at or below the true ν-quantile is Binomial(n, ν), so the order
statistics at levels ν ∓ z·√(ν(1 − ν)/n) bracket it with probability ≈ 95 %, and half their
distance over z is its standard error (the distribution-free interval of a quantile, as
GrowthBook's quantile metrics use it).
The query returns three order statistics per arm; ``quantile_levels`` and
``order_statistic_rank`` say exactly which, and the SQL builder computes the same float64
formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from liftlab.stats.ratio import RatioSummary
from liftlab.stats.summary import ArrayLike, Unadjusted, freeze, require_counts

# z_(0.975): the interval of the levels is a 95 % one, whatever the test's alpha (as GrowthBook).
_Z = float(special.ndtri(0.975))
# GrowthBook keeps the levels strictly inside (0, 1), at these bounds.
_LOWEST_LEVEL = 0.00000001
_HIGHEST_LEVEL = 0.99999999
# gbstats floors the variance of arms of 100 values or more at 1e-5 (in the metric's units²).
_FLOOR_FROM_N = 100
_VARIANCE_FLOOR = 1e-5


def quantile_levels(n: ArrayLike, nu: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The levels (ν − z·√(ν(1 − ν)/n), ν + z·√(ν(1 − ν)/n)), z = Φ⁻¹(0.975).

    Clipped to [1e-8, 0.99999999] as GrowthBook does (its ``getQuantileBoundValues``, with
    n_star = n): where the unclipped level falls outside (0, 1) the arm is too small for the
    interval and its variance is nan (``QuantileSummary.variance``).
    """
    n, nu = np.asarray(n, dtype=np.float64), np.asarray(nu, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = _Z * np.sqrt(nu * (1.0 - nu) / n)
    return np.maximum(nu - half, _LOWEST_LEVEL), np.minimum(nu + half, _HIGHEST_LEVEL)


def order_statistic_rank(n: ArrayLike, level: ArrayLike) -> np.ndarray:
    """k = max(1, ⌈n·level⌉), at most n: the 1-based rank of the value reported at ``level``.

    The k-th smallest of the n values is the smallest with at least level·n values at or
    below it (the inverse of the empirical cdf; numpy's ``method="inverted_cdf"``). n·level is
    one float64 product, rounded, then ⌈⌉: 25·0.28 is 7.000000000000001, so rank 8. 0 where n
    is 0 (there is no value). The quantile itself is the value at level ν.
    """
    n = np.asarray(n, dtype=np.float64)
    rank = np.minimum(n, np.maximum(1.0, np.ceil(n * np.asarray(level, dtype=np.float64))))
    return rank.astype(np.int64)


def _order_statistics(
    ordered: np.ndarray, n: np.ndarray, nu: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(quantile, lower, upper) of values sorted along the last axis, the first n of each row.

    A trailing nan column gives rows without values (n = 0, rank 0) something to index.
    """
    lower_level, upper_level = quantile_levels(n, nu)
    ordered = np.concatenate([ordered, np.full((*ordered.shape[:-1], 1), np.nan)], axis=-1)

    def at(level: np.ndarray) -> np.ndarray:
        rank = np.broadcast_to(order_statistic_rank(n, level), ordered.shape[:-1])
        value = np.take_along_axis(ordered, np.maximum(rank - 1, 0)[..., None], axis=-1)[..., 0]
        return np.where(rank >= 1, value, np.nan)

    return at(np.asarray(nu)), at(lower_level), at(upper_level)


@dataclass(frozen=True)
class QuantileSummary(Unadjusted):
    """The ν-quantile of an arm's n values and the order statistics at the two levels.

    As gbstats' ``QuantileStatistic`` with n_star = n: the per-identity variance is
    (n − 1)·((upper − lower)/(2z))², so variance / n ≈ ((upper − lower)/(2z))², the squared
    half-width of the interval over z; from 100 values on it is at least 1e-5, gbstats' floor.
    nan where gbstats declines to test: n < 2, a level outside (0, 1) (n ≤ z²·ν/(1 − ν) or
    n ≤ z²·(1 − ν)/ν), or bounds that collapsed (upper ≤ lower: ties left no interval).
    """

    n: np.ndarray
    nu: np.ndarray
    quantile: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def __post_init__(self) -> None:
        freeze(self, *self.__dataclass_fields__)
        require_counts(self.n)
        if not np.all((self.nu > 0) & (self.nu < 1)):
            raise ValueError("the quantile level nu must lie strictly between 0 and 1")
        if np.any(self.lower > self.upper):
            raise ValueError("the lower order statistic must not exceed the upper one")

    @classmethod
    def of(
        cls, n: ArrayLike, nu: ArrayLike, quantile: ArrayLike, lower: ArrayLike, upper: ArrayLike
    ) -> QuantileSummary:
        """Build from scalars, lists or arrays (broadcast to one shape)."""
        return cls(n, nu, quantile, lower, upper)

    @classmethod
    def from_values(cls, values: ArrayLike, nu: float, axis: int = -1) -> QuantileSummary:
        """Summarise raw per-identity values along ``axis`` (for notebooks and tests)."""
        ordered = np.sort(np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1), axis=-1)
        n = np.full(ordered.shape[:-1], float(ordered.shape[-1]))
        return cls(n, nu, *_order_statistics(ordered, n, nu))

    @property
    def shape(self) -> tuple[int, ...]:
        return self.n.shape

    @property
    def mean(self) -> np.ndarray:
        """The sample quantile (what a test compares); nan where n == 0."""
        return np.where(self.n > 0, self.quantile, np.nan)

    @property
    def mean_rounding(self) -> np.ndarray:
        """An order statistic is one of the values, not a sum: it carries no rounding."""
        return np.zeros(self.shape)

    @property
    def spread_variance(self) -> np.ndarray:
        """gbstats' ``variance_init`` with n_star = n: (n − 1)·((upper − lower)/(2z))²."""
        return (self.n - 1.0) * ((self.upper - self.lower) / (2.0 * _Z)) ** 2

    @property
    def variance(self) -> np.ndarray:
        variance = self.spread_variance
        floored = np.where(self.n >= _FLOOR_FROM_N, np.maximum(variance, _VARIANCE_FLOOR), variance)
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = (self.n > _Z**2 * self.nu / (1.0 - self.nu)) & (
                self.n > _Z**2 * (1.0 - self.nu) / self.nu
            )
        return np.where((self.n >= 2) & inside & (variance > 0), floored, np.nan)


@dataclass(frozen=True)
class ClusteredQuantileSummary(QuantileSummary):
    """The ν-quantile of an arm's n events, which come in clusters: the identities.

    Events of one identity are alike, so they are not n independent values and the iid
    variance is too small. As gbstats' ``QuantileClusteredStatistic``: the share of events at
    or below the estimate, Σs/Σe over the identities (s its events at or below, e all its
    events), is a ratio whose delta-method variance V_c replaces the binomial ν(1 − ν)/n, so
    the variance is the iid one times V_c/(ν(1 − ν)/n). Its fields beyond the quantile's:
    ``clusters`` (identities), ``below_sum`` = Σs, ``below_sum_sq`` = Σs², ``events_sum_sq``
    = Σe², ``below_events_sum`` = Σs·e; Σe is n.
    """

    clusters: np.ndarray
    below_sum: np.ndarray
    below_sum_sq: np.ndarray
    events_sum_sq: np.ndarray
    below_events_sum: np.ndarray

    def __post_init__(self) -> None:
        super().__post_init__()
        require_counts(self.clusters, "clusters")

    @classmethod
    def of(  # type: ignore[override]
        cls,
        n: ArrayLike,
        nu: ArrayLike,
        quantile: ArrayLike,
        lower: ArrayLike,
        upper: ArrayLike,
        clusters: ArrayLike,
        below_sum: ArrayLike,
        below_sum_sq: ArrayLike,
        events_sum_sq: ArrayLike,
        below_events_sum: ArrayLike,
    ) -> ClusteredQuantileSummary:
        """Build from scalars, lists or arrays (broadcast to one shape)."""
        return cls(
            n,
            nu,
            quantile,
            lower,
            upper,
            clusters,
            below_sum,
            below_sum_sq,
            events_sum_sq,
            below_events_sum,
        )

    @classmethod
    def from_values(  # type: ignore[override]
        cls, values: ArrayLike, nu: float
    ) -> ClusteredQuantileSummary:
        """Summarise events laid out (..., identities, events), nan where an identity has fewer.

        Every identity along the second-to-last axis counts as a cluster, with events or not
        (gbstats counts the arm's users): one without events adds nothing but to K/(K − 1).
        """
        events = np.asarray(values, dtype=np.float64)
        per_identity = np.sum(~np.isnan(events), axis=-1).astype(np.float64)
        n = per_identity.sum(axis=-1)
        ordered = np.sort(events.reshape(*events.shape[:-2], -1), axis=-1)  # nan sorts last
        quantile, lower, upper = _order_statistics(ordered, n, nu)
        below = np.sum(events <= quantile[..., None, None], axis=-1).astype(np.float64)
        return cls(
            n,
            nu,
            quantile,
            lower,
            upper,
            events.shape[-2],
            below.sum(axis=-1),
            np.square(below).sum(axis=-1),
            np.square(per_identity).sum(axis=-1),
            (below * per_identity).sum(axis=-1),
        )

    @property
    def cluster_share_variance(self) -> np.ndarray:
        """V_c: the variance of Σs/Σe over the clusters by the delta method (gbstats'
        ``get_cluster_variance``), a ratio metric's variance over K clusters, divided by K."""
        share = RatioSummary.of(
            self.clusters,
            self.below_sum,
            self.below_sum_sq,
            self.n,
            self.events_sum_sq,
            self.below_events_sum,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            return share.variance / self.clusters

    @property
    def spread_variance(self) -> np.ndarray:
        """The iid variance times V_c/(ν(1 − ν)/n): gbstats' clustered ``variance_init``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            binomial = self.nu * (1.0 - self.nu) / self.n
            return super().spread_variance * self.cluster_share_variance / binomial
