"""A ratio metric's arm: Σm / Σd over identities, each with a numerator m and a denominator d.

Revenue per order, clicks per session: the identity is what was randomised, so the unit of the
ratio (orders, sessions) is not independent across it and the plain variance of the per-order
values would be too small. The delta method linearises m̄/d̄ around the arm's means instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from liftlab.stats.summary import (
    ArrayLike,
    Joint,
    SampleSummary,
    Unadjusted,
    freeze,
    require_same_identities,
)


@dataclass(frozen=True)
class RatioSummary(Unadjusted):
    """Numerator and denominator summaries of one arm and Σ m·d, for many comparisons.

    As gbstats' ``RatioStatistic``: mean = Σm/Σd, and the per-identity variance by the delta
    method with the covariance of m and d (sample moments, n − 1), so that variance / n is
    the variance of the ratio: (Var m − 2R·Cov(m, d) + R²·Var d)/d̄², R = m̄/d̄ (gbstats'
    ``variance_of_ratios``). nan where Σd == 0 or n < 2, where there is no ratio to speak of.
    """

    numerator: SampleSummary
    denominator: SampleSummary
    cross_sum: np.ndarray

    def __post_init__(self) -> None:
        freeze(self, "numerator", "denominator", "cross_sum")
        require_same_identities(self.numerator, self.denominator)

    @classmethod
    def of(
        cls,
        n: ArrayLike,
        num_sum: ArrayLike,
        num_sum_sq: ArrayLike,
        den_sum: ArrayLike,
        den_sum_sq: ArrayLike,
        num_den_sum: ArrayLike,
    ) -> RatioSummary:
        """From n, Σm, Σm², Σd, Σd² and Σm·d (scalars, lists or arrays, broadcast to one shape)."""
        numerator = SampleSummary.of(n, num_sum, num_sum_sq)
        return cls(numerator, SampleSummary.of(n, den_sum, den_sum_sq), num_den_sum)

    @property
    def n(self) -> np.ndarray:
        return self.numerator.n

    @property
    def shape(self) -> tuple[int, ...]:
        return self.n.shape

    @property
    def mean(self) -> np.ndarray:
        """Σm / Σd; nan where Σd == 0."""
        total = self.denominator.sum
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total != 0, self.numerator.sum / total, np.nan)

    @property
    def mean_rounding(self) -> np.ndarray:
        """The sums' rounding carried into Σm/Σd: their relative errors add (8·n·eps·|R|)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            numerator = self.numerator.mean_rounding
            denominator = np.abs(self.mean) * self.denominator.mean_rounding
            return (numerator + denominator) / np.abs(self.denominator.mean)

    @property
    def gradient(self) -> tuple[np.ndarray, np.ndarray]:
        """∂(m̄/d̄)/∂(m̄, d̄) = (1/d̄, −R/d̄): the ratio's weights on its two parts."""
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse = 1.0 / self.denominator.mean
        return inverse, -self.mean * inverse

    @cached_property
    def joint(self) -> Joint:
        """The numerator and the denominator as two variables of the same identities."""
        return Joint((self.numerator, self.denominator), {(0, 1): self.cross_sum})

    @property
    def variance(self) -> np.ndarray:
        """Per-identity variance of the linearised ratio; 0 where m is a constant multiple of d."""
        variance = self.joint.variance_of(self.gradient)
        return np.where((self.n >= 2) & (self.denominator.sum != 0), variance, np.nan)
