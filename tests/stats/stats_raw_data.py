"""Raw per-identity data sets for checking liftlab.stats against scipy/statsmodels.

The tests summarise raw arrays into (n, Σx, Σx²) or (n, conversions), run liftlab on the
summaries and the reference on the raw arrays (a library, or `direct_welch`, the test
written out from np.mean / np.var). Values come from a numpy generator
seeded by hypothesis, so arms of 5000 identities stay cheap while hypothesis
still chooses (and shrinks) size, shape of the distribution, scale and seed.

The variance from (n, Σx, Σx²) loses about log10(Σx²/Σ(x − x̄)²) digits to the
rounding of Σx², whoever computes it: a property of sufficient statistics, not of
the code under test. So the comparisons with raw-data references keep to arms
where that ratio is at most 1e4 (`well_conditioned`), or that are exactly
constant; the distributions below make other arms rare (a coefficient of
variation of 0.01 or more), and only small samples hit the limit by chance.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from liftlab.stats import ProportionSummary, SampleSummary, Summary

# Tiny, ordinary and very large arms; 3 against 5000 gives the unbalanced case.
ARM_SIZES = st.one_of(st.integers(2, 40), st.sampled_from([2, 3, 5000]))
CONSTANTS = st.sampled_from([0.0, 0.1, 1.0, -7.25, 1.0 / 3.0, 3.0e9])
ALPHAS = st.sampled_from([0.05, 0.01, 0.1, 0.2, 0.001])


@st.composite
def numeric_arm(draw: st.DrawFn) -> np.ndarray:
    """One arm of a numeric metric: normal, zero-inflated revenue, counts, constant or ints."""
    n = draw(ARM_SIZES)
    kind = draw(st.sampled_from(["normal", "revenue", "counts", "constant", "integers"]))
    # Powers of two keep integer-valued data exact, so its sums are exact too.
    scale = 2.0 ** draw(st.integers(-10, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "normal":
        return rng.normal(draw(st.integers(-100, 100)), 1.0, n) * scale
    if kind == "revenue":
        bought = rng.random(n) < draw(st.sampled_from([0.05, 0.3, 0.9]))
        return bought * rng.lognormal(0.0, 1.0, n) * scale
    if kind == "counts":
        return rng.poisson(draw(st.sampled_from([0.1, 3.0, 1000.0])), n).astype(np.float64)
    if kind == "constant":
        return np.full(n, draw(CONSTANTS))
    return rng.integers(-5, 6, n) * scale


@st.composite
def conversion_arm(draw: st.DrawFn) -> np.ndarray:
    """One arm of a conversion metric: 0/1 per identity, rates 0 and 1 included."""
    n = draw(st.one_of(st.integers(1, 40), st.sampled_from([1, 3, 5000])))
    rate = draw(st.one_of(st.sampled_from([0.0, 1.0, 0.01, 0.5, 0.97]), st.floats(0.0, 1.0)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.random(n) < rate).astype(np.float64)


def direct_welch(
    control: np.ndarray, treatment: np.ndarray, alpha: float, ddof: int, scale: str
) -> dict[str, float]:
    """Welch's test straight from the raw arrays, on either scale.

    Relative: R = (m_t − m_c)/|m_c| and Var R = Var m_t/m_c² + m_t²·Var m_c/m_c⁴ (first-order
    delta method), with Var m = var/n; the df is Welch–Satterthwaite's on the means.
    """
    with np.errstate(all="ignore"):  # nan for a zero or undefined se is what the test reads
        m_c, m_t = np.mean(control), np.mean(treatment)
        var_mean_c = np.var(control, ddof=ddof) / control.size
        var_mean_t = np.var(treatment, ddof=ddof) / treatment.size
        df = (var_mean_c + var_mean_t) ** 2 / (
            var_mean_c**2 / (control.size - 1) + var_mean_t**2 / (treatment.size - 1)
        )
        if scale == "absolute":
            estimate, se = m_t - m_c, np.sqrt(var_mean_c + var_mean_t)
        elif m_c == 0:
            estimate = se = np.nan  # no relative change from 0; the df still exists
        else:
            estimate = (m_t - m_c) / abs(m_c)
            se = np.sqrt(var_mean_t / m_c**2 + m_t**2 * var_mean_c / m_c**4)
        p_value = 2 * scipy.stats.t.sf(abs(estimate / se), df)
        half = scipy.stats.t.ppf(1 - alpha / 2, df) * se
    return {
        "estimate": estimate,
        "se": se,
        "df": df,
        "p_value": p_value,
        "low": estimate - half,
        "high": estimate + half,
    }


def summarise(values: np.ndarray) -> SampleSummary:
    """(n, Σx, Σx²) as the event store would return them."""
    return SampleSummary.of(values.size, np.sum(values), np.sum(values * values))


def summarise_conversions(values: np.ndarray) -> ProportionSummary:
    """(n, conversions) of 0/1 data, as the event store returns a conversion metric."""
    return ProportionSummary.of(values.size, np.sum(values))


def well_conditioned(values: np.ndarray) -> bool:
    """True when Σx² is at most 1e4 times the centred sum of squares (or all x agree)."""
    centred = np.sum((values - values.mean()) ** 2)
    return is_constant(values) or bool(np.sum(values * values) <= 1e4 * centred)


def is_constant(values: np.ndarray) -> bool:
    """True when every identity has the same value."""
    return bool(np.all(values == values[0]))


def assert_p_value_close(actual: float, expected: float, rtol: float = 1e-9) -> None:
    """p-values agree to `rtol` relative; below 1e-50, their logarithms do.

    A tail that far out multiplies the last-bit rounding of Σx² by about |ln p|
    (100 to 700) on its way into p, and such a p-value is only ever read for its
    order of magnitude.
    """
    if expected >= 1e-50:
        assert_allclose(actual, expected, rtol=rtol, atol=1e-300)
    else:
        assert actual < 1e-49
        with np.errstate(divide="ignore"):  # both may underflow to 0: log 0 = -inf on each side
            assert_allclose(np.log(actual), np.log(expected), rtol=rtol)


@st.composite
def summary_pair(draw: st.DrawFn) -> tuple[Summary, Summary]:
    """(control, treatment) summaries of one comparison, of a numeric or a conversion metric.

    For properties that hold whatever the data, so no arm is left out as ill-conditioned.
    """
    if draw(st.booleans()):
        return summarise(draw(numeric_arm())), summarise(draw(numeric_arm()))
    return summarise_conversions(draw(conversion_arm())), summarise_conversions(
        draw(conversion_arm())
    )
