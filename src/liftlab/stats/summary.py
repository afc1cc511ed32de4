"""Per-arm sufficient statistics: a sample mean (n, Σx, Σx²) and a proportion (n, conversions).

The event store returns these numbers per variant and metric, so nothing per identity ever
reaches Python. Everything the tests need (mean, sample variance) is derived here, once, in a
numerically careful way. The other kinds of arm (ratio.py, adjusted.py, quantile.py) are built
from these two and from the covariance helpers at the end of this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from functools import cached_property
from itertools import product
from typing import Any, ClassVar, Protocol, Self

import numpy as np
import numpy.typing as npt

_EPS = np.finfo(np.float64).eps
# Veltkamp's splitting constant 2**27 + 1: splits a float64 into two halves whose
# products are exact, which lets `_two_product` return the rounding error of a*b.
_SPLITTER = 134217729.0
# Naively summing n values may leave a relative error of about n·eps in Σx and Σx²
# (summing the constant 0.1 a million times does); this many such units bound what
# the sums can be trusted to, and anything smaller is read as rounding noise.
_ROUNDING_ULPS = 4.0

ArrayLike = npt.ArrayLike


class Summary(Protocol):
    """What every test reads of an arm: its size, mean and per-identity variance.

    ``variance`` is per identity: the variance of ``mean`` is variance / n. ``unadjusted_mean``
    is the arm's plain mean, which differs from ``mean`` only for regression-adjusted kinds;
    the relative lift divides by it. ``relative_variance`` is the variance of that lift with
    this arm as control, which is where the kinds differ (see ``independent_relative_variance``).
    """

    @property
    def n(self) -> np.ndarray: ...

    @property
    def mean(self) -> np.ndarray: ...

    @property
    def unadjusted_mean(self) -> np.ndarray: ...

    @property
    def variance(self) -> np.ndarray: ...

    @property
    def mean_rounding(self) -> np.ndarray: ...

    def relative_variance(self, treatment: Summary) -> np.ndarray: ...


def rounding_noise(n: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """4·n·eps·magnitude: what naive summation of n terms of that magnitude may be off by."""
    return _ROUNDING_ULPS * _EPS * n * magnitude


def relative_base(control: Summary) -> np.ndarray:
    """|unadjusted mean of control|, what a relative lift divides by; nan where it is 0."""
    mean = control.unadjusted_mean
    return np.where(mean != 0, np.abs(mean), np.nan)


def independent_relative_variance(control: Summary, treatment: Summary) -> np.ndarray:
    """Var of (m_t − m_c)/|u_c|, first-order delta method: (Var m_t + (u_t/|u_c|)²·Var m_c)/u_c².

    The arms are different identities, so there is no covariance term; u is the unadjusted
    mean, Var m = variance / n. As gbstats' ``frequentist_variance`` (its ``variance_of_ratios``
    with covariance 0). Written with u_t/|u_c| because u_c⁴ would underflow far from unit scale.
    """
    with np.errstate(all="ignore"):
        magnitude = relative_base(control)
        ratio = treatment.unadjusted_mean / magnitude
        var_mean_c = control.variance / control.n
        var_mean_t = treatment.variance / treatment.n
        return (var_mean_t + ratio**2 * var_mean_c) / magnitude**2


class Unadjusted:
    """For kinds whose mean is not regression-adjusted: the unadjusted mean is the mean."""

    @property
    def unadjusted_mean(self) -> np.ndarray:
        return self.mean  # type: ignore[attr-defined]

    def relative_variance(self, treatment: Summary) -> np.ndarray:
        """Var of the relative lift of ``treatment`` over this arm (independent arms)."""
        return independent_relative_variance(self, treatment)  # type: ignore[arg-type]


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Veltkamp split: a == hi + lo, each half with at most 26 significant bits."""
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's error-free product: a*b == p + e exactly (barring overflow).

    n·Σx² − (Σx)² cancels catastrophically when the mean is large against the
    spread; carrying the rounding error of both products makes the difference
    exact up to one final rounding, so only the inputs' own error remains.
    """
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, np.where(np.isfinite(e), e, 0.0)


def freeze(summary: Any, *names: str) -> None:
    """The named fields as read-only float64 arrays, or summaries, all of one shape.

    Arrays are copied, so a summary never aliases its caller's data; a nested summary (the
    numerator of a ratio, the pre-period of an adjusted mean) is broadcast to the same shape,
    so that every property of the outer summary has that shape too.
    """
    values = [getattr(summary, name) for name in names]
    shape = np.broadcast_shapes(*(v.shape if is_dataclass(v) else np.shape(v) for v in values))
    for name, value in zip(names, values, strict=True):
        object.__setattr__(summary, name, _broadcast(value, shape))


def _broadcast(value: Any, shape: tuple[int, ...]) -> Any:
    if is_dataclass(value):
        if value.shape == shape:  # type: ignore[attr-defined]
            return value
        parts = {f.name: _broadcast(getattr(value, f.name), shape) for f in fields(value)}
        return replace(value, **parts)  # type: ignore[type-var]
    array = np.broadcast_to(np.array(value, dtype=np.float64), shape)
    array.flags.writeable = False
    return array


def require_counts(n: np.ndarray, what: str = "n") -> None:
    """Refuse anything but non-negative counts (nan included)."""
    if not np.all(n >= 0):
        raise ValueError(f"{what} must be a non-negative count for every arm")


def require_same_identities(*parts: _Arm) -> None:
    """Variables of one arm describe the same identities, so they must share their n."""
    if any(np.any(part.n != parts[0].n) for part in parts[1:]):
        raise ValueError("the parts of one arm must have the same n (the same identities)")


class _Arm(Unadjusted):
    """What both summaries derive alike from their ``n`` and ``sum`` arrays."""

    n: np.ndarray
    sum: np.ndarray
    # True where per-identity moments take the binomial n (not n − 1) as denominator.
    binomial: ClassVar[bool] = False

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape shared by all fields: one element per comparison."""
        return self.n.shape

    @property
    def mean(self) -> np.ndarray:
        """sum / n (a mean, or a conversion rate); nan where n == 0."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.n > 0, self.sum / self.n, np.nan)

    @property
    def mean_square(self) -> np.ndarray:
        """Σx² / n, the scale that bounds the rounding of every moment involving x."""
        raise NotImplementedError

    def merged(self, other: Self) -> Self:
        """Both arms as one (sums added): the joint statistic gbstats pools θ over."""
        names = [f.name for f in fields(self)]  # type: ignore[arg-type]
        return type(self)(**{name: getattr(self, name) + getattr(other, name) for name in names})

    def covariance_with(self, other: _Arm, cross_sum: np.ndarray) -> np.ndarray:
        """Per-identity covariance with ``other``, measured on the same identities, from Σxy.

        As gbstats' ``compute_covariance``: Σxy/n − ΣxΣy/n² between two proportions (the
        binomial convention of their variances p(1 − p)), (Σxy − ΣxΣy/n)/(n − 1) otherwise;
        nan where n < 2. Computed as co_moment / n² or co_moment / (n(n − 1)).
        """
        n = self.n
        divisor = n * n if self.binomial and other.binomial else n * (n - 1.0)
        with np.errstate(all="ignore"):
            moment = co_moment(n, self.sum, other.sum, cross_sum)
            return np.where(n >= 2, moment / divisor, np.nan)


@dataclass(frozen=True)
class SampleSummary(_Arm):
    """Count, sum and sum of squares of one arm, for many comparisons at once.

    The three fields are read-only float64 arrays of one shape (0-d allowed);
    element i of every array describes the same arm of comparison i.
    """

    n: np.ndarray
    sum: np.ndarray
    sum_sq: np.ndarray

    def __post_init__(self) -> None:
        freeze(self, "n", "sum", "sum_sq")
        require_counts(self.n)

    @classmethod
    def of(cls, n: ArrayLike, sum: ArrayLike, sum_sq: ArrayLike) -> SampleSummary:
        """Build from scalars, lists or arrays (broadcast to one shape)."""
        return cls(n, sum, sum_sq)

    @classmethod
    def from_values(cls, values: ArrayLike, axis: int = -1) -> SampleSummary:
        """Summarise raw per-identity values along `axis` (for notebooks and tests)."""
        x = np.asarray(values, dtype=np.float64)
        return cls(x.shape[axis], x.sum(axis=axis), np.square(x).sum(axis=axis))

    @property
    def mean_rounding(self) -> np.ndarray:
        """How far rounding in a naively summed Σx may have moved the mean: 4·n·eps·|mean|.

        Two constant arms whose means differ by less than this are the same constant.
        """
        return rounding_noise(self.n, np.abs(self.mean))

    @property
    def mean_square(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.sum_sq / self.n

    @property
    def variance(self) -> np.ndarray:
        """Sample variance with the n − 1 denominator; nan where n < 2.

        Computed as (n·Σx² − (Σx)²) / (n(n − 1)) with error-free products, then
        clipped: anything at or below the rounding noise of the sums is 0, so an
        arm of identical values has exactly zero variance, never a negative one.
        """
        n = self.n
        with np.errstate(all="ignore"):
            scaled_m2 = co_moment(n, self.sum, self.sum, self.sum_sq)
            noise = rounding_noise(n, n * self.sum_sq)
            scaled_m2 = np.where(scaled_m2 <= noise, 0.0, scaled_m2)
            variance = scaled_m2 / (n * (n - 1.0))
        return np.where(n >= 2, variance, np.nan)


@dataclass(frozen=True)
class ProportionSummary(_Arm):
    """Count and conversions of one arm of a conversion metric, for many comparisons.

    Every identity is 0 or 1, so the sum of squares is the sum itself and the per-identity
    variance is p(1 − p), the binomial variance (no n − 1 correction, as gbstats'
    ``ProportionStatistic``). Counts outside [0, n] are refused: they are not proportions.
    """

    n: np.ndarray
    sum: np.ndarray
    binomial: ClassVar[bool] = True

    def __post_init__(self) -> None:
        freeze(self, "n", "sum")
        require_counts(self.n)
        if not np.all((self.sum >= 0) & (self.sum <= self.n)):
            raise ValueError("conversions (sum) must lie between 0 and n")

    @classmethod
    def of(cls, n: ArrayLike, sum: ArrayLike) -> ProportionSummary:
        """Build from scalars, lists or arrays (broadcast to one shape)."""
        return cls(n, sum)

    @property
    def mean_rounding(self) -> np.ndarray:
        """Counts are exact integers, so their rates carry no summation error."""
        return np.zeros(self.shape)

    @property
    def mean_square(self) -> np.ndarray:
        """Σx²/n is the rate itself: every identity is 0 or 1."""
        return self.mean

    @property
    def variance(self) -> np.ndarray:
        """p(1 − p): exactly 0 at a rate of 0 or 1; nan where n == 0."""
        rate = self.mean
        return rate * (1.0 - rate)


def co_moment(
    n: np.ndarray, sum_a: np.ndarray, sum_b: np.ndarray, sum_ab: np.ndarray
) -> np.ndarray:
    """n·Σab − Σa·Σb, that is n·Σ(a − ā)(b − b̄), exact but for the rounding of the sums.

    Both products carry their rounding error (`_two_product`), so the cancellation of the two
    nearly equal products leaves nothing but the sums' own error.
    """
    n_sum_ab, n_sum_ab_err = _two_product(n, sum_ab)
    product_ab, product_ab_err = _two_product(sum_a, sum_b)
    return (n_sum_ab - product_ab) + (n_sum_ab_err - product_ab_err)


Weights = Sequence[np.ndarray]


@dataclass(frozen=True)
class Joint:
    """Several per-identity variables of one arm, with Σ x_i·x_j for the pairs (i, j) given.

    The delta method linearises a ratio or an adjusted mean into a weighted sum Σ w_i x_i of
    such variables, whose per-identity variance is the quadratic form wᵀΛw in their
    covariance matrix Λ (gbstats' ``lambda_matrix``): one place for every kind built of parts.
    """

    parts: tuple[SampleSummary | ProportionSummary, ...]
    cross_sums: Mapping[tuple[int, int], np.ndarray]

    @cached_property
    def matrix(self) -> list[list[np.ndarray]]:
        """Λ: variances on the diagonal, covariances (``covariance_with``) elsewhere.

        Every pair needs its cross sum: a missing one is a KeyError, never a silent 0.
        """
        entries = {(i, i): part.variance for i, part in enumerate(self.parts)}
        for (i, j), cross_sum in self.cross_sums.items():
            covariance = self.parts[i].covariance_with(self.parts[j], cross_sum)
            entries[i, j] = entries[j, i] = covariance
        k = range(len(self.parts))
        return [[entries[i, j] for j in k] for i in k]

    def covariance_of(self, u: Weights, w: Weights) -> np.ndarray:
        """Cov(Σ u_i x_i, Σ w_j x_j) per identity: uᵀΛw."""
        k = range(len(self.parts))
        with np.errstate(all="ignore"):
            return sum(u[i] * w[j] * self.matrix[i][j] for i, j in product(k, k))  # type: ignore[return-value]

    def variance_of(self, w: Weights) -> np.ndarray:
        """Var(Σ w_i x_i) per identity: wᵀΛw, exactly 0 where it is within rounding noise.

        Each entry of Λ may be off by about 4·n·eps·rms_i·rms_j (rms = √(Σx²/n)), so wᵀΛw by
        4·n·eps·(Σ|w_i|·rms_i)²; anything at or below that, negative residues included, is 0.
        A ratio whose numerator is a constant multiple of its denominator, or an outcome that
        is an exact linear function of its covariate, then has no spread, not a residue.
        """
        variance = self.covariance_of(w, w)
        with np.errstate(all="ignore"):
            scale = sum(
                np.abs(w_i) * np.sqrt(p.mean_square) for w_i, p in zip(w, self.parts, strict=True)
            )
            noise = rounding_noise(self.parts[0].n, scale**2)
        return np.where(variance <= noise, 0.0, variance)
