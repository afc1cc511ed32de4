"""Sample-ratio mismatch agrees with scipy.stats.chisquare."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from liftlab.stats import sample_ratio_test


@st.composite
def split(draw: st.DrawFn) -> tuple[list[int], list[float]]:
    """Observed counts and positive weights for 2 to 6 variants."""
    k = draw(st.integers(2, 6))
    counts = draw(st.lists(st.integers(0, 10**7), min_size=k, max_size=k))
    weights = draw(st.lists(st.floats(0.01, 100.0), min_size=k, max_size=k))
    return counts, weights


@settings(max_examples=100, deadline=None)
@given(split())
def test_srm_matches_scipy_chisquare(counts_and_weights):
    counts, weights = counts_and_weights
    result = sample_ratio_test(counts, weights)
    assert result.df == len(counts) - 1
    total = sum(counts)
    if total == 0:
        assert math.isnan(result.chi2) and math.isnan(result.p_value)
        return
    expected = np.asarray(weights) / np.sum(weights) * total
    reference = scipy.stats.chisquare(counts, f_exp=expected)
    assert_allclose(result.chi2, reference.statistic, rtol=1e-9, atol=1e-12)
    assert_allclose(result.p_value, reference.pvalue, rtol=1e-9, atol=1e-300)


def test_a_fair_split_passes_and_a_skewed_one_fails():
    assert sample_ratio_test([5000, 5010], [50, 50]).p_value > 0.5
    assert sample_ratio_test([5000, 5400], [1, 1]).p_value < 1e-3


def test_zero_weight_variant_without_users_takes_no_part():
    with_idle = sample_ratio_test([480, 520, 0], [0.5, 0.5, 0.0])
    reference = scipy.stats.chisquare([480, 520])
    assert with_idle.df == 1
    assert_allclose([with_idle.chi2, with_idle.p_value], list(reference), rtol=1e-12)


def test_users_in_a_zero_weight_variant_are_a_certain_mismatch():
    result = sample_ratio_test([480, 520, 1], [1, 1, 0])
    assert (result.chi2, result.p_value) == (math.inf, 0.0)


def test_single_weighted_variant_has_nothing_to_test():
    result = sample_ratio_test([70], [1.0])
    assert (result.chi2, result.df) == (0.0, 0)
    assert math.isnan(result.p_value)


@pytest.mark.parametrize(
    ("counts", "weights"),
    [
        ([1, 2], [1.0]),
        ([1, -2], [1.0, 1.0]),
        ([1, 2], [1.0, -1.0]),
        ([1, 2], [0.0, 0.0]),
        ([1, 2], [1.0, math.inf]),
        ([[1, 2]], [[1.0, 1.0]]),
    ],
)
def test_invalid_split_is_refused(counts, weights):
    with pytest.raises(ValueError):
        sample_ratio_test(counts, weights)
