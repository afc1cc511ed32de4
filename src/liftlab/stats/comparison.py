"""Treatment-versus-control comparisons computed from sufficient statistics.

Each function compares many (control, treatment) pairs in one call: every input
array holds one element per comparison and every output array does too. The
formulas, the conventions for degenerate inputs and the scipy/statsmodels
functions they agree with are written down in docs/statistics.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
from scipy import special

from liftlab.stats.summary import SampleSummary

WELCH_T = "welch_t"
Z = "z"


@dataclass(frozen=True)
class Comparison:
    """The outcome of one test applied to many comparisons (arrays, one element each).

    `se` is the standard error behind the interval of the absolute lift; for the
    z-test the statistic uses the pooled standard error instead (see the docs).
    `df` is nan for the z-test and wherever it is undefined.
    """

    test: str
    alpha: np.ndarray
    absolute_lift: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    statistic: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    relative_lift: np.ndarray
    relative_se: np.ndarray
    relative_ci_low: np.ndarray
    relative_ci_high: np.ndarray

    def at(self, index: int | tuple[int, ...]) -> dict[str, str | float]:
        """One comparison as plain Python values, e.g. for a JSON report."""
        row: dict[str, str | float] = {"test": self.test}
        for field in fields(self)[1:]:
            row[field.name] = float(getattr(self, field.name)[index])
        return row


def welch_t_test(
    control: SampleSummary, treatment: SampleSummary, alpha: npt.ArrayLike = 0.05
) -> Comparison:
    """Welch's unequal-variance t-test of mean_t − mean_c, two-sided.

    Degrees of freedom by Welch–Satterthwaite; the (1 − alpha) interval uses the
    same t distribution; the relative lift uses the delta method.
    """
    alpha = _checked_alpha(alpha)
    var_mean_c, var_mean_t, difference = _difference_of_means(control, treatment)
    with np.errstate(all="ignore"):
        se = np.sqrt(var_mean_c + var_mean_t)
        df = (var_mean_c + var_mean_t) ** 2 / (
            var_mean_c**2 / (control.n - 1.0) + var_mean_t**2 / (treatment.n - 1.0)
        )
        statistic = _standardised(difference, se)
        p_value = _two_sided_p(statistic, special.stdtr(df, -np.abs(statistic)))
        quantile = special.stdtrit(df, 1.0 - alpha / 2.0)
    relative = _relative(control.mean, var_mean_c, var_mean_t, difference, alpha)
    return _comparison(WELCH_T, alpha, difference, se, quantile, statistic, df, p_value, relative)


def two_proportion_z_test(
    control: SampleSummary, treatment: SampleSummary, alpha: npt.ArrayLike = 0.05
) -> Comparison:
    """Two-proportion z-test for conversion metrics (`sum` = conversions, `sum_sq` unused).

    The statistic and p-value use the pooled standard error, as statsmodels'
    proportions_ztest does; the interval of the difference uses the unpooled
    (Wald) one, as confint_proportions_2indep(method="wald") does: under the null
    both arms share one rate, but the interval describes two different rates.
    """
    alpha = _checked_alpha(alpha)
    _require_proportions(control, "control")
    _require_proportions(treatment, "treatment")
    with np.errstate(all="ignore"):
        rate_c, rate_t = control.mean, treatment.mean
        pooled = (control.sum + treatment.sum) / (control.n + treatment.n)
        se_pooled = np.sqrt(pooled * (1.0 - pooled) * (1.0 / control.n + 1.0 / treatment.n))
        var_mean_c = rate_c * (1.0 - rate_c) / control.n
        var_mean_t = rate_t * (1.0 - rate_t) / treatment.n
        se = np.sqrt(var_mean_c + var_mean_t)
        difference = rate_t - rate_c
        statistic = _standardised(difference, se_pooled)
        p_value = _two_sided_p(statistic, special.ndtr(-np.abs(statistic)))
    relative = _relative(rate_c, var_mean_c, var_mean_t, difference, alpha)
    no_df = np.full(np.shape(statistic), np.nan)
    quantile = _normal_quantile(alpha)
    return _comparison(Z, alpha, difference, se, quantile, statistic, no_df, p_value, relative)


def relative_lift(
    control: SampleSummary, treatment: SampleSummary, alpha: npt.ArrayLike = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mean_t − mean_c)/|mean_c| with its delta-method standard error and normal interval.

    Returns (lift, se, ci_low, ci_high); all nan where the control mean is 0.
    Uses each arm's sample variance (n − 1), as for numeric metrics.
    """
    alpha = _checked_alpha(alpha)
    var_mean_c, var_mean_t, difference = _difference_of_means(control, treatment)
    return _relative(control.mean, var_mean_c, var_mean_t, difference, alpha)


