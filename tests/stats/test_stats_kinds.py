"""Ratio and quantile summaries against the raw data, and what every new kind shares.

Ratios: Σm/Σd and the delta method written out from ``np.var``/``np.cov`` of the per-identity
arrays. Quantiles: the order statistics picked by sorting with numpy (and ``np.quantile`` with
``method="inverted_cdf"``), the variance from gbstats' formula written out, the clustered one
from per-identity counts taken one identity at a time.
"""

from __future__ import annotations

import warnings
from dataclasses import fields, is_dataclass, replace
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from liftlab.stats import (
    ClusteredQuantileSummary,
    QuantileSummary,
    RatioSummary,
    SampleSummary,
    Summary,
    effect,
    order_statistic_rank,
    pool_theta,
    quantile_levels,
)

from .kinds_raw_data import (
    QUANTILE_LEVELS,
    adjusted_ratio_summary,
    adjusted_summary,
    clustered_events,
    quantile_values,
    ratio_arm,
    ratio_summary,
    ratio_well_conditioned,
)
from .test_stats_arrays import every_output

Z = stats.norm.ppf(0.975)


@settings(max_examples=100, deadline=None)
@given(values=ratio_arm())
def test_ratio_matches_the_delta_method_on_the_raw_data(values):
    m, d = values
    assume(ratio_well_conditioned(m, d))
    summary = ratio_summary(m, d)
    ratio = m.sum() / d.sum()
    cov = np.cov(m, d)[0, 1]
    expected = (np.var(m, ddof=1) - 2 * ratio * cov + ratio**2 * np.var(d, ddof=1)) / d.mean() ** 2
    assert_allclose(summary.mean, ratio, rtol=1e-12)
    assert_allclose(summary.variance, expected, rtol=1e-8)
    assert summary.unadjusted_mean == summary.mean


def test_ratio_is_nan_without_a_denominator_or_a_second_identity():
    empty = RatioSummary.of([5, 1], [3.0, 2.0], [5.0, 4.0], [0.0, 1.0], [0.0, 1.0], [0.0, 2.0])
    assert np.isnan(empty.mean[0]) and np.isnan(empty.variance).all()
    assert empty.mean[1] == 2.0


def test_a_constant_ratio_has_no_spread_and_equal_ones_no_effect():
    """m = 0.1·d for every identity: variance exactly 0, so the interval is a point."""
    d = np.arange(1.0, 8.0)
    control, treatment = ratio_summary(0.1 * d, d), ratio_summary(0.1 * d[:5], d[:5])
    assert control.variance == 0 and treatment.variance == 0
    measured = effect(control, treatment, "absolute")
    assert measured.estimate == 0 and measured.variance == 0


@settings(max_examples=100, deadline=None)
@given(values=quantile_values(), nu=QUANTILE_LEVELS)
def test_quantile_order_statistics_are_numpy_s(values, nu):
    summary = QuantileSummary.from_values(values, nu)
    ordered, n = np.sort(values), values.size
    lower_level, upper_level = quantile_levels(n, nu)
    for field, level in (("quantile", nu), ("lower", lower_level), ("upper", upper_level)):
        rank = max(1, int(np.ceil(n * float(level))))
        assert getattr(summary, field) == ordered[min(rank, n) - 1]
        assert getattr(summary, field) == np.quantile(values, level, method="inverted_cdf")


@settings(max_examples=100, deadline=None)
@given(values=quantile_values(), nu=QUANTILE_LEVELS)
def test_quantile_variance_is_gbstats_formula_with_n_star_n(values, nu):
    """(n − 1)·((upper − lower)/(2z))², ≥ 1e-5 from 100 values on; nan where gbstats declines."""
    summary = QuantileSummary.from_values(values, nu)
    n = values.size
    spread = (n - 1) * ((summary.upper - summary.lower) / (2 * Z)) ** 2
    declines = n <= Z**2 * max(nu / (1 - nu), (1 - nu) / nu) or spread <= 0
    if declines:
        assert np.isnan(summary.variance)
    else:
        assert_allclose(summary.variance, max(spread, 1e-5) if n >= 100 else spread, rtol=1e-14)


def test_quantile_levels_are_clipped_as_growthbook_does():
    lower, upper = quantile_levels([10, 1e6], 0.99)
    assert upper[0] == 0.99999999 and lower[0] < 0.99
    assert_allclose(upper[1], 0.99 + Z * np.sqrt(0.99 * 0.01 / 1e6), rtol=1e-12)
    assert quantile_levels(10, 0.01)[0] == 1e-8


