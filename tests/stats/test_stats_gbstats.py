"""liftlab against GrowthBook's gbstats 0.8.0 on random inputs, and each difference on purpose.

Every hypothesis example runs all methods (fixed-horizon, sequential, Bayesian with a flat and a
proper prior) on both scales in gbstats, in one request to the worker, and requires agreement
to 1e-9 (see gbstats_reference for the floors) except where docs/statistics.md lists a
deliberate difference; the tests at the end pin down each of those.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from liftlab.stats import Prior, ProportionSummary, SampleSummary

from .gbstats_checks import assert_agrees_with_gbstats, gbstats_and_liftlab, method_specs
from .gbstats_reference import bayesian, fixed, sequential
from .stats_raw_data import (
    conversion_arm,
    numeric_arm,
    summarise,
    summarise_conversions,
    well_conditioned,
)


@st.composite
def conversions(draw: st.DrawFn) -> ProportionSummary:
    """An arm of a conversion metric: raw 0/1 data, or (n, conversions) with both outcomes.

    Raw arms of a few identities are often all 0 or all 1, which gbstats answers by default;
    the summaries keep the comparison busy, up to a million identities.
    """
    if draw(st.booleans()):
        return summarise_conversions(draw(conversion_arm()))
    n = draw(st.one_of(st.integers(2, 50), st.integers(50, 10**6)))
    return ProportionSummary.of(n, draw(st.integers(1, n - 1)))


@settings(max_examples=150, deadline=None)
@given(control=numeric_arm(), treatment=numeric_arm(), data=st.data())
def test_sample_means_agree_with_gbstats(gbstats, control, treatment, data):
    assume(well_conditioned(control) and well_conditioned(treatment))
    control_summary, treatment_summary = summarise(control), summarise(treatment)
    specs = data.draw(method_specs(control_summary, treatment_summary))
    for outcome in assert_agrees_with_gbstats(gbstats, control_summary, treatment_summary, specs):
        event(outcome)


@settings(max_examples=100, deadline=None)
@given(control=conversions(), treatment=conversions(), data=st.data())
def test_proportions_agree_with_gbstats(gbstats, control, treatment, data):
    specs = data.draw(method_specs(control, treatment))
    for outcome in assert_agrees_with_gbstats(gbstats, control, treatment, specs):
        event(outcome)


ISSUE_CONTROL = SampleSummary.of(3407, 1396.87, 52377.9767)
ISSUE_TREATMENT = SampleSummary.of(3461, 2422.7, 134698.29)


def test_the_issue_vector_agrees_with_gbstats(gbstats):
    specs = [
        spec
        for difference in ("relative", "absolute")
        for spec in (
            fixed(difference, 0.05),
            sequential(difference, 0.05, 5000.0),
            bayesian(difference, 0.05, Prior(), False),
            bayesian(difference, 0.05, Prior(0.1, 0.2), True),
        )
    ]
    outcomes = assert_agrees_with_gbstats(gbstats, ISSUE_CONTROL, ISSUE_TREATMENT, specs)
    assert all(outcome.startswith("compared") for outcome in outcomes)


@pytest.mark.parametrize(
    "spec",
    [fixed("relative", 0.05), sequential("relative", 0.1, 1000.0)],
    ids=["fixed", "sequential"],
)
def test_gbstats_divides_by_the_signed_control_mean(gbstats, spec):
    """From a mean of −10 to −9.5 is +5 % in liftlab and −5 % in gbstats; the rest mirrors."""
    rng = np.random.default_rng(5)
    control = SampleSummary.from_values(rng.normal(-10.0, 3.0, 400))
    treatment = SampleSummary.from_values(rng.normal(-9.5, 3.0, 400))
    theirs, ours = gbstats_and_liftlab(gbstats, spec, control, treatment)
    assert ours["estimate"] > 0 > theirs["estimate"]
    np.testing.assert_allclose(
        [-theirs["estimate"], -theirs["ci"][1], -theirs["ci"][0], theirs["sd"], theirs["p_value"]],
        [ours["estimate"], ours["low"], ours["high"], ours["sd"], ours["p_value"]],
        rtol=1e-12,
    )


def test_gbstats_bayesian_chance_to_win_flips_with_a_negative_control_mean(gbstats):
    control = SampleSummary.from_values(np.array([-10.0, -12.0, -9.0, -11.5]))
    treatment = SampleSummary.from_values(np.array([-9.0, -8.5, -10.0, -7.0]))
    theirs, ours = gbstats_and_liftlab(
        gbstats, bayesian("relative", 0.05, Prior(), False), control, treatment
    )
    assert ours["chance_to_win"] > 0.5
    np.testing.assert_allclose(theirs["chance_to_win"], 1 - ours["chance_to_win"], rtol=1e-12)
    np.testing.assert_allclose(theirs["risk"][::-1], [ours["risk_control"], ours["risk_treatment"]])


DEFAULT_OUTPUT_CASES = {
    "control mean 0, absolute": (
        fixed("absolute", 0.05),
        SampleSummary.from_values([-1.0, 1.0, 0.0, 2.0, -2.0]),
        SampleSummary.from_values([1.0, 3.0, 2.0]),
    ),
    "one constant arm": (
        fixed("absolute", 0.05),
        SampleSummary.from_values([5.0] * 10),
        SampleSummary.from_values([1.0, 2.0, 6.0]),
    ),
    "no conversions in control": (
        fixed("absolute", 0.05),
        ProportionSummary.of(200, 0),
        ProportionSummary.of(200, 9),
    ),
    "one constant arm, Bayesian": (
        bayesian("absolute", 0.05, Prior(), False),
        ProportionSummary.of(300, 300),
        ProportionSummary.of(300, 280),
    ),
}


@pytest.mark.parametrize("case", DEFAULT_OUTPUT_CASES.values(), ids=DEFAULT_OUTPUT_CASES)
def test_gbstats_answers_by_default_where_liftlab_tests(gbstats, case):
    """gbstats returns p = 1 (or chance 0.5) and the interval [0, 0]; liftlab runs the test."""
    spec, control, treatment = case
    theirs, ours = gbstats_and_liftlab(gbstats, spec, control, treatment)
    assert theirs["error"] is not None
    assert (theirs["estimate"], theirs["ci"]) == (0, [0, 0])
    assert np.isfinite(list(ours.values())).all()
    assert ours["low"] < ours["estimate"] < ours["high"]
    assert ours["estimate"] != 0


def test_gbstats_tests_the_rounding_residue_of_a_constant_arm(gbstats):
    """0.1 five and seven times: gbstats' variances are residues (1.7e-18, 2.3e-18), not 0.

    So gbstats answers with an interval ±1.8e-9 wide and p just below 1; liftlab sees one
    constant in both arms: no effect, p = 1, the interval [0, 0].
    """
    control, treatment = SampleSummary.from_values([0.1] * 5), SampleSummary.from_values([0.1] * 7)
    theirs, ours = gbstats_and_liftlab(gbstats, fixed("absolute", 0.05), control, treatment)
    assert theirs["error"] is None
    assert theirs["ci"][0] < 0 < theirs["ci"][1] and theirs["p_value"] < 1
    assert (ours["p_value"], ours["low"], ours["high"]) == (1, 0, 0)


def test_arms_too_small_for_a_variance_give_nan_in_liftlab(gbstats):
    """n = 1: gbstats' variance is 0 by definition (default output); liftlab's is unknown."""
    control, treatment = SampleSummary.of(1, 3.0, 9.0), SampleSummary.from_values([1.0, 2.0, 4.0])
    theirs, ours = gbstats_and_liftlab(gbstats, fixed("absolute", 0.05), control, treatment)
    assert theirs["error"] is not None and theirs["p_value"] == 1
    assert np.isnan([ours["p_value"], ours["low"], ours["high"]]).all()
