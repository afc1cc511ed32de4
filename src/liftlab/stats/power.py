"""Identities needed, and the smallest effect detectable, for the tests of ``frequentist``.

A comparison is planned from per-identity moments: the control's mean and variance, the
treatment's variance, and the shares of the experiment's identities each arm gets. At N
identities (all arms) the effect's sampling variance on either scale is Q(Δ)/N, with Δ the change
in the metric's own units and Q a quadratic in Δ (``PlannedComparison.coefficients``): the
same variance ``effects.effect`` computes from data, the delta method's on the relative scale.

Power is the chance that the test's interval excludes 0 when the true change is Δ. With
k = |Δ|/se and c the interval's half-width in standard errors, it is Φ(k − c) + Φ(−k − c) for
both designs (the estimate is normal); they differ only in c: z_(1−α/2) for the fixed horizon
(statsmodels' ``NormalIndPower``), the confidence sequence's width at n for ``Sequential``. A
change counts in either direction; a way a rate cannot go (above 1, below 0) does not count.

Everything is vectorised: the fields of a ``PlannedComparison`` are arrays with one element per
comparison, and so is every answer. See docs/power.md for the formulas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special
from scipy.optimize import elementwise

from liftlab.stats.effects import Effect, Scale
from liftlab.stats.frequentist import FixedHorizon, Sequential, checked_alpha
from liftlab.stats.summary import freeze

DIRECTIONS = (1.0, -1.0)
"""An increase and a decrease: a two-sided test detects either."""
_GROWTH = 4.0
"""How much the sequential search widens its bracket per step (in log identities)."""
_MAX_LOG_IDENTITIES = np.log(1e30)
"""Beyond this the sequential search stops: the answer is inf, no experiment is that large."""


@dataclass(frozen=True)
class PlannedComparison:
    """Control against one treatment, before the data: per-identity moments and the split.

    ``mean`` and ``variance`` are the control's (the baseline); ``treatment_variance`` is the
    treatment's, which a numeric metric keeps under a change. For a ``proportion`` the variance
    follows the rate: p(1 − p) in control, (p + Δ)(1 − p − Δ) in a treatment changed by Δ.
    ``control_weight`` and ``treatment_weight`` are each arm's share of all the identities
    entering the experiment (other treatments take the rest).
    """

    mean: np.ndarray
    variance: np.ndarray
    treatment_variance: np.ndarray
    proportion: np.ndarray
    control_weight: np.ndarray
    treatment_weight: np.ndarray

    def __post_init__(self) -> None:
        freeze(self, "mean", "variance", "treatment_variance", "control_weight", "treatment_weight")
        proportion = np.broadcast_to(np.asarray(self.proportion, dtype=bool), self.mean.shape)
        object.__setattr__(self, "proportion", proportion)
        shares = self.control_weight + self.treatment_weight
        if not np.all((self.control_weight > 0) & (self.treatment_weight > 0) & (shares <= 1)):
            raise ValueError("weights must be positive shares adding up to at most 1")

    @classmethod
    def of(
        cls,
        mean: npt.ArrayLike,
        variance: npt.ArrayLike,
        *,
        control_weight: npt.ArrayLike = 0.5,
        treatment_weight: npt.ArrayLike = 0.5,
        treatment_variance: npt.ArrayLike | None = None,
    ) -> PlannedComparison:
        """A numeric metric (count, sum, mean, ratio): a change moves its mean, not its spread."""
        treatment = variance if treatment_variance is None else treatment_variance
        return cls(mean, variance, treatment, False, control_weight, treatment_weight)

    @classmethod
    def of_proportion(
        cls,
        rate: npt.ArrayLike,
        *,
        control_weight: npt.ArrayLike = 0.5,
        treatment_weight: npt.ArrayLike = 0.5,
    ) -> PlannedComparison:
        """A conversion rate p, whose per-identity variance is p(1 − p) in either arm."""
        p = np.asarray(rate, dtype=np.float64)
        return cls(p, p * (1 - p), p * (1 - p), True, control_weight, treatment_weight)

    @property
    def share(self) -> np.ndarray:
        """The share of the experiment's identities the comparison's two arms hold."""
        return self.control_weight + self.treatment_weight

    def coefficients(self, scale: Scale) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(q0, q1, q2) with N·Var(estimate) = q0 + q1·Δ + q2·Δ², Δ in the metric's units.

        Absolute: v_c/w_c + v_t(Δ)/w_t. Relative, in units of the mean (times μ²): the delta
        method's v_t(Δ)/w_t + ((μ + Δ)/μ)²·v_c/w_c, as ``effects.effect``. For a proportion
        v_t(Δ) = p(1 − p) + (1 − 2p)·Δ − Δ².
        """
        p = self.mean
        s1 = np.where(self.proportion, 1.0 - 2.0 * p, 0.0)
        s2 = np.where(self.proportion, -1.0, 0.0)
        control = self.variance / self.control_weight
        q0 = control + self.treatment_variance / self.treatment_weight
        q1 = s1 / self.treatment_weight
        q2 = s2 / self.treatment_weight
        if Scale(scale) is Scale.RELATIVE:
            with np.errstate(divide="ignore", invalid="ignore"):
                q1 = q1 + 2.0 * control / p
                q2 = q2 + control / p**2
        return q0, q1, q2

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """How far the mean can go up and down: to 1 and to 0 for a rate, anywhere otherwise."""
        up = np.where(self.proportion, 1.0 - self.mean, np.inf)
        return up, np.where(self.proportion, self.mean, np.inf)

    def units(self, effect: npt.ArrayLike, scale: Scale) -> np.ndarray:
        """An effect on ``scale`` as a change in the metric's units (nan: relative to 0)."""
        size = np.abs(np.asarray(effect, dtype=np.float64))
        if Scale(scale) is Scale.ABSOLUTE:
            return size + 0.0 * self.mean
        return size * np.where(self.mean != 0, np.abs(self.mean), np.nan)


