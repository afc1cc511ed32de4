"""Per-arm sufficient statistics: a sample mean (n, Σx, Σx²) and a proportion (n, conversions).

The event store returns these three numbers per variant and metric, so nothing
per identity ever reaches Python. Everything the tests need (mean, sample
variance) is derived here, once, in a numerically careful way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
    """What every test reads of an arm: its size, mean and per-identity variance."""

    @property
    def n(self) -> np.ndarray: ...

    @property
    def mean(self) -> np.ndarray: ...

    @property
    def variance(self) -> np.ndarray: ...

    @property
    def mean_rounding(self) -> np.ndarray: ...


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


def _freeze(summary: object, *names: str) -> None:
    """The named fields as read-only float64 arrays of one shape; n must be a count."""
    arrays = np.broadcast_arrays(
        *(np.array(getattr(summary, name), dtype=np.float64) for name in names)
    )
    if not np.all(arrays[0] >= 0):
        raise ValueError("n must be a non-negative count for every arm")
    for name, array in zip(names, arrays, strict=True):
        array.flags.writeable = False
        object.__setattr__(summary, name, array)


class _Arm:
    """What both summaries derive alike from their ``n`` and ``sum`` arrays."""

    n: np.ndarray
    sum: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape shared by all fields: one element per comparison."""
        return self.n.shape

    @property
    def mean(self) -> np.ndarray:
        """sum / n (a mean, or a conversion rate); nan where n == 0."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.n > 0, self.sum / self.n, np.nan)


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
        _freeze(self, "n", "sum", "sum_sq")

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
        return _ROUNDING_ULPS * _EPS * self.n * np.abs(self.mean)

    @property
    def variance(self) -> np.ndarray:
        """Sample variance with the n − 1 denominator; nan where n < 2.

        Computed as (n·Σx² − (Σx)²) / (n(n − 1)) with error-free products, then
        clipped: anything at or below the rounding noise of the sums is 0, so an
        arm of identical values has exactly zero variance, never a negative one.
        """
        n = self.n
        with np.errstate(all="ignore"):
            n_sum_sq, n_sum_sq_err = _two_product(n, self.sum_sq)
            sum_squared, sum_squared_err = _two_product(self.sum, self.sum)
            scaled_m2 = (n_sum_sq - sum_squared) + (n_sum_sq_err - sum_squared_err)
            noise = _ROUNDING_ULPS * _EPS * n * n_sum_sq
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

    def __post_init__(self) -> None:
        _freeze(self, "n", "sum")
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
    def variance(self) -> np.ndarray:
        """p(1 − p): exactly 0 at a rate of 0 or 1; nan where n == 0."""
        rate = self.mean
        return rate * (1.0 - rate)
