"""SampleSummary and ProportionSummary: shapes, refusals, means and variances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from numpy.testing import assert_allclose

from liftlab.stats import ProportionSummary, SampleSummary

from .stats_raw_data import (
    conversion_arm,
    is_constant,
    numeric_arm,
    summarise,
    summarise_conversions,
    well_conditioned,
)


def test_of_broadcasts_scalars_and_lists_to_float_arrays():
    summary = SampleSummary.of([10, 20, 30], 5, [7.0, 8.0, 9.0])
    for array in (summary.n, summary.sum, summary.sum_sq):
        assert array.dtype == np.float64 and array.shape == (3,)
    assert summary.shape == (3,)
    assert SampleSummary.of(1, 2, 4).shape == ()


def test_fields_are_read_only_and_do_not_alias_the_caller():
    n = np.array([3.0, 4.0])
    summary = SampleSummary.of(n, [1.0, 2.0], [1.0, 2.0])
    n[0] = 99
    assert summary.n[0] == 3
    with pytest.raises(ValueError, match="read-only"):
        summary.sum[0] = 5


@pytest.mark.parametrize("n", [-1, float("nan"), [3, -2]])
def test_negative_or_missing_count_is_refused(n):
    with pytest.raises(ValueError, match="n must be"):
        SampleSummary.of(n, 0, 0)


def test_mean_and_variance_need_one_and_two_identities():
    summary = SampleSummary.of([0, 1, 2], [0.0, 5.0, 3.0], [0.0, 25.0, 5.0])
    assert np.isnan(summary.mean[0]) and summary.mean[1] == 5 and summary.mean[2] == 1.5
    assert np.isnan(summary.variance[:2]).all()
    assert summary.variance[2] == pytest.approx(np.var([1.0, 2.0], ddof=1))


@settings(max_examples=100, deadline=None)
@given(values=numeric_arm())
def test_variance_matches_numpy_on_raw_data(values):
    summary = summarise(values)
    if is_constant(values):
        assert summary.variance == 0
    elif well_conditioned(values):
        assert_allclose(summary.variance, np.var(values, ddof=1), rtol=1e-10)
    assert_allclose(summary.mean, np.mean(values), rtol=1e-12, atol=1e-300)


def test_variance_is_exact_where_the_textbook_formula_cancels():
    """(Σx² − (Σx)²/n)/(n − 1) gives 2.34375 for 1e7 + {0, 1, 3}; the truth is 7/3.

    The sums are exact here, so error-free products recover the variance to the last bit.
    """
    summary = summarise(1e7 + np.array([0.0, 1.0, 3.0]))
    assert summary.variance == 7.0 / 3.0
    textbook = (summary.sum_sq - summary.sum**2 / summary.n) / (summary.n - 1)
    assert textbook == 2.34375


def test_rounding_residue_of_a_constant_is_zero_not_negative():
    """A million naively summed 0.1s leave Σx² − (Σx)²/n ≠ 0; that is noise, so variance is 0."""
    n = 1_000_000
    naive_sum = naive_sum_sq = 0.0
    for _ in range(n):
        naive_sum += 0.1
        naive_sum_sq += 0.1 * 0.1
    summary = SampleSummary.of(n, naive_sum, naive_sum_sq)
    assert naive_sum != n * 0.1
    assert summary.variance == 0
    assert abs(summary.mean - 0.1) <= summary.mean_rounding


def test_from_values_reduces_along_an_axis():
    data = np.arange(12.0).reshape(3, 4)
    summary = SampleSummary.from_values(data, axis=0)
    assert summary.shape == (4,)
    assert_allclose(summary.mean, data.mean(axis=0))
    assert_allclose(summary.variance, data.var(axis=0, ddof=1))


def test_proportions_broadcast_and_are_read_only():
    summary = ProportionSummary.of([10, 20, 30], 5)
    assert summary.shape == (3,) and summary.sum.dtype == np.float64
    assert ProportionSummary.of(4, 1).shape == ()
    with pytest.raises(ValueError, match="read-only"):
        summary.n[0] = 5


@pytest.mark.parametrize(
    ("n", "conversions", "message"),
    [(-1, 0, "n must be"), (10, 11, "between 0 and n"), (10, -1, "between 0 and n"),
     (10, float("nan"), "between 0 and n"), ([5, 5], [2, 6], "between 0 and n")],
)  # fmt: skip
def test_counts_that_are_not_proportions_are_refused(n, conversions, message):
    with pytest.raises(ValueError, match=message):
        ProportionSummary.of(n, conversions)


@settings(max_examples=100, deadline=None)
@given(values=conversion_arm())
def test_proportion_variance_is_the_binomial_one_of_the_raw_data(values):
    """p(1 − p): np.var with ddof=0 of the 0/1 values, exactly 0 when all agree."""
    summary = summarise_conversions(values)
    assert_allclose(summary.mean, values.mean(), rtol=1e-15)
    if is_constant(values):
        assert summary.variance == 0
    else:
        assert_allclose(summary.variance, np.var(values), rtol=1e-12)
    assert summary.mean_rounding == 0


def test_an_empty_proportion_has_no_rate():
    summary = ProportionSummary.of([0, 4], [0, 1])
    assert np.isnan(summary.mean[0]) and np.isnan(summary.variance[0])
    assert (summary.mean[1], summary.variance[1]) == (0.25, 0.1875)