def _unit_effect(n: np.ndarray) -> Effect:
    """An estimate of 0 with a standard error of 1 and Welch df ∞ at n identities: a test's
    interval around it is that test's critical value, so the plan reads it from the test."""
    n = np.asarray(n, dtype=np.float64)
    zeros = np.zeros_like(n)
    return Effect(Scale.ABSOLUTE, zeros, zeros + 1.0, zeros + np.inf, n, zeros + 1.0)


@dataclass(frozen=True)
class FixedHorizonDesign:
    """One look at the planned end: ``FixedHorizon``'s interval, normal (NormalIndPower).

    A t-test at the planned n needs about z²_(1−α/2)/2 more identities in all (Guenther's
    correction, two at α = 0.05, as statsmodels' ``TTestIndPower``); the normal figure leaves
    them out, which is nothing against the thousands an online experiment needs.
    """

    def critical(self, n: npt.ArrayLike, alpha: npt.ArrayLike) -> np.ndarray:
        """z_(1−alpha/2): the half-width of the interval in standard errors, at any n."""
        return FixedHorizon(_unit_effect(n)).interval(alpha)[1]

    def identities(
        self, target: np.ndarray, share: np.ndarray, alpha: np.ndarray, power: np.ndarray
    ) -> np.ndarray:
        """N = k²·target, k the standardised effect the power needs (target = Q/Δ²)."""
        del share  # the critical value does not depend on the comparison's size
        return standardised_effect(self.critical(1.0, alpha), power) ** 2 * target


@dataclass(frozen=True)
class SequentialDesign:
    """Looks at any time: ``Sequential``'s confidence sequence, tuned for ``alpha`` and narrowest
    near ``tuning`` identities (of the comparison's two arms, as the test counts them).

    Power is the chance that the interval read at the planned n excludes 0. Read at earlier looks
    too, the experiment can only stop sooner: the chance of having excluded 0 by n is at least it.
    """

    alpha: float
    tuning: float

    def critical(self, n: npt.ArrayLike, alpha: npt.ArrayLike) -> np.ndarray:
        """The always-valid interval's half-width in standard errors at n, read at ``alpha``."""
        return Sequential(_unit_effect(n), self.alpha, self.tuning).interval(alpha)[1]

    def identities(
        self, target: np.ndarray, share: np.ndarray, alpha: np.ndarray, power: np.ndarray
    ) -> np.ndarray:
        """The N with N = k(c(N·share))²·target: c grows slowly with N, so N/k² rises with N.

        The fixed horizon's N, where the sequence is always wider, brackets it from below; the
        bracket grows until it holds the root, which Chandrupatla's method then finds.
        """
        target, share, alpha, power = np.broadcast_arrays(target, share, alpha, power)
        solvable = np.isfinite(target) & (target > 0)
        safe = np.where(solvable, target, 1.0)

        def excess(log_n: np.ndarray, *args: np.ndarray) -> np.ndarray:
            safe, share, alpha, power = args
            k = standardised_effect(self.critical(np.exp(log_n) * share, alpha), power)
            return log_n - 2.0 * np.log(k) - np.log(safe)

        args = (safe, share, alpha, power)
        low = np.log(FixedHorizonDesign().identities(safe, share, alpha, power))
        high = low + 1.0
        while np.any(unbracketed := (excess(high, *args) < 0) & (high < _MAX_LOG_IDENTITIES)):
            high = np.where(unbracketed, high + _GROWTH, high)
        found = np.exp(elementwise.find_root(excess, (low, high), args=args).x)
        found = np.where(excess(high, *args) < 0, np.inf, found)
        return np.where(solvable, found, target)  # nan, inf and 0 need no search


Design = FixedHorizonDesign | SequentialDesign


