"""Regression adjustment (CUPED): an arm's mean less θ times the same metric before exposure.

What an identity did before it was exposed cannot have been changed by the treatment, yet it
predicts what it does after. Subtracting θ·(pre-period mean) removes that predictable part
from both arms alike, so the estimate stays unbiased and its variance falls by about ρ², ρ the
correlation of the pre- and post-period values (Deng et al. 2013). θ must be the same for both
arms of a comparison, so it is pooled over the two: ``pool_theta`` sets it. Until then it is
nan, and so is everything that depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import TypeVar

import numpy as np

from liftlab.stats.ratio import RatioSummary
from liftlab.stats.summary import (
    ArrayLike,
    Joint,
    ProportionSummary,
    SampleSummary,
    Summary,
    Weights,
    freeze,
    relative_base,
    require_same_identities,
)

# gbstats' create_theta_adjusted_statistics falls back to the plain ratio below this |θ|.
_NEGLIGIBLE_RATIO_THETA = 1e-8


class _Adjusted:
    """What both adjusted kinds derive alike from their post- and pre-period parts.

    A kind supplies ``unadjusted`` (the post-period summary), ``covariate`` (the pre-period
    one), the ``joint`` moments of all their parts, and the delta method's weights of the post-
    and pre-period means on those parts; the adjusted mean's weights are post − θ·pre.
    """

    theta: np.ndarray

    @property
    def unadjusted(self) -> RatioSummary | SampleSummary | ProportionSummary:
        raise NotImplementedError

    @property
    def covariate(self) -> RatioSummary | SampleSummary | ProportionSummary:
        raise NotImplementedError

    @property
    def joint(self) -> Joint:
        raise NotImplementedError

    @property
    def post_weights(self) -> Weights:
        raise NotImplementedError

    @property
    def pre_weights(self) -> Weights:
        raise NotImplementedError

    def control_weight(self, treatment: _Adjusted) -> np.ndarray:
        """The weight of this (control) arm's post-period mean in its relative-lift gradient."""
        raise NotImplementedError

    @property
    def n(self) -> np.ndarray:
        return self.unadjusted.n

    @property
    def shape(self) -> tuple[int, ...]:
        return self.n.shape

    @property
    def unadjusted_mean(self) -> np.ndarray:
        """The post-period mean, what the relative lift divides by (gbstats' unadjusted_mean)."""
        return self.unadjusted.mean

    @property
    def mean(self) -> np.ndarray:
        """post mean − θ·pre mean."""
        return self.unadjusted.mean - self.theta * self.covariate.mean

    @property
    def mean_rounding(self) -> np.ndarray:
        """The post mean's rounding and θ times the pre mean's."""
        return self.unadjusted.mean_rounding + np.abs(self.theta) * self.covariate.mean_rounding

    @property
    def variance(self) -> np.ndarray:
        """Per-identity variance of the adjusted mean: Var(post − θ·pre) of the linearised parts."""
        return self.joint.variance_of(self.weights(1.0))

    def weights(self, post_weight: float | np.ndarray) -> Weights:
        """The weights of post_weight·(post mean) − θ·(pre mean) on the parts."""
        return [
            post_weight * post - self.theta * pre
            for post, pre in zip(self.post_weights, self.pre_weights, strict=True)
        ]

    def relative_variance(self, treatment: Summary) -> np.ndarray:
        """Var of (m_t − m_c)/|u_c| with this arm as control, by the delta method.

        The control's post-period mean appears in both the difference and the divisor, so its
        weight is not 1 but ``control_weight``; the treatment's part is its adjusted variance:
        (Var m_t + Var(w·post_c − θ·pre_c)/n_c)/u_c².
        """
        if type(treatment) is not type(self):
            raise TypeError("a regression-adjusted control needs a treatment of the same kind")
        with np.errstate(all="ignore"):
            control = self.joint.variance_of(self.weights(self.control_weight(treatment)))
            var_mean_t = treatment.variance / treatment.n
            return (var_mean_t + control / self.n) / relative_base(self) ** 2


AdjustedT = TypeVar("AdjustedT", "AdjustedSummary", "AdjustedRatioSummary")