def _relative(
    mean_c: np.ndarray,
    var_mean_c: np.ndarray,
    var_mean_t: np.ndarray,
    difference: np.ndarray,
    alpha: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Delta method for R = (m_t − m_c)/|m_c| with independent arms.

    Var R ≈ Var m_t / m_c² + m_t² · Var m_c / m_c⁴, written as
    (Var m_t + (m_t/|m_c|)² · Var m_c) / m_c² so that small control means do
    not underflow m_c⁴.
    """
    with np.errstate(all="ignore"):
        scale = np.where(mean_c != 0, np.abs(mean_c), np.nan)
        mean_t = mean_c + difference
        lift = difference / scale
        se = np.sqrt(var_mean_t + (mean_t / scale) ** 2 * var_mean_c) / scale
        half_width = _normal_quantile(alpha) * se
    return lift, se, lift - half_width, lift + half_width


def _comparison(
    test: str,
    alpha: np.ndarray,
    difference: np.ndarray,
    se: np.ndarray,
    quantile: np.ndarray,
    statistic: np.ndarray,
    df: np.ndarray,
    p_value: np.ndarray,
    relative: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> Comparison:
    """Assemble a Comparison, all fields broadcast to one shape.

    A zero standard error gives a zero-width interval even where the quantile is
    undefined (two zero-variance arms leave the Welch df undefined).
    """
    with np.errstate(all="ignore"):
        half_width = np.where(se == 0, 0.0, quantile * se)
    arrays = np.broadcast_arrays(
        alpha,
        difference,
        se,
        difference - half_width,
        difference + half_width,
        statistic,
        df,
        p_value,
        *relative,
    )
    return Comparison(test, *(np.array(a, dtype=np.float64) for a in arrays))


def _difference_of_means(
    control: SampleSummary, treatment: SampleSummary
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Var m_c, Var m_t, m_t − m_c) from sample variances, for numeric metrics.

    The difference is exactly 0 for two constant arms of the same value: with no
    variance any difference is decisive, so the few ulps by which two sums of one
    constant (0.1 five times, 0.1 seven times) round apart must not count.
    """
    with np.errstate(all="ignore"):
        var_mean_c = control.variance / control.n
        var_mean_t = treatment.variance / treatment.n
        difference = treatment.mean - control.mean
        noise = control.mean_rounding + treatment.mean_rounding
        same_constant = (var_mean_c + var_mean_t == 0) & (np.abs(difference) <= noise)
    return var_mean_c, var_mean_t, np.where(same_constant, 0.0, difference)


def _standardised(estimate: np.ndarray, se: np.ndarray) -> np.ndarray:
    """estimate / se, where se == 0 means certainty: 0 for no difference, else ±inf."""
    with np.errstate(all="ignore"):
        certain = np.where(estimate == 0, 0.0, np.copysign(np.inf, estimate))
        return np.where(se == 0, certain, estimate / se)


def _two_sided_p(statistic: np.ndarray, lower_tail: np.ndarray) -> np.ndarray:
    """2·P(T ≤ −|statistic|), pinned to 1 at a zero and 0 at an infinite statistic.

    Those limits hold for every df, so they also apply where df is undefined.
    """
    return np.where(statistic == 0, 1.0, np.where(np.isinf(statistic), 0.0, 2.0 * lower_tail))


def _normal_quantile(alpha: np.ndarray) -> np.ndarray:
    """z_(1 − alpha/2), computed from the small tail for accuracy (as norm.isf does)."""
    return -special.ndtri(alpha / 2.0)


def _checked_alpha(alpha: npt.ArrayLike) -> np.ndarray:
    """alpha as a float array, refused unless strictly between 0 and 1."""
    checked = np.asarray(alpha, dtype=np.float64)
    if not np.all((checked > 0) & (checked < 1)):
        raise ValueError("alpha must lie strictly between 0 and 1")
    return checked


def _require_proportions(summary: SampleSummary, arm: str) -> None:
    """Refuse conversion counts outside [0, n]: they are not proportions at all."""
    if not np.all((summary.sum >= 0) & (summary.sum <= summary.n)):
        raise ValueError(f"{arm}: conversions (sum) must lie between 0 and n")
