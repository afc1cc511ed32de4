"""Many comparisons in one call: the numbers of one call per comparison, and no warnings.

The arms below put degenerate cases (n = 0, n = 1, constants, all zeros, control mean 0, rates
of 0 and 1) beside ordinary ones, and every pair of them is one comparison.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from liftlab.stats import (
    Bayesian,
    FixedHorizon,
    Prior,
    ProportionSummary,
    SampleSummary,
    Sequential,
    Summary,
    adjust,
    adjusted_alpha,
    effect,
)

NUMERIC_ARMS = [
    (0, 0.0, 0.0),
    (1, 3.0, 9.0),
    (4, 0.0, 0.0),
    (3, 0.0, 8.0),
    (5, 0.5, 0.05),
    (7, 0.7, 0.07),
    (5, 10.0, 20.0),
    (5, -10.0, 20.0),
    (50, 120.0, 1000.0),
    (5000, 25_000.0, 130_000.0),
]
CONVERSION_ARMS = [(0, 0), (1, 1), (10, 0), (10, 10), (200, 17), (3, 1)]
SCALES = ["absolute", "relative"]


def all_pairs(arms: list[tuple], kind: type) -> tuple[Summary, Summary]:
    """Every (control, treatment) pair of the given arms, as two stacked summaries."""
    pairs = [(c, t) for c in arms for t in arms]
    control = kind.of(*zip(*(c for c, _ in pairs), strict=True))
    treatment = kind.of(*zip(*(t for _, t in pairs), strict=True))
    return control, treatment


def element(summary: Summary, index: int) -> Summary:
    """Comparison ``index`` of a stacked summary, as a summary of its own (0-d)."""
    if isinstance(summary, ProportionSummary):
        return ProportionSummary.of(summary.n[index], summary.sum[index])
    return SampleSummary.of(summary.n[index], summary.sum[index], summary.sum_sq[index])


def every_output(
    control: Summary, treatment: Summary, scale: str, alpha: np.ndarray, direction: np.ndarray
) -> dict[str, np.ndarray]:
    """Everything a report reads, from every method; ``alpha`` and ``direction`` per comparison."""
    measured = effect(control, treatment, scale)
    fixed, sequential = FixedHorizon(measured), Sequential(measured, 0.05, 500.0)
    outputs = {
        "estimate": measured.estimate,
        "variance": measured.variance,
        "df": measured.df,
        "statistic": fixed.statistic,
        "fixed p": fixed.p_value,
        "fixed interval": np.stack(fixed.interval(alpha)),
        "sequential p": sequential.p_value,
        "sequential interval": np.stack(sequential.interval(alpha)),
    }
    for name, prior in (("flat", Prior()), ("proper", Prior(0.1, 0.5))):
        posterior = Bayesian(measured, prior, direction)
        outputs |= {
            f"{name} mean": posterior.posterior_mean,
            f"{name} sd": posterior.posterior_sd,
            f"{name} chance": posterior.chance_to_win,
            f"{name} risk": np.stack(posterior.risk),
            f"{name} interval": np.stack(posterior.interval(alpha)),
        }
    return outputs


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize(
    ("arms", "kind"),
    [(NUMERIC_ARMS, SampleSummary), (CONVERSION_ARMS, ProportionSummary)],
    ids=["sample-mean", "proportion"],
)
def test_vectorised_call_equals_one_call_per_comparison(arms, kind, scale):
    control, treatment = all_pairs(arms, kind)
    count = control.shape[0]
    alpha = np.linspace(0.01, 0.2, count)
    direction = np.where(np.arange(count) % 3 == 0, -1.0, 1.0)
    together = every_output(control, treatment, scale, alpha, direction)
    for index in range(count):
        alone = every_output(
            element(control, index), element(treatment, index), scale, alpha[index],
            direction[index],
        )  # fmt: skip
        for name, value in alone.items():
            assert_array_equal(value, together[name][..., index], err_msg=f"{name} #{index}")


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize(
    ("arms", "kind"),
    [(NUMERIC_ARMS, SampleSummary), (CONVERSION_ARMS, ProportionSummary)],
    ids=["sample-mean", "proportion"],
)
def test_degenerate_inputs_never_warn(arms, kind, scale):
    """numpy's warnings are errors here (and any warning at all): none may escape."""
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        control, treatment = all_pairs(arms, kind)
        count = control.shape[0]
        outputs = every_output(control, treatment, scale, np.full(count, 0.05), np.ones(count))
        for p_values in (outputs["fixed p"], outputs["sequential p"]):
            for correction in ("holm", "benjamini_hochberg"):
                adjusted_alpha(p_values, adjust(p_values, correction), 0.05)
        _ = control.variance, control.mean, control.mean_rounding


def test_outputs_keep_the_comparisons_shape():
    control = SampleSummary.of(np.full((2, 3), 10), np.arange(6.0).reshape(2, 3), 30.0)
    outputs = every_output(control, SampleSummary.of(12, 4.0, 25.0), "absolute", 0.1, 1.0)
    for name, value in outputs.items():
        assert value.shape[-2:] == (2, 3), name
    assert outputs["estimate"][1, 2] == pytest.approx(4 / 12 - 5 / 10)
