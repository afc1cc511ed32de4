"""Regression adjustment (CUPED) of means, proportions and ratios, against the raw data.

The references are computed from the per-identity arrays, never from the sums: θ and the
variances from ``np.cov``/``np.var`` of the pooled or per-arm data, the delta method's gradients
by complex-step differentiation (exact to rounding, with no formula of liftlab's in it), the
estimate by statsmodels' least squares. Agreement is 1e-9 relative on well-conditioned data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import assume, given, settings
from numpy.testing import assert_allclose

from liftlab.stats import (
    AdjustedSummary,
    ProportionSummary,
    SampleSummary,
    effect,
    pool_theta,
    variance_reduction,
)

from .kinds_raw_data import (
    adjusted_ratio_summary,
    adjusted_summary,
    covariate_arm,
    covariate_conversions,
    ratio_covariate_arm,
    ratio_summary,
)
from .stats_raw_data import well_conditioned

RTOL = 1e-9


def conditioned(post: np.ndarray, pre: np.ndarray) -> bool:
    return well_conditioned(post) and well_conditioned(pre) and np.ptp(pre) > 0


def pooled_slope(post: np.ndarray, pre: np.ndarray) -> float:
    """Cov(post, pre)/Var(pre) over both arms as one sample (n − 1 on both: it cancels)."""
    return float(np.cov(post, pre)[0, 1] / np.var(pre, ddof=1))


@settings(max_examples=80, deadline=None)
@given(control=covariate_arm(), treatment=covariate_arm())
def test_adjusted_mean_matches_the_raw_data(control, treatment):
    assume(conditioned(*control) and conditioned(*treatment))
    arms = pool_theta(adjusted_summary(*control), adjusted_summary(*treatment))
    theta = pooled_slope(*(np.concatenate(pair) for pair in zip(control, treatment, strict=True)))
    for arm, (post, pre) in zip(arms, (control, treatment), strict=True):
        assert_allclose(arm.theta, theta, rtol=RTOL)
        adjusted = post - theta * pre
        scale = np.abs(post).mean() + abs(theta) * np.abs(pre).mean()
        assert_allclose(arm.mean, np.mean(post) - theta * np.mean(pre), atol=1e-12 * scale)
        # Two identities per arm lie on a line: the variance may be 0, and numpy's a residue.
        noise = 1e-12 * (np.var(post) + theta**2 * np.var(pre))
        assert_allclose(arm.variance, np.var(adjusted, ddof=1), rtol=1e-8, atol=noise)
        assert arm.unadjusted is arm.post and arm.unadjusted_mean == arm.post.mean


def cuped_relative_variance(
    control: tuple[np.ndarray, np.ndarray], treatment: tuple[np.ndarray, np.ndarray], theta: float
) -> float:
    """gbstats' later ``frequentist_variance_relative_cuped``, from the raw arrays.

    Var m_t/u_c² for the treatment; for the control the delta method's gradient in its post-
    and pre-period means, (−u_t/u_c², θ/|u_c|), i.e. Var((u_t/u_c)·post − θ·pre)/(n_c·u_c²).
    """
    (post_c, pre_c), (post_t, pre_t) = control, treatment
    u_c, u_t = np.mean(post_c), np.mean(post_t)
    treated = np.var(post_t - theta * pre_t, ddof=1) / post_t.size
    controlled = np.var(u_t / u_c * post_c - theta * pre_c, ddof=1) / post_c.size
    return float((treated + controlled) / u_c**2)


@settings(max_examples=80, deadline=None)
@given(control=covariate_arm(), treatment=covariate_arm())
def test_adjusted_mean_relative_variance_is_gbstats_later_formula(control, treatment):
    assume(conditioned(*control) and conditioned(*treatment))
    arms = pool_theta(adjusted_summary(*control), adjusted_summary(*treatment))
    assume(np.mean(control[0]) != 0)
    lift = effect(*arms, "relative")
    expected = cuped_relative_variance(control, treatment, float(arms[0].theta))
    unadjusted = effect(arms[0].post, arms[1].post, "relative").variance
    assert_allclose(lift.variance, expected, rtol=1e-8, atol=1e-12 * unadjusted)
    difference = arms[1].mean - arms[0].mean
    assert_allclose(lift.estimate, difference / abs(np.mean(control[0])), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(control=covariate_conversions(), treatment=covariate_conversions())
def test_adjusted_proportions_use_the_binomial_covariance(control, treatment):
    """Σxy/n − x̄ȳ, as their variances p(1 − p): numpy's ``bias=True``."""
    arms = pool_theta(adjusted_summary(*control, True), adjusted_summary(*treatment, True))
    post, pre = (np.concatenate(pair) for pair in zip(control, treatment, strict=True))
    spread = np.var(pre) > 0 and np.var(post) > 0
    theta = np.cov(post, pre, bias=True)[0, 1] / np.var(pre) if spread else 0.0
    for arm, (post_arm, pre_arm) in zip(arms, (control, treatment), strict=True):
        assert_allclose(arm.theta, theta, rtol=RTOL, atol=1e-15)
        cov = np.cov(post_arm, pre_arm, bias=True)[0, 1] if post_arm.size > 1 else np.nan
        expected = np.var(post_arm) + theta**2 * np.var(pre_arm) - 2 * theta * cov
        assert_allclose(arm.variance, expected, rtol=1e-8, atol=1e-15)


