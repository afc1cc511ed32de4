"""Sequential against the formulas of Waudby-Smith et al. (arXiv:2103.06476v7) on raw data.

The reference below writes the paper's equations as printed, from np.mean / np.var of the raw
arrays: eq. 161 (ρ for a tuning n*), eq. 9 (the interval) and eq. 155 (the mixture e-value,
whose reciprocal is the p-value). gbstats' SequentialTwoSidedTTest is checked in
test_stats_gbstats.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from liftlab.stats import FixedHorizon, SampleSummary, Sequential, effect

from .stats_raw_data import (
    ALPHAS,
    assert_p_value_close,
    direct_welch,
    is_constant,
    numeric_arm,
    summarise,
    summary_pair,
    well_conditioned,
)

RTOL = 1e-9
TUNINGS = st.sampled_from([10.0, 100.0, 5000.0, 1e6])
SCALES = st.sampled_from(["absolute", "relative"])


def paper_sequence(
    control: np.ndarray, treatment: np.ndarray, tuned: float, tuning: float, alpha: float, scale
) -> dict[str, float]:
    """(estimate, low, high, p) of the asymptotic confidence sequence, by the paper's equations.

    ``tuned`` is the alpha ρ is chosen for, ``alpha`` the level of the interval read.
    """
    welch = direct_welch(control, treatment, alpha, 1, scale)
    estimate, variance = welch["estimate"], welch["se"] ** 2
    n = control.size + treatment.size
    rho = np.sqrt((-2 * np.log(tuned) + np.log(-2 * np.log(tuned) + 1)) / tuning)  # eq. 161
    s2 = variance * n  # the per-identity variance of the estimate
    half = np.sqrt(s2) * np.sqrt(
        2 * (n * rho**2 + 1) / (n**2 * rho**2) * np.log(np.sqrt(n * rho**2 + 1) / alpha)
    )  # eq. 9
    sum_t = n * estimate  # S_t, the sum of the per-identity effects
    # eq. 155 in logarithms: the e-value itself overflows long before its reciprocal underflows.
    # A zero variance (an arm of zeros against a tiny effect) makes it infinite: p = 0.
    with np.errstate(divide="ignore"):
        log_e_value = rho**2 * sum_t**2 / s2 / (2 * (n * rho**2 + 1)) - np.log(n * rho**2 + 1) / 2
    return {
        "estimate": estimate,
        "low": estimate - half,
        "high": estimate + half,
        "p_value": min(1.0, np.exp(-log_e_value)),
    }


@settings(max_examples=150, deadline=None)
@given(
    control=numeric_arm(),
    treatment=numeric_arm(),
    tuned=ALPHAS,
    alpha=ALPHAS,
    tuning=TUNINGS,
    scale=SCALES,
)
def test_sequential_matches_the_paper_on_raw_data(control, treatment, tuned, alpha, tuning, scale):
    assume(well_conditioned(control) and well_conditioned(treatment))
    assume(not (is_constant(control) and is_constant(treatment)))
    assume(control.mean() != 0 or scale == "absolute")
    expected = paper_sequence(control, treatment, tuned, tuning, alpha, scale)
    test = Sequential(effect(summarise(control), summarise(treatment), scale), tuned, tuning)
    low, high = test.interval(alpha)
    scale_of_bounds = abs(expected["estimate"]) + (expected["high"] - expected["low"]) / 2
    assert abs(low - expected["low"]) <= RTOL * scale_of_bounds
    assert abs(high - expected["high"]) <= RTOL * scale_of_bounds
    assert_p_value_close(test.p_value, expected["p_value"])


@settings(max_examples=150, deadline=None)
@given(pair=summary_pair(), tuned=ALPHAS, alpha=ALPHAS, tuning=TUNINGS, scale=SCALES)
def test_sequential_interval_is_wider_than_the_fixed_normal_one(pair, tuned, alpha, tuning, scale):
    """Whatever ρ, the sequence read at level alpha is valid at every look, hence at any one:
    so it is at least as wide as z_(1 − alpha/2)·se, the narrowest interval valid at one look.
    """
    measured = effect(*pair, scale)
    assume(np.isfinite(measured.se) and measured.se > 0)
    low, high = Sequential(measured, tuned, tuning).interval(alpha)
    normal = scipy.stats.norm.ppf(1 - alpha / 2) * measured.se
    assert (high - low) / 2 >= normal * (1 - 1e-12)


def test_rho_is_tuned_for_the_given_sample_size():
    """eq. 161: ρ² = (−2 ln α + ln(1 − 2 ln α))/n*; at α = 0.05, n* = 5000: 1.5872e-3."""
    measured = effect(SampleSummary.of(10, 5, 5), SampleSummary.of(10, 6, 6), "absolute")
    rho2 = Sequential(measured, 0.05, 5000).rho_squared
    assert rho2 == pytest.approx((-2 * np.log(0.05) + np.log(1 - 2 * np.log(0.05))) / 5000)
    assert rho2 == pytest.approx(1.5872e-3, rel=1e-4)


def test_the_issue_vector():
    """The issue's numbers through gbstats' SequentialTwoSidedTTest (alpha 0.05, n* = 5000)."""
    control = SampleSummary.of(3407, 1396.87, 52377.9767)
    treatment = SampleSummary.of(3461, 2422.7, 134698.29)
    test = Sequential(effect(control, treatment, "relative"), 0.05, 5000)
    assert test.p_value == pytest.approx(0.6986728582483058, rel=1e-12)
    assert_allclose(test.interval(0.05), [-0.4444237691289097, 1.859057915470373], rtol=1e-12)


def test_no_difference_gives_p_one_and_a_symmetric_interval():
    arm = SampleSummary.from_values([1.0, 2.0, 4.0, 7.0])
    test = Sequential(effect(arm, arm, "absolute"), 0.05, 100)
    low, high = test.interval(0.05)
    assert test.p_value == 1 and low == -high and high > 0


def test_sequential_is_more_cautious_than_fixed_horizon():
    """The price of looking at any time: the same data give a larger p-value."""
    rng = np.random.default_rng(11)
    control = SampleSummary.from_values(rng.normal(10.0, 2.0, 2000))
    treatment = SampleSummary.from_values(rng.normal(10.2, 2.0, 2000))
    measured = effect(control, treatment, "absolute")
    fixed_p, sequential_p = FixedHorizon(measured).p_value, Sequential(measured, 0.05, 4000).p_value
    assert fixed_p < 1e-3 < 1e-2 < sequential_p < 1


@pytest.mark.parametrize("alpha", [0.0, 1.0, float("nan")])
def test_alpha_outside_zero_one_is_refused(alpha):
    arm = SampleSummary.from_values([1.0, 2.0])
    with pytest.raises(ValueError, match="alpha"):
        Sequential(effect(arm, arm, "absolute"), 0.05, 100).interval(alpha)
