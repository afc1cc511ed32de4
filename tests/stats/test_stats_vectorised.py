"""Many comparisons in one call: same numbers as one at a time, no warnings, far faster."""

from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from liftlab.stats import SampleSummary, relative_lift, two_proportion_z_test, welch_t_test
from liftlab.stats.comparison import Comparison

# Degenerate arms sit beside ordinary ones: n = 0, n = 1, constants, all zeros.
NUMERIC_ARMS = [
    (0, 0.0, 0.0),
    (1, 3.0, 9.0),
    (4, 0.0, 0.0),
    (5, 0.5, 0.05),
    (7, 0.7, 0.07),
    (5, 10.0, 20.0),
    (50, 120.0, 1000.0),
    (3, 6.0, 14.0),
    (5000, 25_000.0, 130_000.0),
]
CONVERSION_ARMS = [(0, 0, 0), (1, 1, 1), (10, 0, 0), (10, 10, 10), (200, 17, 17), (3, 1, 1)]


def all_pairs(arms):
    """Every (control, treatment) pair of the given arms, as two stacked summaries."""
    pairs = [(c, t) for c in arms for t in arms]
    control = SampleSummary.of(*zip(*(c for c, _ in pairs), strict=True))
    treatment = SampleSummary.of(*zip(*(t for _, t in pairs), strict=True))
    return control, treatment


def element(summary: SampleSummary, index: int) -> SampleSummary:
    return SampleSummary.of(summary.n[index], summary.sum[index], summary.sum_sq[index])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("test", "arms"),
    [(welch_t_test, NUMERIC_ARMS), (two_proportion_z_test, CONVERSION_ARMS)],
)
def test_vectorised_call_equals_one_call_per_comparison(test, arms):
    control, treatment = all_pairs(arms)
    alpha = np.linspace(0.01, 0.2, control.shape[0])
    together = test(control, treatment, alpha)
    for index in range(control.shape[0]):
        alone = test(element(control, index), element(treatment, index), alpha[index])
        assert_array_equal(list(alone.at(()).values())[1:], list(together.at(index).values())[1:])


@pytest.mark.filterwarnings("error")
def test_degenerate_inputs_never_warn_or_raise():
    control, treatment = all_pairs(NUMERIC_ARMS)
    relative_lift(control, treatment)
    _ = control.variance, control.mean, control.mean_rounding


def test_outputs_keep_the_comparisons_shape():
    control = SampleSummary.of(np.full((2, 3), 10), np.arange(6.0).reshape(2, 3), 30.0)
    result = welch_t_test(control, SampleSummary.of(12, 4.0, 25.0), alpha=0.1)
    for name in Comparison.__dataclass_fields__:
        if name != "test":
            assert getattr(result, name).shape == (2, 3), name
    assert result.at((1, 2))["absolute_lift"] == pytest.approx(4 / 12 - 5 / 10)


def test_ten_thousand_comparisons_in_one_call_beat_a_loop_by_far():
    """Per comparison, one vectorised call must be at least 20x cheaper than a Python loop."""
    rng = np.random.default_rng(3)
    n = rng.integers(2, 10_000, (2, 10_000)).astype(float)
    means = rng.normal(10, 2, (2, 10_000))
    sums = n * means
    sum_sq = sums * means + (n - 1) * rng.uniform(1, 9, (2, 10_000))
    control, treatment = (SampleSummary.of(n[i], sums[i], sum_sq[i]) for i in range(2))

    start = time.perf_counter()
    welch_t_test(control, treatment)
    per_comparison_vectorised = (time.perf_counter() - start) / 10_000

    looped = 300
    start = time.perf_counter()
    for index in range(looped):
        welch_t_test(element(control, index), element(treatment, index))
    per_comparison_looped = (time.perf_counter() - start) / looped
    assert per_comparison_looped > 20 * per_comparison_vectorised
