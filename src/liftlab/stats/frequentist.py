"""Frequentist tests of an ``Effect``: fixed-horizon (Welch's t) and sequential (always valid).

Both answer the same two questions for many comparisons at once: a two-sided p-value for
"no effect", and an interval at any level. The interval at level 1 − a excludes 0 exactly when
the p-value is below a, for every a, because both come from one statistic; that is what lets a
multiple-testing correction move the interval with the p-value (``multiplicity``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from liftlab.stats.effects import Effect


@dataclass(frozen=True)
class FixedHorizon:
    """Welch's t-test on the effect's scale, read once, at the planned end of the experiment.

    The statistic is estimate / se with Welch–Satterthwaite degrees of freedom on both scales;
    on the relative scale the se is the delta method's, as in gbstats' ``TwoSidedTTest``.
    """

    effect: Effect

    @property
    def statistic(self) -> np.ndarray:
        return standardised(self.effect.estimate, self.effect.se)

    @property
    def p_value(self) -> np.ndarray:
        t = self.statistic
        with np.errstate(all="ignore"):
            return pinned_p_value(t, 2.0 * special.stdtr(self.effect.df, -np.abs(t)))

    def interval(self, alpha: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The two-sided (1 − alpha) interval: estimate ± t_(df, 1 − alpha/2)·se."""
        alpha = checked_alpha(alpha)
        with np.errstate(all="ignore"):
            quantile = special.stdtrit(self.effect.df, 1.0 - alpha / 2.0)
        return symmetric(self.effect, quantile * self.effect.se)


@dataclass(frozen=True)
class Sequential:
    """Asymptotic confidence sequences (Waudby-Smith et al. 2023), valid at every look.

    ``alpha`` is the level the sequence is tuned for and ``tuning`` the number of identities
    (both arms) at which it is narrowest, as gbstats' ``SequentialTwoSidedTTest`` with its
    ``sequential_tuning_parameter``. The p-value is the reciprocal of the mixture e-value
    (eq. 155 of arXiv:2103.06476v7), the interval its eq. 9; reading either at any number of
    looks keeps the chance of a false positive below alpha.
    """

    effect: Effect
    alpha: float
    tuning: float

    @property
    def rho_squared(self) -> float:
        """The mixing variance ρ² that makes the sequence narrowest at ``tuning`` (eq. 161)."""
        log_alpha = np.log(self.alpha)
        return float((-2.0 * log_alpha + np.log(-2.0 * log_alpha + 1.0)) / self.tuning)

    @property
    def p_value(self) -> np.ndarray:
        n, rho2 = self.effect.n, self.rho_squared
        with np.errstate(all="ignore"):
            z_squared = self.effect.estimate**2 / self.effect.variance
            z_squared = np.where(self.effect.estimate == 0, 0.0, z_squared)
            log_e_value = rho2 * n * z_squared / (2.0 * (n * rho2 + 1.0)) - 0.5 * np.log1p(n * rho2)
            return np.exp(-np.maximum(log_e_value, 0.0))

    def interval(self, alpha: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The always-valid (1 − alpha) interval; ρ stays the one tuned for ``self.alpha``."""
        alpha = checked_alpha(alpha)
        n, rho2 = self.effect.n, self.rho_squared
        with np.errstate(all="ignore"):
            spread = n * rho2 + 1.0
            factor = 2.0 * spread * (0.5 * np.log(spread) - np.log(alpha)) / (n * rho2)
            return symmetric(self.effect, self.effect.se * np.sqrt(factor))


def symmetric(effect: Effect, half_width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """estimate ± half_width; a zero standard error gives a zero-width interval.

    Two zero-variance arms leave the Welch df (and so the quantile) undefined, yet there is no
    doubt about the effect at all.
    """
    half = np.where(effect.variance == 0, 0.0, half_width)
    return effect.estimate - half, effect.estimate + half


def standardised(estimate: np.ndarray, se: np.ndarray) -> np.ndarray:
    """estimate / se, where se == 0 means certainty: 0 for no difference, else ±inf."""
    with np.errstate(all="ignore"):
        certain = np.where(estimate == 0, 0.0, np.copysign(np.inf, estimate))
        return np.where(se == 0, certain, estimate / se)


def pinned_p_value(statistic: np.ndarray, p_value: np.ndarray) -> np.ndarray:
    """p pinned to 1 at a zero and 0 at an infinite statistic, whatever the df (even nan)."""
    return np.where(statistic == 0, 1.0, np.where(np.isinf(statistic), 0.0, p_value))


def checked_alpha(alpha: npt.ArrayLike) -> np.ndarray:
    """alpha as a float array, refused unless strictly between 0 and 1."""
    checked = np.asarray(alpha, dtype=np.float64)
    if not np.all((checked > 0) & (checked < 1)):
        raise ValueError("alpha must lie strictly between 0 and 1")
    return checked
