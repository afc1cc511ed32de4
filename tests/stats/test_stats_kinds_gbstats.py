"""Ratios, regression adjustment and quantiles against GrowthBook's gbstats 0.8.0.

As test_stats_gbstats.py for means and proportions: every hypothesis example runs all methods on
both scales in gbstats in one request and requires agreement to 1e-9 (the same floors), except
for the documented differences, which the tests at the end pin down. gbstats 0.8.0, the
reference, predates three parts of gbstats' later source that liftlab follows: the relative
variance of a regression-adjusted mean, the binomial covariance of adjusted proportions and the
adjusted ratio; those are checked against formulas written out from raw data in
test_stats_kinds.py, and here only as far as 0.8.0 goes.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from liftlab.stats import (
    ClusteredQuantileSummary,
    QuantileSummary,
    Summary,
    pool_theta,
)
from liftlab.stats.summary import independent_relative_variance

from .gbstats_arms import comparisons
from .gbstats_checks import assert_agrees_with_gbstats, gbstats_and_liftlab, method_specs
from .gbstats_reference import RTOL, fixed
from .gbstats_worker import GbstatsWorker
from .kinds_raw_data import (
    QUANTILE_LEVELS,
    adjusted_ratio_summary,
    adjusted_summary,
    clustered_events,
    covariate_arm,
    covariate_conversions,
    quantile_values,
    ratio_arm,
    ratio_summary,
    ratio_well_conditioned,
)
from .stats_raw_data import well_conditioned


def agree(
    gbstats: GbstatsWorker, control: Summary, treatment: Summary, data: st.DataObject
) -> None:
    """Every method on both scales, the specs drawn for this comparison."""
    specs = data.draw(method_specs(control, treatment))
    for outcome in assert_agrees_with_gbstats(gbstats, control, treatment, specs):
        event(outcome)


@settings(max_examples=60, deadline=None)
@given(control=ratio_arm(), treatment=ratio_arm(), data=st.data())
def test_ratios_agree_with_gbstats(gbstats, control, treatment, data):
    assume(ratio_well_conditioned(*control) and ratio_well_conditioned(*treatment))
    agree(gbstats, ratio_summary(*control), ratio_summary(*treatment), data)


@settings(max_examples=60, deadline=None)
@given(control=quantile_values(), treatment=quantile_values(), nu=QUANTILE_LEVELS, data=st.data())
def test_quantiles_agree_with_gbstats(gbstats, control, treatment, nu, data):
    arms = QuantileSummary.from_values(control, nu), QuantileSummary.from_values(treatment, nu)
    agree(gbstats, *arms, data)


@settings(max_examples=60, deadline=None)
@given(control=clustered_events(), treatment=clustered_events(), nu=QUANTILE_LEVELS, data=st.data())
def test_clustered_quantiles_agree_with_gbstats(gbstats, control, treatment, nu, data):
    control_summary = ClusteredQuantileSummary.from_values(control, nu)
    treatment_summary = ClusteredQuantileSummary.from_values(treatment, nu)
    agree(gbstats, control_summary, treatment_summary, data)


def conditioned(post: np.ndarray, pre: np.ndarray) -> bool:
    """Both periods well conditioned and post not (nearly) a linear function of pre."""
    if not (well_conditioned(post) and well_conditioned(pre)) or np.ptp(pre) == 0:
        return False
    return bool(abs(np.corrcoef(post, pre)[0, 1]) < 0.999)


@settings(max_examples=60, deadline=None)
@given(control=covariate_arm(), treatment=covariate_arm(), data=st.data())
def test_adjusted_means_agree_with_gbstats(gbstats, control, treatment, data):
    """Every method on the absolute scale; the relative one is the next test's."""
    assume(conditioned(*control) and conditioned(*treatment))
    arms = pool_theta(adjusted_summary(*control), adjusted_summary(*treatment))
    agree(gbstats, *arms, data)


@settings(max_examples=40, deadline=None)
@given(control=covariate_arm(), treatment=covariate_arm())
def test_adjusted_means_share_gbstats_theta_and_relative_estimate(gbstats, control, treatment):
    """gbstats 0.8.0's θ and relative estimate are liftlab's; its relative sd is the generic one.

    That is (Var m_t + (u_t/|u_c|)²·Var m_c)/u_c² with the adjusted variances, the formula of
    an unadjusted metric; liftlab's (gbstats' later ``frequentist_variance_relative_cuped``)
    weights the control's covariance term by u_t/u_c instead (test_stats_kinds.py).
    """
    assume(conditioned(*control) and conditioned(*treatment))
    arms = pool_theta(adjusted_summary(*control), adjusted_summary(*treatment))
    control_arm, treatment_arm = arms
    assume(control_arm.unadjusted_mean > 0 and control_arm.mean != 0)
    theirs, ours = gbstats_and_liftlab(gbstats, fixed("relative", 0.05), control_arm, treatment_arm)
    assume(theirs["error"] is None)
    assert_allclose(theirs["theta"] or 0.0, control_arm.theta, rtol=RTOL, atol=1e-300)
    assert_allclose(theirs["estimate"], ours["estimate"], rtol=RTOL)
    generic = np.sqrt(independent_relative_variance(control_arm, treatment_arm))
    assert_allclose(theirs["sd"], generic, rtol=RTOL)


@settings(max_examples=40, deadline=None)
@given(control=covariate_conversions(), treatment=covariate_conversions())
def test_adjusted_proportions_theta_is_gbstats_times_n_minus_1_over_n(gbstats, control, treatment):
    """gbstats 0.8.0 divides the covariance of two proportions by N − 1, liftlab by N.

    Their variances are both p(1 − p) (a divisor of N), so gbstats' θ is liftlab's times
    N/(N − 1), N the identities of both arms; gbstats' later ``compute_covariance`` divides by N.
    """
    arms = pool_theta(adjusted_summary(*control, True), adjusted_summary(*treatment, True))
    (results,) = gbstats.run([fixed("absolute", 0.05)], comparisons(*arms))["results"]
    total = arms[0].n + arms[1].n
    assert_allclose(results[0]["theta"] or 0.0, arms[0].theta * total / (total - 1), rtol=RTOL)


def test_gbstats_0_8_0_has_no_adjusted_ratio(gbstats):
    """So the adjusted ratio is checked against the raw data only (test_stats_kinds.py)."""
    rng = np.random.default_rng(3)
    m, d = rng.poisson(3.0, (2, 50)).astype(float) + 1.0
    arms = pool_theta(adjusted_ratio_summary(m, d, m, d), adjusted_ratio_summary(d, m, d, m))
    (results,) = gbstats.run([fixed("absolute", 0.05)], comparisons(*arms))["results"]
    assert "RegressionAdjustedRatioStatistic" in results[0]["raised"]


def test_gbstats_0_8_0_tests_collapsed_quantile_bounds_from_1000_values(gbstats):
    """Ties left no interval (lower = upper): gbstats 0.8.0 tests with its 1e-5 floor, liftlab
    declines (nan), as gbstats' later source and as 0.8.0 itself below 1,000 values."""
    control = QuantileSummary.of(2000, 0.5, 3.0, 3.0, 3.0)
    treatment = QuantileSummary.of(2000, 0.5, 4.0, 3.5, 4.5)
    theirs, ours = gbstats_and_liftlab(gbstats, fixed("absolute", 0.05), control, treatment)
    assert theirs["error"] is None and theirs["p_value"] < 1
    assert np.isnan(ours["p_value"]) and np.isnan(control.variance)