@pytest.mark.parametrize(
    ("n", "level", "rank"),
    [(10, 0.5, 5), (25, 0.28, 8), (10, 0.31, 4), (10, 1e-8, 1), (10, 0.99999999, 10), (0, 0.5, 0)],
)
def test_order_statistic_rank(n, level, rank):
    """⌈n·level⌉ of the float64 product: 25·0.28 is 7.000000000000001, so rank 8."""
    assert order_statistic_rank(n, level) == rank


def test_quantile_refuses_levels_outside_0_1_and_crossed_bounds():
    with pytest.raises(ValueError, match="nu"):
        QuantileSummary.of(10, 1.0, 3.0, 2.0, 4.0)
    with pytest.raises(ValueError, match="lower"):
        QuantileSummary.of(10, 0.5, 3.0, 5.0, 4.0)


def explicit_cluster_counts(events: np.ndarray, quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """(s, e) per identity: its events at or below the quantile and all its events."""
    below, count = [], []
    for identity in events:
        present = identity[~np.isnan(identity)]
        below.append(float(np.sum(present <= quantile)))
        count.append(float(present.size))
    return np.array(below), np.array(count)


@settings(max_examples=80, deadline=None)
@given(events=clustered_events(), nu=QUANTILE_LEVELS)
def test_clustered_quantile_matches_per_identity_counts(events, nu):
    summary = ClusteredQuantileSummary.from_values(events, nu)
    present = events[~np.isnan(events)]
    assume(present.size > 0)
    assert summary.quantile == np.quantile(present, nu, method="inverted_cdf")
    s, e = explicit_cluster_counts(events, float(summary.quantile))
    assert summary.n == e.sum() and summary.clusters == events.shape[0]
    assert (summary.below_sum, summary.below_sum_sq) == (s.sum(), (s * s).sum())
    assert (summary.events_sum_sq, summary.below_events_sum) == ((e * e).sum(), (s * e).sum())
    iid = QuantileSummary.of(summary.n, nu, summary.quantile, summary.lower, summary.upper)
    k, share = s.size, s.sum() / e.sum()
    cluster = np.var(s - share * e, ddof=1) / (k * e.mean() ** 2)  # gbstats' get_cluster_variance
    expected = iid.spread_variance * cluster / (nu * (1 - nu) / summary.n)
    assume(np.isfinite(expected) and expected > 1e-300)
    assert_allclose(summary.spread_variance, expected, rtol=1e-8)


def test_one_event_per_identity_is_the_iid_quantile_but_for_the_binomial_estimate():
    """s ∈ {0, 1}, e = 1: V_c = p̂(1 − p̂)/(K − 1) in place of ν(1 − ν)/K."""
    rng = np.random.default_rng(8)
    events = rng.lognormal(0.0, 1.0, (500, 1))
    clustered = ClusteredQuantileSummary.from_values(events, 0.9)
    iid = QuantileSummary.from_values(events[:, 0], 0.9)
    share = float(clustered.below_sum / clustered.n)
    factor = share * (1 - share) / (500 - 1) / (0.9 * 0.1 / 500)
    assert clustered.quantile == iid.quantile
    assert_allclose(clustered.variance, iid.variance * factor, rtol=1e-10)


def arms_of_every_kind() -> dict[str, tuple[Summary, Summary]]:
    """(control, treatment) of shape (3,) for each new kind, from one generator."""
    rng = np.random.default_rng(9)
    d = rng.poisson(3.0, (2, 3, 200)) + 1.0
    m = rng.binomial(d.astype(int), 0.3).astype(float)
    pre = rng.normal(5.0, 1.0, (2, 3, 200))
    post = pre + rng.normal(0.0, 1.0, (2, 3, 200))
    events = np.where(rng.random((2, 3, 100, 4)) < 0.6, rng.lognormal(0, 1, (2, 3, 100, 4)), np.nan)
    return {
        "ratio": (ratio_summary(m[0], d[0]), ratio_summary(m[1], d[1])),
        "adjusted": pool_theta(
            adjusted_summary(post[0], pre[0]), adjusted_summary(post[1], pre[1])
        ),
        "adjusted ratio": pool_theta(
            adjusted_ratio_summary(m[0], d[0], m[0][::-1], d[0][::-1]),
            adjusted_ratio_summary(m[1], d[1], m[1][::-1], d[1][::-1]),
        ),
        "quantile": (
            QuantileSummary.from_values(post[0], 0.9),
            QuantileSummary.from_values(post[1], 0.9),
        ),
        "clustered quantile": (
            ClusteredQuantileSummary.from_values(events[0], 0.5),
            ClusteredQuantileSummary.from_values(events[1], 0.5),
        ),
    }


KINDS = arms_of_every_kind()


def element(value: Any, i: int) -> Any:
    """Comparison i alone: every array of a summary (nested ones too) at index i."""
    if is_dataclass(value):
        return replace(value, **{f.name: element(getattr(value, f.name), i) for f in fields(value)})
    return value[i]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scale", ["absolute", "relative"])
def test_vectorised_call_equals_one_call_per_comparison(kind, scale):
    """Every output of every method, bit for bit."""
    control, treatment = KINDS[kind]
    alpha, direction = np.array([0.05, 0.1, 0.01]), np.array([1.0, -1.0, 1.0])
    together = every_output(control, treatment, scale, alpha, direction)
    for i in range(3):
        alone = every_output(
            element(control, i), element(treatment, i), scale, alpha[i], direction[i]
        )
        for name, value in alone.items():
            assert_array_equal(value, together[name][..., i], err_msg=f"{name} #{i}")


def degenerate_arms() -> dict[str, tuple[Summary, Summary]]:
    """Empty arms, single identities, zero denominators, constant covariates, no events."""
    ones, zeros = np.ones(3), np.zeros(3)
    single = adjusted_summary(np.array([1.0]), np.array([2.0]))
    return {
        "ratio, empty and single": (
            RatioSummary.of([0, 1], [0.0, 1.0], [0.0, 1.0], [0.0, 2.0], [0.0, 4.0], [0.0, 2.0]),
            RatioSummary.of(3, 1.0, 1.0, 2.0, 2.0, 1.0),
        ),
        "ratio, zero denominator": (ratio_summary(ones, zeros), ratio_summary(ones, ones)),
        "adjusted, single identity": pool_theta(single, adjusted_summary(np.arange(3.0), 2 * ones)),
        "adjusted, empty": pool_theta(*(adjusted_summary(np.zeros(0), np.zeros(0)),) * 2),
        "adjusted, constant": pool_theta(*(adjusted_summary(ones, ones),) * 2),
        "adjusted ratio, zero denominators": pool_theta(
            *(adjusted_ratio_summary(*[zeros] * 4),) * 2
        ),
        "quantile, empty": (
            QuantileSummary.from_values(np.zeros(0), 0.5),
            QuantileSummary.of(10, 0.5, 1.0, 0.0, 2.0),
        ),
        "quantile, too few for the level": (QuantileSummary.from_values(ones, 0.99),) * 2,
        "clustered, no events": (
            ClusteredQuantileSummary.from_values(np.full((4, 2), np.nan), 0.5),
            ClusteredQuantileSummary.from_values(np.ones((1, 3)), 0.5),
        ),
    }


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("case", list(degenerate_arms()))
@pytest.mark.parametrize("scale", ["absolute", "relative"])
def test_degenerate_inputs_never_warn(case, scale):
    """As for means and proportions: numpy's warnings (and any other) are errors here."""
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        control, treatment = degenerate_arms()[case]
        every_output(control, treatment, scale, 0.05, 1.0)
        _ = control.variance, control.mean, control.unadjusted_mean, control.mean_rounding


@pytest.mark.parametrize("kind", KINDS)
def test_fields_are_read_only_arrays_of_one_shape(kind):
    control, _ = KINDS[kind]
    for name in ("n", "mean", "unadjusted_mean", "variance", "mean_rounding"):
        assert getattr(control, name).shape == (3,), name
    with pytest.raises(ValueError, match="read-only"):
        control.n[0] = 1.0


def test_effect_reports_the_unadjusted_control_mean():
    control, treatment = KINDS["adjusted"]
    measured = effect(control, treatment, "relative")
    assert_array_equal(measured.control_mean, control.unadjusted_mean)
    assert_array_equal(measured.estimate, (treatment.mean - control.mean) / control.post.mean)


@pytest.mark.parametrize("n", [-1, float("nan")])
def test_negative_counts_are_refused_by_every_kind(n):
    with pytest.raises(ValueError, match="n must be"):
        RatioSummary.of(n, 1.0, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="n must be"):
        QuantileSummary.of(n, 0.5, 1.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="clusters must be"):
        ClusteredQuantileSummary.of(10, 0.5, 1.0, 0.0, 2.0, n, 1.0, 1.0, 1.0, 1.0)


def test_ratio_parts_must_share_their_identities():
    with pytest.raises(ValueError, match="same n"):
        RatioSummary(SampleSummary.of(3, 1.0, 1.0), SampleSummary.of(4, 1.0, 1.0), 1.0)
