"""The effect of a treatment on one scale, with the variance every test starts from.

Each test (fixed-horizon, sequential, Bayesian) reads the same three numbers per comparison:
the estimate, its sampling variance and the Welch–Satterthwaite degrees of freedom. Computing
them once, here, for both scales is what makes the estimate, interval, p-value and verdict of a
comparison agree: they all come from one ``Effect``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from liftlab.stats.summary import Summary, relative_base


class Scale(StrEnum):
    """Which lift a test is about: t − c (absolute) or (t − c)/|c| (relative)."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"

    @property
    def other(self) -> Scale:
        """The scale not judged on, which a document reports beside the judged one."""
        return Scale.ABSOLUTE if self is Scale.RELATIVE else Scale.RELATIVE


@dataclass(frozen=True)
class Effect:
    """Treatment − control on ``scale`` for many comparisons (arrays of one shape).

    ``variance`` is the sampling variance of ``estimate``; ``df`` the Welch–Satterthwaite degrees
    of freedom of the difference of means (shared by both scales, as in gbstats); ``n`` the
    identities of both arms together, which the sequential test needs; ``control_mean`` the
    control's unadjusted mean, the baseline a relative lift is taken against.
    """

    scale: Scale
    estimate: np.ndarray
    variance: np.ndarray
    df: np.ndarray
    n: np.ndarray
    control_mean: np.ndarray

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(self.variance)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.estimate.shape


def effect(control: Summary, treatment: Summary, scale: Scale | str) -> Effect:
    """The effect of ``treatment`` against ``control`` on ``scale``.

    Absolute: m_t − m_c with variance v_t/n_t + v_c/n_c. Relative: (m_t − m_c)/|u_c|, u_c being
    the control's unadjusted mean (m_c itself but for regression-adjusted kinds, as gbstats'
    ``unadjusted_mean``), nan where u_c is 0; its variance is the control's
    ``relative_variance(treatment)``: for independent parts the first-order delta method
    (Var m_t + (u_t/|u_c|)²·Var m_c)/u_c², for the adjusted kinds their own gradient. Dividing by
    |u_c| keeps the sign of the lift the sign of the change. The Welch df is written with
    w = Var m_c/(Var m_c + Var m_t), as 1/(w²/(n_c − 1) + (1 − w)²/(n_t − 1)): the textbook form
    squares the variances of the means, which under- or overflows for data far from unit scale.
    """
    scale = Scale(scale)
    with np.errstate(all="ignore"):
        var_mean_c = control.variance / control.n
        var_mean_t = treatment.variance / treatment.n
        difference = _difference(control, treatment, var_mean_c + var_mean_t)
        share = var_mean_c / (var_mean_c + var_mean_t)
        df = 1.0 / (share**2 / (control.n - 1.0) + (1.0 - share) ** 2 / (treatment.n - 1.0))
        if scale is Scale.ABSOLUTE:
            estimate, variance = difference, var_mean_c + var_mean_t
        else:
            estimate = difference / relative_base(control)
            variance = control.relative_variance(treatment)
    arrays = np.broadcast_arrays(
        estimate, variance, df, control.n + treatment.n, control.unadjusted_mean + 0.0 * estimate
    )
    return Effect(scale, *(np.array(a, dtype=np.float64) for a in arrays))


def _difference(control: Summary, treatment: Summary, variance: np.ndarray) -> np.ndarray:
    """m_t − m_c, exactly 0 for two constant arms of the same value.

    With no variance any difference is decisive, so the few ulps by which two sums of one
    constant (0.1 five times, 0.1 seven times) round apart must not count as an effect.
    """
    difference = treatment.mean - control.mean
    noise = control.mean_rounding + treatment.mean_rounding
    same_constant = (variance == 0) & (np.abs(difference) <= noise)
    return np.where(same_constant, 0.0, difference)


def variance_reduction(adjusted: Effect, unadjusted: Effect) -> np.ndarray:
    """1 − se_adjusted/se_unadjusted: how much narrower regression adjustment made the interval.

    0.3 means an interval 30 % narrower (a variance about half as large: 1 − 0.7²); negative
    where the adjustment widened it, which a pooled θ can do in small samples. nan where the
    unadjusted se is 0 or undefined.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = adjusted.se / unadjusted.se
    return np.where(unadjusted.se > 0, 1.0 - ratio, np.nan)
