"""Holm and Benjamini–Hochberg against statsmodels' multipletests on random families."""

from __future__ import annotations

import gc
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from statsmodels.stats.multitest import multipletests

from liftlab.stats import adjust, adjusted_alpha

# Repeated values make ties; 0, 1 and nan are the p-values of degenerate comparisons.
P_VALUES = st.one_of(
    st.floats(0.0, 1.0),
    st.sampled_from([0.0, 1e-300, 1e-12, 0.001, 0.01, 0.04, 0.05, 0.2, 1.0, np.nan]),
)
FAMILIES = st.lists(P_VALUES, min_size=0, max_size=40).map(np.array)
STATSMODELS = {"holm": "holm", "benjamini_hochberg": "fdr_bh"}
# Below this, alpha·p (alpha ≥ 0.01) is subnormal: adjusted_alpha loses digits, or all of them.


@settings(max_examples=300, deadline=None)
@given(p_values=FAMILIES, correction=st.sampled_from(sorted(STATSMODELS)))
def test_adjust_matches_statsmodels(p_values, correction):
    """statsmodels takes no nan: it sees the family without them, and they stay nan."""
    adjusted = adjust(p_values, correction)
    present = ~np.isnan(p_values)
    assert_array_equal(np.isnan(adjusted), ~present)
    if present.any():
        # statsmodels' Holm branch calls gc.collect() (55 ms in a test process) for nothing
        # the result depends on.
        with mock.patch.object(gc, "collect"):
            _, expected, _, _ = multipletests(p_values[present], method=STATSMODELS[correction])
        # Subnormal p-values (5e-324) carry no relative precision: m·p/k and p·(m/k) differ.
        assert_allclose(adjusted[present], expected, rtol=1e-12, atol=1e-300)


@settings(max_examples=100, deadline=None)
@given(p_values=FAMILIES)
def test_no_correction_returns_the_p_values(p_values):
    assert_array_equal(adjust(p_values, "none"), p_values)


@settings(max_examples=200, deadline=None)
@given(
    p_values=FAMILIES,
    correction=st.sampled_from(["holm", "benjamini_hochberg", "none"]),
    alpha=st.sampled_from([0.05, 0.01, 0.1]),
)
def test_adjusted_level_lies_between_bonferroni_and_alpha(p_values, correction, alpha):
    """alpha·p/p_adj: alpha/m at the strictest (Bonferroni), alpha where nothing is adjusted."""
    adjusted = adjust(p_values, correction)
    levels = adjusted_alpha(p_values, adjusted, alpha)
    present = ~np.isnan(p_values)
    assert_array_equal(np.isnan(levels), ~present)
    m = max(int(present.sum()), 1)
    assert np.all(levels[present] >= alpha / m * (1 - 1e-12))
    assert np.all(levels[present] <= alpha)
    # p < level says what p_adj < alpha says, except where p_adj is alpha itself (0.05 twice
    # under Holm at 0.1): alpha·p/p_adj may round either way of p there.
    decided = present & ~np.isclose(adjusted, alpha, rtol=1e-15, atol=0)
    assert_array_equal((p_values < levels)[decided], (adjusted < alpha)[decided])


@pytest.mark.parametrize("p_value", [5e-324, 1e-318])
def test_adjusted_level_of_a_tiny_p_value(p_value):
    """A Welch p-value of 1e-318 is a t of 38; its level must not be 0 (interval(0) raises).

    alpha·p/p_adj underflows to 0 (or to few digits); alpha·(p/p_adj) would not.
    """
    p_values = np.array([p_value, 0.5])
    adjusted = adjust(p_values, "holm")
    assert_allclose(adjusted_alpha(p_values, adjusted, 0.05), [0.025, 0.05], rtol=1e-12)


def test_holm_on_a_known_family():
    """Sorted 0.01, 0.02, 0.03, 0.5: Holm multiplies by 4, 3, 2, 1, then keeps it monotone."""
    assert_allclose(adjust([0.03, 0.5, 0.01, 0.02], "holm"), [0.06, 0.5, 0.04, 0.06])


def test_benjamini_hochberg_on_a_known_family():
    """m·p/rank, then the running minimum from the top: 0.04, 0.04, 0.04, 0.5."""
    adjusted = adjust([0.03, 0.5, 0.01, 0.02], "benjamini_hochberg")
    assert_allclose(adjusted, [0.04, 0.5, 0.04, 0.04])


def test_an_empty_family_adjusts_to_nothing():
    assert adjust([], "holm").shape == (0,)
    assert np.isnan(adjust([np.nan, np.nan], "benjamini_hochberg")).all()


@pytest.mark.parametrize(("p_values", "correction"), [([[0.1, 0.2]], "holm"), ([0.1], "hochberg")])
def test_invalid_family_or_correction_is_refused(p_values, correction):
    with pytest.raises(ValueError):
        adjust(p_values, correction)
