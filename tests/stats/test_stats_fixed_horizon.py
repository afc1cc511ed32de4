"""FixedHorizon on summaries against scipy and an independent delta method on the raw data.

Absolute, numeric: scipy.stats.ttest_ind(equal_var=False) and its confidence_interval.
Proportions: scipy.stats.ttest_ind_from_stats with std = sqrt(p(1 − p)) (gbstats'
ProportionStatistic). Relative: the delta method written out from np.mean / np.var of the raw
arrays (stats_raw_data.direct_welch), with the t quantile at the Welch df; it shares no code
with liftlab.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from liftlab.stats import FixedHorizon, ProportionSummary, SampleSummary, Summary, effect

from .stats_raw_data import (
    ALPHAS,
    ARM_SIZES,
    CONSTANTS,
    assert_p_value_close,
    conversion_arm,
    direct_welch,
    is_constant,
    numeric_arm,
    summarise,
    summarise_conversions,
    well_conditioned,
)

RTOL = 1e-9


def quiet_scipy(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call scipy with its warnings about degenerate data silenced: the tests read the nans."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def liftlab_welch(control: Summary, treatment: Summary, alpha: float, scale: str) -> dict:
    """liftlab's answers under the names `direct_welch` uses, plus the statistic."""
    measured = effect(control, treatment, scale)
    test = FixedHorizon(measured)
    low, high = test.interval(alpha)
    return {
        "estimate": float(measured.estimate),
        "se": float(measured.se),
        "df": float(measured.df),
        "p_value": float(test.p_value),
        "low": float(low),
        "high": float(high),
        "statistic": float(test.statistic),
    }


def assert_matches(ours: dict[str, float], expected: dict[str, float]) -> None:
    """Each field ``expected`` has: bounds and estimate to |estimate| + half-width, the rest
    relative to themselves (p-values by `assert_p_value_close`); nan must meet nan.

    A bound near zero is the difference of two larger numbers, so its own size is no yardstick.
    """
    half = (expected["high"] - expected["low"]) / 2
    scale = abs(expected["estimate"]) + (half if np.isfinite(half) else 0.0)
    for field, value in expected.items():
        if np.isnan(value):
            assert np.isnan(ours[field]), (field, ours)
        elif field in ("estimate", "low", "high"):
            assert abs(ours[field] - value) <= RTOL * scale, (field, ours[field], value)
        elif field == "p_value":
            assert_p_value_close(ours[field], value)
        else:
            assert_allclose(ours[field], value, rtol=RTOL, err_msg=field)


@settings(max_examples=200, deadline=None)
@given(control=numeric_arm(), treatment=numeric_arm(), alpha=ALPHAS)
def test_absolute_matches_scipy_welch_on_raw_data(control, treatment, alpha):
    assume(well_conditioned(control) and well_conditioned(treatment))
    assume(not (is_constant(control) and is_constant(treatment)))  # the convention, below
    reference = quiet_scipy(scipy.stats.ttest_ind, treatment, control, equal_var=False)
    interval = quiet_scipy(reference.confidence_interval, confidence_level=1 - alpha)
    ours = liftlab_welch(summarise(control), summarise(treatment), alpha, "absolute")
    expected = {
        "estimate": treatment.mean() - control.mean(),
        "statistic": reference.statistic,
        "df": reference.df,
        "p_value": reference.pvalue,
        "low": interval.low,
        "high": interval.high,
    }
    assert_matches(ours, expected)


@settings(max_examples=150, deadline=None)
@given(control=numeric_arm(), treatment=numeric_arm(), alpha=ALPHAS)
def test_relative_matches_the_delta_method_on_raw_data(control, treatment, alpha):
    assume(well_conditioned(control) and well_conditioned(treatment))
    assume(not (is_constant(control) and is_constant(treatment)))
    ours = liftlab_welch(summarise(control), summarise(treatment), alpha, "relative")
    assert_matches(ours, direct_welch(control, treatment, alpha, 1, "relative"))


@settings(max_examples=150, deadline=None)
@given(control=conversion_arm(), treatment=conversion_arm(), alpha=ALPHAS)
def test_proportions_match_ttest_ind_from_stats(control, treatment, alpha):
    """Variance p(1 − p) per arm (np.std with ddof=0 of the 0/1 data), Welch's df.

    An arm of one identity makes Welch's df 0/0: scipy puts a placeholder 1 there, liftlab
    leaves it (and the p-value and interval) nan, as `test_one_identity_gives_no_test` says.
    """
    assume(not (is_constant(control) and is_constant(treatment)))
    assume(control.size > 1 and treatment.size > 1)
    reference = quiet_scipy(
        scipy.stats.ttest_ind_from_stats,
        treatment.mean(), treatment.std(), treatment.size,
        control.mean(), control.std(), control.size,
        equal_var=False,
    )  # fmt: skip
    ours = liftlab_welch(
        summarise_conversions(control), summarise_conversions(treatment), alpha, "absolute"
    )
    expected = direct_welch(control, treatment, alpha, 0, "absolute")
    assert_matches(ours, expected | {"statistic": reference.statistic, "p_value": reference.pvalue})


