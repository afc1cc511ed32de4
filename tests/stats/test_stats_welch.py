"""Welch's t-test on summaries agrees with scipy.stats.ttest_ind on the raw data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from numpy.testing import assert_allclose

from liftlab.stats import SampleSummary, welch_t_test

from .stats_raw_data import (
    ALPHAS,
    assert_p_value_close,
    is_constant,
    numeric_arm,
    summarise,
    well_conditioned,
)

RTOL = 1e-9


def scipy_welch(control: np.ndarray, treatment: np.ndarray, alpha: float):
    """The reference: scipy on the raw arrays, treatment first so the effect is t − c."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        result = scipy.stats.ttest_ind(treatment, control, equal_var=False)
        return result, result.confidence_interval(confidence_level=1 - alpha)


def assert_close_to_scale(actual: float, expected: float, scale: float) -> None:
    """Relative agreement, measured against the quantity's natural scale.

    Interval bounds near zero are differences of two larger numbers, so their own
    size is no yardstick; the effect plus the half-width is.
    """
    assert abs(actual - expected) <= RTOL * scale, (actual, expected, scale)


@settings(max_examples=200, deadline=None)
@given(control=numeric_arm(), treatment=numeric_arm(), alpha=ALPHAS)
def test_welch_matches_scipy_on_raw_data(control, treatment, alpha):
    assume(well_conditioned(control) and well_conditioned(treatment))
    result = welch_t_test(summarise(control), summarise(treatment), alpha)
    if is_constant(control) and is_constant(treatment):
        return  # scipy has no usable answer here; the convention is tested below
    reference, interval = scipy_welch(control, treatment, alpha)
    assert_allclose(result.statistic, reference.statistic, rtol=RTOL)
    assert_allclose(result.df, reference.df, rtol=RTOL)
    assert_p_value_close(result.p_value, reference.pvalue)
    effect = treatment.mean() - control.mean()
    scale = abs(effect) + float(interval.high - interval.low)
    assert_close_to_scale(float(result.absolute_lift), effect, scale)
    assert_close_to_scale(float(result.ci_low), float(interval.low), scale)
    assert_close_to_scale(float(result.ci_high), float(interval.high), scale)


@settings(max_examples=60, deadline=None)
@given(control=numeric_arm(), treatment=numeric_arm(), alpha=ALPHAS)
def test_two_constant_arms_give_a_certain_answer(control, treatment, alpha):
    """Both arms constant: se = 0, df undefined; p = 1 if the constants agree, else p = 0.

    scipy gives nan for equal constants (0/0) and, because it reads raw values,
    even p ≈ 0.05 for 0.1 repeated 5 vs 7 times (the means round apart).
    """
    control = np.full(control.size, control[0])
    treatment = np.full(treatment.size, treatment[0])
    result = welch_t_test(summarise(control), summarise(treatment), alpha)
    effect = treatment[0] - control[0]
    assert result.se == 0
    assert np.isnan(result.df)
    if effect == 0:
        assert (result.statistic, result.p_value, result.absolute_lift) == (0, 1, 0)
    else:
        assert result.statistic == np.copysign(np.inf, effect)
        assert result.p_value == 0
        assert_allclose(result.absolute_lift, effect, rtol=1e-12)
    assert result.ci_low == result.ci_high == result.absolute_lift


def test_repeated_decimal_constant_is_not_a_difference():
    """0.1 summed 5 and 7 times rounds to different means; that is no effect."""
    five, seven = SampleSummary.from_values([0.1] * 5), SampleSummary.from_values([0.1] * 7)
    result = welch_t_test(five, seven)
    assert (result.p_value, result.statistic, result.absolute_lift) == (1, 0, 0)


def test_different_constants_match_scipy_limit():
    ones, twos = SampleSummary.from_values([1.0, 1.0]), SampleSummary.from_values([2.0] * 3)
    result = welch_t_test(ones, twos)
    reference, interval = scipy_welch(np.array([1.0, 1.0]), np.array([2.0] * 3), 0.05)
    assert (result.statistic, result.p_value) == (reference.statistic, reference.pvalue)
    assert (result.ci_low, result.ci_high) == (interval.low, interval.high)


@pytest.mark.parametrize("n_control", [0, 1])
def test_arm_too_small_for_a_variance_gives_nan(n_control):
    control = SampleSummary.of(n_control, 3.0 * n_control, 9.0 * n_control)
    result = welch_t_test(control, SampleSummary.from_values([1.0, 2.0, 4.0]))
    for name in ("se", "ci_low", "ci_high", "statistic", "df", "p_value", "relative_se"):
        assert np.isnan(getattr(result, name)), name
    assert np.isnan(result.absolute_lift) == (n_control == 0)
    if n_control == 1:
        assert result.absolute_lift == pytest.approx(7 / 3 - 3)


def test_one_constant_arm_takes_df_from_the_other():
    """Zero variance in one arm only is no special case: df = n_other − 1, as in scipy."""
    result = welch_t_test(
        SampleSummary.from_values([5.0] * 10), SampleSummary.from_values([1.0, 2.0, 6.0])
    )
    assert result.df == pytest.approx(2.0, rel=1e-12)
    assert 0 < result.p_value < 1


def test_alpha_per_comparison():
    data = np.random.default_rng(7).normal(0, 1, (2, 30))
    control, treatment = SampleSummary.from_values(data[0]), SampleSummary.from_values(data[1])
    both = welch_t_test(
        SampleSummary.of([control.n] * 2, [control.sum] * 2, [control.sum_sq] * 2),
        treatment,
        alpha=[0.05, 0.01],
    )
    for index, alpha in enumerate((0.05, 0.01)):
        _, interval = scipy_welch(data[0], data[1], alpha)
        assert_allclose([both.ci_low[index], both.ci_high[index]], interval, rtol=RTOL)
    assert both.p_value[0] == both.p_value[1]


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, float("nan"), [0.05, 1.5]])
def test_alpha_outside_zero_one_is_refused(alpha):
    arm = SampleSummary.from_values([1.0, 2.0])
    with pytest.raises(ValueError, match="alpha"):
        welch_t_test(arm, arm, alpha)
