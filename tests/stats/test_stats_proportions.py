"""The two-proportion z-test agrees with statsmodels on the raw 0/1 data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from numpy.testing import assert_allclose, assert_array_equal
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from liftlab.stats import SampleSummary, two_proportion_z_test

from .stats_raw_data import ALPHAS, assert_p_value_close, conversion_arm, summarise

RTOL = 1e-9


def statsmodels_reference(control: np.ndarray, treatment: np.ndarray, alpha: float):
    """Pooled z-test and Wald interval of p_t − p_c, from the raw conversions."""
    counts = [treatment.sum(), control.sum()]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        z, p = proportions_ztest(counts, [treatment.size, control.size])
        low, high = confint_proportions_2indep(
            counts[0], treatment.size, counts[1], control.size,
            method="wald", compare="diff", alpha=alpha,
        )  # fmt: skip
    return z, p, low, high


@settings(max_examples=150, deadline=None)
@given(control=conversion_arm(), treatment=conversion_arm(), alpha=ALPHAS)
def test_z_test_matches_statsmodels_on_raw_data(control, treatment, alpha):
    result = two_proportion_z_test(summarise(control), summarise(treatment), alpha)
    z, p, low, high = statsmodels_reference(control, treatment, alpha)
    effect = treatment.mean() - control.mean()
    assert_allclose(result.absolute_lift, effect, rtol=RTOL, atol=1e-15)
    pooled = (control.sum() + treatment.sum()) / (control.size + treatment.size)
    if pooled in (0.0, 1.0):
        # statsmodels divides 0 by 0 here; no conversions anywhere (or only
        # conversions) is no evidence of a difference: z = 0, p = 1.
        assert np.isnan(z)
        assert (result.statistic, result.p_value) == (0, 1)
    else:
        assert_allclose(result.statistic, z, rtol=RTOL)
        assert_p_value_close(result.p_value, p)
    scale = abs(effect) + (high - low)
    assert abs(result.ci_low - low) <= RTOL * scale + 1e-15
    assert abs(result.ci_high - high) <= RTOL * scale + 1e-15
    assert np.isnan(result.df)


def test_all_and_nothing_converting_have_a_certain_interval():
    """0 of 10 against 8 of 8: the Wald interval has zero width, the pooled test does not."""
    result = two_proportion_z_test(SampleSummary.of(10, 0, 0), SampleSummary.of(8, 8, 8))
    z, p, low, high = statsmodels_reference(np.zeros(10), np.ones(8), 0.05)
    assert (result.ci_low, result.ci_high, result.se) == (1, 1, 0)
    assert (low, high) == (1, 1)
    assert_allclose([result.statistic, result.p_value], [z, p], rtol=RTOL)
    assert np.isnan(result.relative_lift)  # control rate 0


def test_empty_arm_gives_nan():
    result = two_proportion_z_test(SampleSummary.of(0, 0, 0), SampleSummary.of(5, 2, 2))
    for name in ("absolute_lift", "se", "ci_low", "statistic", "p_value", "relative_lift"):
        assert np.isnan(getattr(result, name)), name


def test_sum_of_squares_is_not_read():
    """Conversions are 0/1, so Σx² = Σx; a caller who leaves it 0 gets the same answer."""
    with_squares = two_proportion_z_test(SampleSummary.of(40, 9, 9), SampleSummary.of(50, 20, 20))
    without = two_proportion_z_test(SampleSummary.of(40, 9, 0), SampleSummary.of(50, 20, 0))
    assert_array_equal(list(with_squares.at(()).values()), list(without.at(()).values()))


@pytest.mark.parametrize(("n", "conversions"), [(10, 11), (10, -1), (10, float("nan"))])
def test_conversions_outside_zero_to_n_are_refused(n, conversions):
    with pytest.raises(ValueError, match="treatment: conversions"):
        two_proportion_z_test(SampleSummary.of(10, 3, 3), SampleSummary.of(n, conversions, 0))