def test_no_spread_before_or_after_means_no_adjustment():
    """gbstats' θ = 0 where the joint pre- or post-period variance is 0: the plain mean."""
    rng = np.random.default_rng(1)
    post = rng.normal(5.0, 1.0, (2, 40))
    arms = pool_theta(*(adjusted_summary(p, np.full(40, 3.0)) for p in post))
    assert all(arm.theta == 0 for arm in arms)
    unadjusted = effect(*(arm.unadjusted for arm in arms), "absolute")
    adjusted = effect(*arms, "absolute")
    assert adjusted.estimate == unadjusted.estimate and adjusted.variance == unadjusted.variance
    relative = effect(*arms, "relative").variance
    assert_allclose(relative, effect(arms[0].post, arms[1].post, "relative").variance, rtol=1e-14)


def test_theta_is_nan_until_pooled():
    arm = adjusted_summary(np.arange(5.0), np.arange(5.0) ** 2)
    assert np.isnan(arm.theta) and np.isnan(arm.mean) and np.isnan(arm.variance)
    assert arm.unadjusted_mean == 2.0


def test_one_control_pools_a_theta_with_each_treatment():
    """A control of shape (1,) against three treatments: three θ, as three separate pools."""
    rng = np.random.default_rng(2)
    pre = rng.normal(10.0, 2.0, (4, 300))
    post = 0.7 * pre + rng.normal(0.0, 1.0, (4, 300)) + np.arange(4)[:, None]
    control, treatments = pool_theta(
        adjusted_summary(post[:1], pre[:1]), adjusted_summary(post[1:], pre[1:])
    )
    assert control.shape == treatments.shape == control.post.shape == (3,)
    for i in range(3):
        pair = pool_theta(
            adjusted_summary(post[0], pre[0]), adjusted_summary(post[i + 1], pre[i + 1])
        )
        assert control.theta[i] == pair[0].theta == treatments.theta[i]
        for scale in ("absolute", "relative"):
            vectorised, single = effect(control, treatments, scale), effect(*pair, scale)
            assert vectorised.estimate[i] == single.estimate
            assert vectorised.variance[i] == single.variance


def test_cuped_estimate_is_least_squares_with_the_pooled_slope():
    """θ is the pooled OLS slope of post on pre; the estimate the treatment coefficient of y − θx.

    ANCOVA (y ~ treatment + (x − x̄)) fits the within-arm slope θ_w instead of the pooled θ, so
    its coefficient Δȳ − θ_w·Δx̄ differs from CUPED's Δȳ − θ·Δx̄ by exactly (θ − θ_w)·Δx̄ (here
    0.3 % of the se); with equal arms its se is within 1 % of CUPED's Welch se.
    """
    rng = np.random.default_rng(7)
    pre = rng.lognormal(2.0, 0.5, (2, 2000))
    post = 3.0 + 0.8 * pre + rng.normal(0.0, 2.0, (2, 2000)) + np.array([[0.0], [0.4]])
    arms = pool_theta(adjusted_summary(post[0], pre[0]), adjusted_summary(post[1], pre[1]))
    lift = effect(*arms, "absolute")
    y, x, treated = post.ravel(), pre.ravel(), np.repeat([0.0, 1.0], 2000)
    slope = sm.OLS(y, sm.add_constant(x)).fit().params[1]
    assert_allclose(arms[0].theta, slope, rtol=1e-10)
    two_step = sm.OLS(y - slope * x, sm.add_constant(treated)).fit()
    assert_allclose(lift.estimate, two_step.params[1], rtol=1e-10)
    ancova = sm.OLS(y, np.column_stack([np.ones_like(y), treated, x - x.mean()])).fit()
    gap = (slope - ancova.params[2]) * (pre[1].mean() - pre[0].mean())
    assert_allclose(ancova.params[1] - lift.estimate, gap, rtol=1e-6)
    assert_allclose(ancova.bse[1], lift.se, rtol=1e-2)