@settings(max_examples=100, deadline=None)
@given(control=conversion_arm(), treatment=conversion_arm(), alpha=ALPHAS)
def test_relative_proportions_match_the_delta_method(control, treatment, alpha):
    assume(not (is_constant(control) and is_constant(treatment)))
    # One identity that did not convert: R = −1 whatever m_c, so its se is 0, which liftlab
    # reads as certainty (p = 0) as for any zero se, while the textbook df is 0/0 there.
    assume(not (treatment.size == 1 and treatment.sum() == 0))
    ours = liftlab_welch(
        summarise_conversions(control), summarise_conversions(treatment), alpha, "relative"
    )
    assert_matches(ours, direct_welch(control, treatment, alpha, 0, "relative"))


SCALES = st.sampled_from(["absolute", "relative"])


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.tuples(ARM_SIZES, ARM_SIZES),
    values=st.tuples(CONSTANTS, CONSTANTS),
    same=st.booleans(),
    alpha=ALPHAS,
    scale=SCALES,
)
def test_two_constant_arms_give_a_certain_answer(sizes, values, same, alpha, scale):
    """Both arms constant: se = 0, df undefined; p = 1 if the constants agree, else p = 0.

    scipy gives nan for equal constants (0/0) and, because it reads raw values, even
    p ≈ 0.05 for 0.1 repeated 5 and 7 times (the raw means round apart).
    """
    c, t = values[0], values[0] if same else values[1]
    control, treatment = np.full(sizes[0], c), np.full(sizes[1], t)
    ours = liftlab_welch(summarise(control), summarise(treatment), alpha, scale)
    if scale == "relative" and c == 0:
        assert np.isnan(list(ours.values())).all()
        return
    expected = t - c if scale == "absolute" else (t - c) / abs(c)
    assert ours["se"] == 0 and np.isnan(ours["df"])
    assert ours["p_value"] == (1 if t == c else 0)
    assert_allclose(ours["estimate"], expected, rtol=1e-12, atol=0)
    assert ours["low"] == ours["high"] == ours["estimate"]


@pytest.mark.parametrize(
    ("control", "treatment", "p_value", "absolute", "relative"),
    [
        ((40, 0), (50, 0), 1, 0, np.nan),
        ((40, 40), (50, 50), 1, 0, 0),
        ((40, 0), (50, 50), 0, 1, np.nan),
        ((40, 40), (50, 0), 0, -1, -1),
    ],
)
def test_all_or_no_conversions_in_both_arms(control, treatment, p_value, absolute, relative):
    """Rates of 0 or 1 have variance p(1 − p) = 0: the constant-arm convention again."""
    for scale, lift in (("absolute", absolute), ("relative", relative)):
        ours = liftlab_welch(
            ProportionSummary.of(*control), ProportionSummary.of(*treatment), 0.05, scale
        )
        if np.isnan(lift):
            assert np.isnan(list(ours.values())).all()
            continue
        assert (ours["p_value"], ours["estimate"], ours["low"], ours["high"]) == (
            p_value,
            lift,
            lift,
            lift,
        )


def test_repeated_decimal_constant_is_not_a_difference():
    """0.1 summed 5 and 7 times rounds to different means; that is no effect."""
    five, seven = SampleSummary.from_values([0.1] * 5), SampleSummary.from_values([0.1] * 7)
    for scale in ("absolute", "relative"):
        ours = liftlab_welch(five, seven, 0.05, scale)
        assert (ours["p_value"], ours["estimate"], ours["low"], ours["high"]) == (1, 0, 0, 0)


@pytest.mark.parametrize("n_control", [0, 1])
def test_arm_too_small_for_a_variance_gives_nan(n_control):
    control = SampleSummary.of(n_control, 3.0 * n_control, 9.0 * n_control)
    ours = liftlab_welch(control, SampleSummary.from_values([1.0, 2.0, 4.0]), 0.05, "absolute")
    for field in ("se", "df", "p_value", "low", "high", "statistic"):
        assert np.isnan(ours[field]), field
    if n_control == 0:
        assert np.isnan(ours["estimate"])
    else:
        assert ours["estimate"] == pytest.approx(7 / 3 - 3)