def standardised_effect(critical: npt.ArrayLike, power: npt.ArrayLike) -> np.ndarray:
    """k ≥ 0 with Φ(k − c) + Φ(−k − c) = power: |Δ|/se at which the interval ±c·se around a
    normal estimate excludes 0 with that probability (the second term is the wrong side).

    About c + z_power; exactly the root, found in [0, c + z_power + 1] where the power goes
    from 2Φ(−c) ≤ alpha < power to above it.
    """
    c, p = np.broadcast_arrays(np.asarray(critical, np.float64), np.asarray(power, np.float64))
    finite = np.isfinite(c)
    c_safe = np.where(finite, c, 0.0)

    def shortfall(k: np.ndarray, c: np.ndarray, p: np.ndarray) -> np.ndarray:
        return special.ndtr(k - c) + special.ndtr(-k - c) - p

    high = c_safe + special.ndtri(p) + 1.0
    k = elementwise.find_root(shortfall, (np.zeros_like(c_safe), high), args=(c_safe, p)).x
    return np.where(finite, k, np.inf)


def checked_power(alpha: npt.ArrayLike, power: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """alpha in (0, ½) and power in [½, 1), as arrays: so the power rises from 2Φ(−c) < power.

    Below a power of one half the "detectable" effect is missed more often than not; the
    sequential search also needs alpha < ½ to find a single answer.
    """
    alpha = checked_alpha(alpha)
    power = np.asarray(power, dtype=np.float64)
    if not np.all(alpha < 0.5):
        raise ValueError("alpha must be below 0.5")
    if not np.all((power >= 0.5) & (power < 1)):
        raise ValueError("power must be at least 0.5 and below 1")
    return alpha, power


def _spread(coefficients: tuple[np.ndarray, ...], delta: np.ndarray) -> np.ndarray:
    q0, q1, q2 = coefficients
    return q0 + delta * (q1 + delta * q2)


def identities_needed(
    comparison: PlannedComparison,
    effect: npt.ArrayLike,
    *,
    scale: Scale | str,
    alpha: npt.ArrayLike,
    power: npt.ArrayLike,
    design: Design,
) -> np.ndarray:
    """The identities N (all arms) at which a change of ±``effect`` is detected with ``power``.

    ``effect`` is on ``scale`` (relative: a share of |mean|); the test is two-sided at ``alpha``
    (after any correction; a sequential design keeps its own tuned alpha). The answer is
    continuous (each arm gets N·weight) and the harder of the two directions a change can take:
    max over ± of k²·Q(±Δ)/Δ². nan where no direction is possible or the mean is 0 on the
    relative scale; 0 where the metric has no spread.
    """
    scale = Scale(scale)
    alpha, power = checked_power(alpha, power)
    size = comparison.units(effect, scale)
    coefficients = comparison.coefficients(scale)
    with np.errstate(all="ignore"):
        spreads = [
            np.where(reach >= size, _spread(coefficients, sign * size), np.nan)
            for sign, reach in zip(DIRECTIONS, comparison.bounds(), strict=True)
        ]
        target = np.fmax(*spreads) / size**2
    return design.identities(target, comparison.share, alpha, power)


def _smallest_positive_root(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The smallest x > 0 from which a·x² + b·x + c ≥ 0, given c ≤ 0; inf where there is none.

    −2c/(b + √(b² − 4ac)) is the root for every sign of a (and a = 0), without the
    cancellation of the textbook form; the denominator is ≤ 0 exactly where no root is > 0.
    At c = 0 (no spread at no change) x·(a·x + b) ≥ 0 holds from 0 where b ≥ 0, else from −b/a.
    """
    discriminant = b * b - 4.0 * a * c
    denominator = b + np.sqrt(np.maximum(discriminant, 0.0))
    root = np.where((discriminant >= 0) & (denominator > 0), -2.0 * c / denominator, np.inf)
    at_zero = np.where(b >= 0, 0.0, np.where(a > 0, -b / a, np.inf))
    return np.where(c == 0, at_zero, root)


def minimum_detectable_effect(
    comparison: PlannedComparison,
    identities: npt.ArrayLike,
    *,
    scale: Scale | str,
    alpha: npt.ArrayLike,
    power: npt.ArrayLike,
    design: Design,
) -> np.ndarray:
    """The smallest change, on ``scale``, that ``identities`` (all arms) detect with ``power``.

    The inverse of ``identities_needed``: in each direction the smallest Δ with
    N·Δ² = k²·Q(Δ) (a quadratic, k read at this N), or that direction's bound where a rate
    cannot go that far (smaller changes might go that way, and would be missed); the larger of
    the two. inf where neither direction detects a change it can take, or N is 0.
    """
    scale = Scale(scale)
    alpha, power = checked_power(alpha, power)
    n = np.asarray(identities, dtype=np.float64)
    k2 = standardised_effect(design.critical(n * comparison.share, alpha), power) ** 2
    q0, q1, q2 = comparison.coefficients(scale)
    bounds = comparison.bounds()
    with np.errstate(all="ignore"):
        roots = [_smallest_positive_root(n - k2 * q2, -s * k2 * q1, -k2 * q0) for s in DIRECTIONS]
        detects = (n > 0) & ((roots[0] <= bounds[0]) | (roots[1] <= bounds[1]))
        units = np.where(detects, np.fmax(*map(np.fmin, roots, bounds)), np.inf)
        if scale is Scale.RELATIVE:
            return units / np.where(comparison.mean != 0, np.abs(comparison.mean), np.nan)
    return units