def test_variance_reduction_is_one_minus_the_ratio_of_standard_errors():
    rng = np.random.default_rng(4)
    pre = rng.normal(0.0, 1.0, (2, 5000))
    post = 0.8 * pre + 0.6 * rng.normal(0.0, 1.0, (2, 5000))  # ρ = 0.8
    arms = pool_theta(adjusted_summary(post[0], pre[0]), adjusted_summary(post[1], pre[1]))
    adjusted = effect(*arms, "absolute")
    unadjusted = effect(*(arm.unadjusted for arm in arms), "absolute")
    reduction = variance_reduction(adjusted, unadjusted)
    assert_allclose(reduction, 1 - adjusted.se / unadjusted.se, rtol=1e-15)
    assert 0.35 < reduction < 0.45  # 1 − √(1 − ρ²) = 0.4
    constant = effect(SampleSummary.of(3, 6.0, 12.0), SampleSummary.of(3, 6.0, 12.0), "absolute")
    assert np.isnan(variance_reduction(constant, constant))


def test_parts_of_one_arm_must_agree():
    with pytest.raises(TypeError, match="both be sample means or both proportions"):
        AdjustedSummary.of(SampleSummary.of(5, 1.0, 1.0), ProportionSummary.of(5, 1), 0.0)
    with pytest.raises(ValueError, match="same n"):
        AdjustedSummary.of(SampleSummary.of(5, 1.0, 1.0), SampleSummary.of(6, 1.0, 1.0), 0.0)
    ratio = adjusted_ratio_summary(*np.ones((4, 3)))
    with pytest.raises(TypeError, match="of one kind"):
        pool_theta(ratio, adjusted_summary(np.ones(3), np.ones(3)))
    with pytest.raises(TypeError, match="same kind"):
        effect(
            adjusted_summary(np.ones(3), np.arange(3.0)), SampleSummary.of(3, 3.0, 3.0), "relative"
        )


# The adjusted ratio: no gbstats 0.8.0 to compare with, so the delta method itself is the
# reference, its gradients by complex step: f(β + ih·e_k) = f(β) + ih·∂f/∂β_k + O(h²), so the
# imaginary part over h is the derivative to rounding, with no difference quotient.

STEP = 1e-30


def complex_step_gradient(
    function: Callable[[np.ndarray], complex], point: np.ndarray
) -> np.ndarray:
    return np.array([function(point + 1j * STEP * e).imag / STEP for e in np.eye(point.size)])


def adjusted_ratio(beta: np.ndarray, theta: float) -> complex:
    """m̄/d̄ − θ·m̄'/d̄' as a function of the four means."""
    return beta[0] / beta[1] - theta * beta[2] / beta[3]


def relative_lift(beta: np.ndarray, theta: float) -> complex:
    """(adjusted_t − adjusted_c)/|m̄_c/d̄_c| of the eight means, control first; |x| as x·sign(x)."""
    control, treatment = beta[:4], beta[4:]
    base = control[0] / control[1]
    return (adjusted_ratio(treatment, theta) - adjusted_ratio(control, theta)) / (
        base * np.sign(base.real)
    )


def quadratic(gradient: np.ndarray, parts: tuple[np.ndarray, ...]) -> float:
    """gᵀΛg with Λ the sample covariance matrix (n − 1) of the per-identity parts."""
    return float(gradient @ np.cov(np.stack(parts)) @ gradient)


def cancellation(gradient: np.ndarray, parts: tuple[np.ndarray, ...]) -> float:
    """1e-12·|g|ᵀ|Λ||g|: where gᵀΛg is 0 (two identities on a line), numpy's is a residue."""
    return 1e-12 * float(np.abs(gradient) @ np.abs(np.cov(np.stack(parts))) @ np.abs(gradient))


