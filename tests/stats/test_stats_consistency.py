"""One statistic per comparison: an interval excludes 0 exactly where the p-value (or the
chance to win) says the effect is significant, at every level and after a correction.

A report shows the verdict, the p-value and the interval side by side; these properties are
what keeps the three from ever contradicting each other, on any generated comparison.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liftlab.stats import (
    Bayesian,
    FixedHorizon,
    Prior,
    Sequential,
    adjust,
    adjusted_alpha,
    effect,
)

from .stats_raw_data import ALPHAS, summary_pair

LEVELS = np.array([0.001, 0.01, 0.05, 0.1, 0.3])
SCALES = st.sampled_from(["absolute", "relative"])
TUNINGS = st.sampled_from([10.0, 1000.0, 1e5])
CORRECTIONS = st.sampled_from(["holm", "benjamini_hochberg", "none"])


def excludes_zero(interval: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    low, high = interval
    return (low > 0) | (high < 0)


@settings(max_examples=200, deadline=None)
@given(pair=summary_pair(), scale=SCALES, tuned=ALPHAS, tuning=TUNINGS)
def test_interval_excludes_zero_iff_p_is_below_its_level(pair, scale, tuned, tuning):
    measured = effect(*pair, scale)
    for test in (FixedHorizon(measured), Sequential(measured, tuned, tuning)):
        p_value = test.p_value
        np.testing.assert_array_equal(excludes_zero(test.interval(LEVELS)), p_value < LEVELS)


@settings(max_examples=200, deadline=None)
@given(pair=summary_pair(), scale=SCALES, direction=st.sampled_from([1.0, -1.0]))
def test_flat_prior_interval_excludes_zero_iff_the_chance_to_win_is_extreme(pair, scale, direction):
    measured = effect(*pair, scale)
    posterior = Bayesian(measured, Prior(), direction)
    chance = posterior.chance_to_win
    np.testing.assert_array_equal(
        excludes_zero(posterior.interval(LEVELS)),
        (chance > 1 - LEVELS / 2) | (chance < LEVELS / 2),
    )


@settings(max_examples=150, deadline=None)
@given(
    pairs=st.lists(summary_pair(), min_size=1, max_size=8),
    scale=SCALES,
    sequential=st.booleans(),
    correction=CORRECTIONS,
    alpha=ALPHAS,
)
def test_adjusted_interval_excludes_zero_iff_the_adjusted_p_is_below_alpha(
    pairs, scale, sequential, correction, alpha
):
    """At level adjusted_alpha(p, p_adj, alpha) each interval tells what p_adj < alpha tells."""
    tests = [
        Sequential(effect(*pair, scale), 0.05, 1000.0)
        if sequential
        else FixedHorizon(effect(*pair, scale))
        for pair in pairs
    ]
    p_values = np.array([float(test.p_value) for test in tests])
    adjusted = adjust(p_values, correction)
    levels = adjusted_alpha(p_values, adjusted, alpha)
    for test, level, p_adjusted in zip(tests, levels, adjusted, strict=True):
        if np.isnan(p_adjusted):
            assert np.isnan(level)
            continue
        assert alpha / len(tests) * (1 - 1e-12) <= level <= alpha
        assert excludes_zero(test.interval(level)) == (p_adjusted < alpha)
