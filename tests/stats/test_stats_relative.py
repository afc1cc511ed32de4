"""Relative lift and its delta-method interval, against a direct computation on raw data.

The reference below shares no code with liftlab: it reads the raw arrays with
np.mean / np.var and writes the textbook formula
    Var R ≈ var_t/(n_t·m_c²) + m_t²·var_c/(n_c·m_c⁴).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from numpy.testing import assert_allclose

from liftlab.stats import SampleSummary, relative_lift, two_proportion_z_test, welch_t_test

from .stats_raw_data import (
    ALPHAS,
    conversion_arm,
    is_constant,
    numeric_arm,
    summarise,
    well_conditioned,
)

RTOL = 1e-9


def direct_relative(control: np.ndarray, treatment: np.ndarray, alpha: float, ddof: int):
    """(lift, se, low, high) straight from the raw data; nan when the control mean is 0."""
    m_c, m_t = np.mean(control), np.mean(treatment)
    if m_c == 0:
        return (np.nan,) * 4
    var_c, var_t = np.var(control, ddof=ddof), np.var(treatment, ddof=ddof)
    lift = (m_t - m_c) / abs(m_c)
    se = np.sqrt(var_t / (treatment.size * m_c**2) + m_t**2 * var_c / (control.size * m_c**4))
    z = scipy.stats.norm.ppf(1 - alpha / 2)
    return lift, se, lift - z * se, lift + z * se


def assert_matches(got, expected) -> None:
    """Lift and se relative to their own size, interval bounds relative to lift + se."""
    lift, se, low, high = (float(value) for value in got)
    if np.isnan(expected[0]):
        assert np.isnan([lift, se, low, high]).all()
        return
    scale = abs(expected[0]) + expected[1]
    assert_allclose([lift, se], expected[:2], rtol=RTOL, atol=RTOL * scale)
    assert_allclose([low, high], expected[2:], rtol=0, atol=RTOL * scale)


@settings(max_examples=150, deadline=None)
@given(control=numeric_arm(), treatment=numeric_arm(), alpha=ALPHAS)
def test_relative_lift_matches_direct_delta_method(control, treatment, alpha):
    assume(well_conditioned(control) and well_conditioned(treatment))
    # Raw np.var of a constant like 0.1 is a rounding residue (~1e-34), not 0;
    # both arms constant is the documented zero-width case, tested below.
    assume(not (is_constant(control) and is_constant(treatment)))
    expected = direct_relative(control, treatment, alpha, ddof=1)
    control_summary, treatment_summary = summarise(control), summarise(treatment)
    assert_matches(relative_lift(control_summary, treatment_summary, alpha), expected)
    welch = welch_t_test(control_summary, treatment_summary, alpha)
    assert_matches(
        (welch.relative_lift, welch.relative_se, welch.relative_ci_low, welch.relative_ci_high),
        expected,
    )


@settings(max_examples=100, deadline=None)
@given(control=conversion_arm(), treatment=conversion_arm(), alpha=ALPHAS)
def test_conversion_relative_lift_uses_binomial_variance(control, treatment, alpha):
    """For 0/1 data the z-test's relative interval uses p(1 − p)/n, like its Wald interval."""
    result = two_proportion_z_test(summarise(control), summarise(treatment), alpha)
    assert_matches(
        (result.relative_lift, result.relative_se, result.relative_ci_low, result.relative_ci_high),
        direct_relative(control, treatment, alpha, ddof=0),
    )


def test_negative_control_mean_divides_by_its_magnitude():
    """From −10 to −5 is an improvement of +50%, not −50%."""
    lift, se, low, high = relative_lift(
        SampleSummary.from_values([-9.0, -11.0]), SampleSummary.from_values([-4.0, -6.0])
    )
    assert lift == pytest.approx(0.5)
    assert low < 0.5 < high
    expected = direct_relative(np.array([-9.0, -11.0]), np.array([-4.0, -6.0]), 0.05, ddof=1)
    assert_allclose([lift, se, low, high], expected, rtol=RTOL)


def test_zero_control_mean_gives_nan():
    lift, se, low, high = relative_lift(
        SampleSummary.from_values([-1.0, 1.0]), SampleSummary.from_values([2.0, 3.0])
    )
    assert np.isnan([lift, se, low, high]).all()


def test_two_constant_arms_give_a_zero_width_interval():
    lift, se, low, high = relative_lift(
        SampleSummary.from_values([4.0] * 3), SampleSummary.from_values([5.0] * 9)
    )
    assert (lift, se, low, high) == (0.25, 0.0, 0.25, 0.25)


def test_same_constant_rounded_apart_is_no_relative_change():
    lift, se, low, high = relative_lift(
        SampleSummary.from_values([0.1] * 5), SampleSummary.from_values([0.1] * 7)
    )
    assert (lift, se, low, high) == (0.0, 0.0, 0.0, 0.0)


def test_tiny_control_mean_does_not_underflow():
    """m_c⁴ underflows for m_c = 1e-90; the rearranged formula does not need it."""
    control = SampleSummary.of(4, 4e-90, 2e-179)
    treatment = SampleSummary.of(4, 8e-90, 2e-179)
    lift, se, low, high = relative_lift(control, treatment)
    assert lift == pytest.approx(1.0)
    assert np.isfinite([se, low, high]).all() and se > 0