def ratio_theta(arms: list[tuple[np.ndarray, ...]]) -> float:
    """ΣCov(post ratio, pre ratio)/ΣVar(pre ratio) over the arms, each ratio linearised.

    0 where the pre-period ratios have no spread (m' a constant multiple of d'), as gbstats.
    """
    covariance = variance = noise = 0.0
    for parts in arms:
        beta = np.array([x.mean() for x in parts])
        post = complex_step_gradient(lambda b: b[0] / b[1], beta)
        pre = complex_step_gradient(lambda b: b[2] / b[3], beta)
        cov = np.cov(np.stack(parts))
        covariance, variance = covariance + post @ cov @ pre, variance + pre @ cov @ pre
        noise += cancellation(pre, parts)
    return covariance / variance if variance > noise else 0.0


@settings(max_examples=60, deadline=None)
@given(control=ratio_covariate_arm(), treatment=ratio_covariate_arm())
def test_adjusted_ratio_matches_the_delta_method_on_the_raw_data(control, treatment):
    assume(all(np.ptp(x) > 0 for x in (*control, *treatment)))
    arms = pool_theta(adjusted_ratio_summary(*control), adjusted_ratio_summary(*treatment))
    theta = ratio_theta([control, treatment])
    assert_allclose(arms[0].theta, theta, rtol=1e-8)
    means = [np.array([x.mean() for x in parts]) for parts in (control, treatment)]
    for arm, parts, beta in zip(arms, (control, treatment), means, strict=True):
        assert_allclose(arm.mean, adjusted_ratio(beta, theta).real, rtol=1e-10)
        gradient = complex_step_gradient(lambda b: adjusted_ratio(b, theta), beta)
        noise = cancellation(gradient, parts)
        assert_allclose(arm.variance, quadratic(gradient, parts), rtol=1e-8, atol=noise)
    gradient = complex_step_gradient(lambda b: relative_lift(b, theta), np.concatenate(means))
    per_arm = [(gradient[4 * i : 4 * i + 4], parts) for i, parts in enumerate((control, treatment))]
    expected = sum(quadratic(g, parts) / parts[0].size for g, parts in per_arm)
    noise = sum(cancellation(g, parts) / parts[0].size for g, parts in per_arm)
    lift = effect(*arms, "relative")
    assert_allclose(lift.variance, expected, rtol=1e-8, atol=noise)
    assert_allclose(lift.estimate, relative_lift(np.concatenate(means), theta).real, rtol=1e-10)


def test_adjusted_ratio_without_adjustment_is_the_ratio():
    """θ = 0: the mean, variance and relative variance of the plain ratio (up to rounding)."""
    rng = np.random.default_rng(5)
    d = rng.poisson(3.0, (2, 400)) + 1.0
    m = rng.binomial(d.astype(int), 0.4).astype(float)
    arms = [adjusted_ratio_summary(m[i], d[i], m[i], d[i]) for i in range(2)]
    arms = [replace(arm, theta=0.0) for arm in arms]
    plain = [ratio_summary(m[i], d[i]) for i in range(2)]
    for scale in ("absolute", "relative"):
        ours, theirs = effect(*arms, scale), effect(*plain, scale)
        assert ours.estimate == theirs.estimate
        assert_allclose(ours.variance, theirs.variance, rtol=1e-13)


def test_adjusted_ratio_over_unit_denominators_is_the_adjusted_mean():
    """d = d' = 1: m̄/d̄ is the mean of m, so at one θ the two adjusted kinds agree."""
    rng = np.random.default_rng(6)
    pre = rng.normal(4.0, 1.0, (2, 300))
    post = 0.5 * pre + rng.normal(1.0, 1.0, (2, 300))
    ones = np.ones(300)
    ratio = [adjusted_ratio_summary(post[i], ones, pre[i], ones) for i in range(2)]
    means = pool_theta(*(adjusted_summary(post[i], pre[i]) for i in range(2)))
    ratio = [replace(arm, theta=means[0].theta) for arm in ratio]
    for mean, adjusted in zip(means, ratio, strict=True):
        assert_allclose(adjusted.mean, mean.mean, rtol=1e-12)
        assert_allclose(adjusted.variance, mean.variance, rtol=1e-10)
    assert_allclose(
        effect(*ratio, "absolute").variance, effect(*means, "absolute").variance, rtol=1e-10
    )