def test_one_identity_gives_no_test():
    """n = 1: a conversion rate of 0 or 1 has p(1 − p) = 0, but Welch's df is 0/0 there."""
    ours = liftlab_welch(ProportionSummary.of(1, 1), ProportionSummary.of(30, 12), 0.05, "absolute")
    assert ours["estimate"] == pytest.approx(0.4 - 1)
    assert np.isnan([ours["df"], ours["p_value"], ours["low"], ours["high"]]).all()


def test_one_constant_arm_takes_df_from_the_other():
    """Zero variance in one arm only is no special case: df = n_other − 1, as in scipy."""
    control = SampleSummary.from_values([5.0] * 10)
    ours = liftlab_welch(control, SampleSummary.from_values([1.0, 2.0, 6.0]), 0.05, "absolute")
    assert ours["df"] == pytest.approx(2.0, rel=1e-12)
    assert 0 < ours["p_value"] < 1


def test_the_issue_vector():
    """The numbers of the issue (and of gbstats' TwoSidedTTest): relative, alpha 0.05."""
    control = SampleSummary.of(3407, 1396.87, 52377.9767)
    treatment = SampleSummary.of(3461, 2422.7, 134698.29)
    ours = liftlab_welch(control, treatment, 0.05, "relative")
    assert ours["p_value"] == pytest.approx(0.0619118274562, rel=1e-10)
    assert ours["low"] == pytest.approx(-0.0352600890661, rel=1e-10)
    assert ours["high"] == pytest.approx(1.44989423540758, rel=1e-12)


def test_negative_control_mean_divides_by_its_magnitude():
    """From −10 to −5 is an improvement of +50 %, not −50 %."""
    control, treatment = np.array([-9.0, -11.0, -10.0]), np.array([-4.0, -6.0, -5.5])
    ours = liftlab_welch(summarise(control), summarise(treatment), 0.05, "relative")
    assert ours["estimate"] == pytest.approx((-5.1666666666666667 + 10) / 10)
    assert_matches(ours, direct_welch(control, treatment, 0.05, 1, "relative"))


def test_zero_control_mean_gives_nan_on_the_relative_scale_only():
    """No relative change from 0; the df of the means exists all the same."""
    control, treatment = (
        SampleSummary.from_values([-1.0, 1.0]),
        SampleSummary.from_values([2.0, 3.0]),
    )
    relative = liftlab_welch(control, treatment, 0.05, "relative")
    assert np.isfinite(relative.pop("df"))
    assert np.isnan(list(relative.values())).all()
    assert 0 < liftlab_welch(control, treatment, 0.05, "absolute")["p_value"] < 1


def test_tiny_control_mean_does_not_underflow():
    """m_c⁴ underflows for m_c = 1e-90; the rearranged formula does not need it."""
    control, treatment = SampleSummary.of(4, 4e-90, 2e-179), SampleSummary.of(4, 8e-90, 2e-179)
    ours = liftlab_welch(control, treatment, 0.05, "relative")
    assert ours["estimate"] == pytest.approx(1.0)
    assert np.isfinite(ours["se"]) and ours["se"] > 0


@pytest.mark.parametrize("unit", [1e-90, 1e80])
def test_welch_df_survives_tiny_and_huge_variances(unit):
    """The df is scale-free; the textbook (a + b)²/(a²/(n_c − 1) + b²/(n_t − 1)) squares Var m,
    which underflows below ~1e-154 (0/0) and overflows above ~1e154 (inf/inf)."""
    control, treatment = np.array([1.0, 2.0, 4.0, 3.0]), np.array([2.0, 5.0, 3.0])
    ours = liftlab_welch(summarise(control * unit), summarise(treatment * unit), 0.05, "absolute")
    reference = liftlab_welch(summarise(control), summarise(treatment), 0.05, "absolute")
    assert_allclose([ours["df"], ours["p_value"]], [reference["df"], reference["p_value"]])


def test_relative_variance_keeps_a_small_treatment_mean():
    """m_t = 1e-3 against m_c = 1.6e5 (ratio 6e-9): the treatment mean keeps its digits.

    Recovering m_t as m_c + (m_t − m_c) would keep it only to half an ulp of m_c (1.5e-11), up
    to 1.5e-8 of m_t, and put the se off by 8.7e-9; the variance reads ``treatment.mean``.
    """
    control = np.array([-193999.54625934, 521183.52928818])
    treatment = 1e-3 + np.random.default_rng(1).normal(0.0, 1e-4, 5000)
    ours = liftlab_welch(summarise(control), summarise(treatment), 0.05, "relative")
    assert_matches(ours, direct_welch(control, treatment, 0.05, 1, "relative"))


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, float("nan"), [0.05, 1.5]])
def test_alpha_outside_zero_one_is_refused(alpha):
    arm = SampleSummary.from_values([1.0, 2.0])
    with pytest.raises(ValueError, match="alpha"):
        FixedHorizon(effect(arm, arm, "absolute")).interval(alpha)
