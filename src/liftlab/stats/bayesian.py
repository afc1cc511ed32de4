"""Bayesian inference on an ``Effect``: a Gaussian posterior, chance to win and expected loss.

The likelihood of the effect is normal with the effect's sampling variance (on the chosen scale),
the prior is normal with a given mean and standard deviation, or flat; the posterior is then
normal too, as in gbstats' ``EffectBayesianABTest``. Everything is closed form and vectorised:
no sampling, no truncated-normal objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from liftlab.stats.effects import Effect
from liftlab.stats.frequentist import checked_alpha, symmetric

_SQRT_2PI = np.sqrt(2.0 * np.pi)


@dataclass(frozen=True)
class Prior:
    """A normal prior on the effect, on the effect's scale; ``sd=None`` is flat (improper)."""

    mean: float = 0.0
    sd: float | None = None

    def __post_init__(self) -> None:
        if self.sd is not None and not (np.isfinite(self.sd) and self.sd > 0):
            raise ValueError("the prior's standard deviation must be a positive number")
        if not np.isfinite(self.mean):
            raise ValueError("the prior's mean must be a finite number")


@dataclass(frozen=True)
class Bayesian:
    """The posterior of the effect for many comparisons.

    ``direction`` is +1 where an increase is good news and −1 where a decrease is (per
    comparison), so that ``chance_to_win`` and ``risk`` speak of the treatment being better.
    """

    effect: Effect
    prior: Prior = Prior()
    direction: npt.ArrayLike = 1.0

    @property
    def posterior_mean(self) -> np.ndarray:
        if self.prior.sd is None:
            return self.effect.estimate
        with np.errstate(all="ignore"):
            data_precision = 1.0 / self.effect.variance
            prior_precision = 1.0 / self.prior.sd**2
            mean = (self.effect.estimate * data_precision + self.prior.mean * prior_precision) / (
                data_precision + prior_precision
            )
        return np.where(self.effect.variance == 0, self.effect.estimate, mean)

    @property
    def posterior_sd(self) -> np.ndarray:
        if self.prior.sd is None:
            return self.effect.se
        with np.errstate(all="ignore"):
            return np.sqrt(1.0 / (1.0 / self.effect.variance + 1.0 / self.prior.sd**2))

    @property
    def chance_to_win(self) -> np.ndarray:
        """P(the treatment is better than control), "better" per ``direction``."""
        mean = self._better_mean
        certain = np.where(mean == 0, 0.5, np.where(mean > 0, 1.0, 0.0))
        with np.errstate(all="ignore"):
            return np.where(self.posterior_sd == 0, certain, special.ndtr(self._better_z))

    @property
    def risk(self) -> tuple[np.ndarray, np.ndarray]:
        """Expected loss (control, treatment): what choosing each arm gives up, on average.

        Choosing control loses E[max(δ, 0)] and choosing the treatment E[max(−δ, 0)], δ being
        the improvement of the treatment; for a normal δ ~ N(μ, σ²),
        E[max(δ, 0)] = μ·Φ(μ/σ) + σ·φ(μ/σ).
        """
        mu = self._better_mean
        sigma = self.posterior_sd
        with np.errstate(all="ignore"):
            z = mu / sigma
            density = sigma * np.exp(-0.5 * z * z) / _SQRT_2PI
            control = mu * special.ndtr(z) + density
            treatment = -mu * special.ndtr(-z) + density
        exact = sigma == 0
        return (
            np.where(exact, np.maximum(mu, 0.0), control),
            np.where(exact, np.maximum(-mu, 0.0), treatment),
        )

    def interval(self, alpha: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The equal-tailed (1 − alpha) credible interval."""
        alpha = checked_alpha(alpha)
        half = -special.ndtri(alpha / 2.0) * self.posterior_sd
        return symmetric(self._posterior_effect, half)

    @property
    def _posterior_effect(self) -> Effect:
        mean, sd = np.broadcast_arrays(self.posterior_mean, self.posterior_sd)
        return Effect(
            self.effect.scale, mean, sd**2, self.effect.df, self.effect.n, self.effect.control_mean
        )

    @property
    def _better_mean(self) -> np.ndarray:
        return np.asarray(self.direction, dtype=np.float64) * self.posterior_mean

    @property
    def _better_z(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self._better_mean / self.posterior_sd