def pool_theta(control: AdjustedT, treatment: AdjustedT) -> tuple[AdjustedT, AdjustedT]:
    """Both arms with the θ pooled over the two, one per comparison.

    ``control`` may be a single arm (shape () or (1,)) against a vector of treatments: the
    result has one θ per treatment, and the control is returned broadcast to that shape.
    """
    if type(control) is not type(treatment):
        raise TypeError("both arms of a comparison must be adjusted summaries of one kind")
    theta = control.pooled_theta(treatment)  # type: ignore[arg-type]
    return replace(control, theta=theta), replace(treatment, theta=theta)


@dataclass(frozen=True)
class AdjustedSummary(_Adjusted):
    """A sample mean or a proportion, regression-adjusted by the same metric's pre-period.

    ``post`` and ``pre`` are both ``SampleSummary`` or both ``ProportionSummary`` of the same
    identities, ``cross_sum`` is Σ post·pre. As gbstats' ``RegressionAdjustedStatistic``:
    mean = post.mean − θ·pre.mean, variance = Var post + θ²·Var pre − 2θ·Cov(post, pre), with
    the covariance of gbstats' ``compute_covariance`` (``covariance_with``).
    """

    post: SampleSummary | ProportionSummary
    pre: SampleSummary | ProportionSummary
    cross_sum: np.ndarray
    theta: np.ndarray = np.nan  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if type(self.post) is not type(self.pre):
            raise TypeError("post and pre must both be sample means or both proportions")
        freeze(self, "post", "pre", "cross_sum", "theta")
        require_same_identities(self.post, self.pre)

    @classmethod
    def of(
        cls,
        post: SampleSummary | ProportionSummary,
        pre: SampleSummary | ProportionSummary,
        cross_sum: ArrayLike,
    ) -> AdjustedSummary:
        """An arm whose θ is not yet known (nan): ``pool_theta`` sets it for a comparison."""
        return cls(post, pre, cross_sum)

    @property
    def unadjusted(self) -> SampleSummary | ProportionSummary:
        """The post-period summary alone, the metric as if it were not adjusted."""
        return self.post

    @property
    def covariate(self) -> SampleSummary | ProportionSummary:
        return self.pre

    @cached_property
    def joint(self) -> Joint:
        return Joint((self.post, self.pre), {(0, 1): self.cross_sum})

    @property
    def post_weights(self) -> Weights:
        return [np.ones(self.shape), np.zeros(self.shape)]

    @property
    def pre_weights(self) -> Weights:
        return [np.zeros(self.shape), np.ones(self.shape)]

    def control_weight(self, treatment: _Adjusted) -> np.ndarray:
        """u_t/u_c, as gbstats' ``frequentist_variance_relative_cuped``.

        The exact gradient would be (u_c + m_t − m_c)/u_c; gbstats evaluates it where the two
        pre-period means agree, as randomisation makes them in expectation.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            return treatment.unadjusted_mean / self.unadjusted_mean

    def pooled_theta(self, treatment: AdjustedSummary) -> np.ndarray:
        """Cov(post, pre)/Var(pre) of both arms as one sample, as gbstats' ``compute_theta``.

        0 (no adjustment) where the joint pre- or post-period variance is 0: there is nothing
        to regress on, or nothing to explain.
        """
        both = AdjustedSummary(
            self.post.merged(treatment.post),
            self.pre.merged(treatment.pre),
            self.cross_sum + treatment.cross_sum,
        )
        var_pre, var_post = both.pre.variance, both.post.variance
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = both.post.covariance_with(both.pre, both.cross_sum) / var_pre
        return np.where((var_pre == 0) | (var_post == 0), 0.0, slope)


@dataclass(frozen=True)
class AdjustedRatioSummary(_Adjusted):
    """A ratio m/d regression-adjusted by the same ratio's pre-period m'/d'.

    As gbstats' ``RegressionAdjustedRatioStatistic``: mean = m̄/d̄ − θ·m̄'/d̄', and the
    per-identity variance ∇ᵀΛ∇ with Λ the covariance matrix of (m, d, m', d') and
    ∇ = (1/d̄, −m̄/d̄², −θ/d̄', θ·m̄'/d̄'²). The six cross sums are Σ m·m', Σ d·d', Σ m'·d',
    Σ m·d, Σ m·d' and Σ m'·d.
    """

    numerator: SampleSummary
    denominator: SampleSummary
    numerator_pre: SampleSummary
    denominator_pre: SampleSummary
    num_num_pre: np.ndarray
    den_den_pre: np.ndarray
    num_pre_den_pre: np.ndarray
    num_den: np.ndarray
    num_den_pre: np.ndarray
    num_pre_den: np.ndarray
    theta: np.ndarray = np.nan  # type: ignore[assignment]

    def __post_init__(self) -> None:
        freeze(self, *(f for f in self.__dataclass_fields__))
        require_same_identities(
            self.numerator, self.denominator, self.numerator_pre, self.denominator_pre
        )

    @classmethod
    def of(
        cls,
        numerator: SampleSummary,
        denominator: SampleSummary,
        numerator_pre: SampleSummary,
        denominator_pre: SampleSummary,
        num_num_pre: ArrayLike,
        den_den_pre: ArrayLike,
        num_pre_den_pre: ArrayLike,
        num_den: ArrayLike,
        num_den_pre: ArrayLike,
        num_pre_den: ArrayLike,
    ) -> AdjustedRatioSummary:
        """An arm whose θ is not yet known (nan): ``pool_theta`` sets it for a comparison."""
        return cls(
            numerator,
            denominator,
            numerator_pre,
            denominator_pre,
            num_num_pre,
            den_den_pre,
            num_pre_den_pre,
            num_den,
            num_den_pre,
            num_pre_den,
        )

    @cached_property
    def unadjusted(self) -> RatioSummary:
        """The post-period ratio alone, the metric as if it were not adjusted."""
        return RatioSummary(self.numerator, self.denominator, self.num_den)

    @cached_property
    def covariate(self) -> RatioSummary:
        return RatioSummary(self.numerator_pre, self.denominator_pre, self.num_pre_den_pre)

    @cached_property
    def joint(self) -> Joint:
        """(m, d, m', d') and their six cross sums: gbstats' ``lambda_matrix``."""
        parts = (self.numerator, self.denominator, self.numerator_pre, self.denominator_pre)
        cross_sums = {
            (0, 1): self.num_den,
            (0, 2): self.num_num_pre,
            (0, 3): self.num_den_pre,
            (1, 2): self.num_pre_den,
            (1, 3): self.den_den_pre,
            (2, 3): self.num_pre_den_pre,
        }
        return Joint(parts, cross_sums)

    @property
    def post_weights(self) -> Weights:
        zero = np.zeros(self.shape)
        return [*self.unadjusted.gradient, zero, zero]

    @property
    def pre_weights(self) -> Weights:
        zero = np.zeros(self.shape)
        return [zero, zero, *self.covariate.gradient]

    def control_weight(self, treatment: _Adjusted) -> np.ndarray:
        """1 + (m_t − m_c)/u_c, the exact gradient, as gbstats'
        ``frequentist_variance_relative_cuped_ratio``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 + (treatment.mean - self.mean) / self.unadjusted_mean

    def pooled_theta(self, treatment: AdjustedRatioSummary) -> np.ndarray:
        """ΣCov(post, pre)/ΣVar(pre) of the linearised ratios, summed over the two arms.

        As gbstats' ``compute_theta_regression_adjusted_ratio`` (per-identity moments of each
        arm added, not a joint sample); 0 where the pre-period ratios have no spread, or where
        |θ| < 1e-8, where gbstats falls back to the unadjusted ratio.
        """
        covariance = sum(
            a.joint.covariance_of(a.post_weights, a.pre_weights) for a in (self, treatment)
        )
        variance = sum(a.joint.variance_of(a.pre_weights) for a in (self, treatment))
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = covariance / variance
        return np.where((variance == 0) | (np.abs(theta) < _NEGLIGIBLE_RATIO_THETA), 0.0, theta)
