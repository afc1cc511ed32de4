"""Bayesian: the normal posterior, chance to win and risk against scipy and direct integration.

The posterior is checked against the conjugate update written as a shrinkage of the estimate
toward the prior mean, the chance to win against scipy.stats.norm, and the risk against
numerical integration of the posterior's tail (scipy.integrate.quad). gbstats'
EffectBayesianABTest is checked in test_stats_gbstats.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import integrate, special

from liftlab.stats import Bayesian, Effect, Prior, SampleSummary, effect

from .stats_raw_data import ALPHAS, summary_pair

RTOL = 1e-9
SCALES = st.sampled_from(["absolute", "relative"])
DIRECTIONS = st.sampled_from([1.0, -1.0])


def measured_effect(estimate: float, sd: float) -> Effect:
    """An effect of a given estimate and standard error, as the methods read it."""
    return Effect(
        "absolute", np.array(estimate), np.array(sd**2), np.array(50.0), np.array(100.0),
        np.array(1.0),
    )  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(pair=summary_pair(), scale=SCALES, direction=DIRECTIONS, alpha=ALPHAS)
def test_flat_prior_is_the_normal_likelihood(pair, scale, direction, alpha):
    measured = effect(*pair, scale)
    assume(np.isfinite(measured.se) and measured.se > 0)
    posterior = Bayesian(measured, Prior(), direction)
    estimate, se = float(measured.estimate), float(measured.se)
    assert (posterior.posterior_mean, posterior.posterior_sd) == (estimate, se)
    assert_allclose(posterior.interval(alpha), scipy.stats.norm.interval(1 - alpha, estimate, se))
    better = scipy.stats.norm.sf(0, direction * estimate, se)
    assert_allclose(posterior.chance_to_win, better, rtol=RTOL, atol=1e-300)


@settings(max_examples=100, deadline=None)
@given(
    pair=summary_pair(),
    scale=SCALES,
    prior_mean=st.sampled_from([0.0, -1.0, 2.5]),
    prior_sd=st.sampled_from([0.05, 1.0, 20.0]),
)
def test_proper_prior_shrinks_the_estimate_toward_its_mean(pair, scale, prior_mean, prior_sd):
    """Posterior mean = estimate + (m₀ − estimate)·v/(v + s₀²), variance v·s₀²/(v + s₀²)."""
    measured = effect(*pair, scale)
    assume(np.isfinite(measured.se) and measured.se > 0)
    se = float(measured.se)
    prior = Prior(prior_mean * se, prior_sd * se)
    posterior = Bayesian(measured, prior)
    v, s0 = se**2, prior.sd**2
    shrunk = measured.estimate + (prior.mean - measured.estimate) * v / (v + s0)
    scale_of_mean = abs(float(measured.estimate)) + abs(prior.mean) + se
    assert abs(posterior.posterior_mean - shrunk) <= RTOL * scale_of_mean
    assert_allclose(posterior.posterior_sd, np.sqrt(v * s0 / (v + s0)), rtol=RTOL)


def quad_risk(mean: float, sd: float) -> float:
    """E[max(δ, 0)] for δ ~ N(mean, sd²): ∫₀^∞ P(δ > x) dx = sd·∫_(−z)^∞ Φ(−u) du, z = mean/sd.

    By adaptive quadrature; Φ(−u) is below the smallest double beyond u = 40.
    """
    low = -mean / sd
    area, _ = integrate.quad(
        lambda u: special.ndtr(-u), low, max(low, 0.0) + 40.0,
        points=[0.0] if low < 0 else None, epsabs=0, epsrel=1e-13, limit=400,
    )  # fmt: skip
    return sd * area


@pytest.mark.parametrize("z", [0.0, 0.5, -0.5, 2.0, -2.0, 5.0, -5.0, -8.0, -12.0, -20.0])
@pytest.mark.parametrize("sd", [1e-6, 1.0, 3e4])
def test_risk_is_the_expected_loss_of_each_choice(z, sd):
    """risk = (E[max(δ, 0)], E[max(−δ, 0)]): what keeping control, or shipping, gives up."""
    risk_control, risk_treatment = Bayesian(measured_effect(z * sd, sd)).risk
    assert_allclose(risk_control, quad_risk(z * sd, sd), rtol=1e-10, atol=0)
    assert_allclose(risk_treatment, quad_risk(-z * sd, sd), rtol=1e-10, atol=0)


@settings(max_examples=100, deadline=None)
@given(pair=summary_pair(), scale=SCALES, direction=DIRECTIONS)
def test_risks_differ_by_the_expected_improvement(pair, scale, direction):
    """E[max(δ, 0)] − E[max(−δ, 0)] = E[δ], and neither loss is negative."""
    measured = effect(*pair, scale)
    assume(np.isfinite(measured.se))
    posterior = Bayesian(measured, Prior(), direction)
    risk_control, risk_treatment = posterior.risk
    improvement = direction * posterior.posterior_mean
    assert risk_control >= 0 and risk_treatment >= 0
    tolerance = 1e-12 * (abs(improvement) + posterior.posterior_sd)
    assert abs((risk_control - risk_treatment) - improvement) <= tolerance


def test_a_decrease_is_good_news_where_direction_is_minus_one():
    """direction = −1 (a cost metric): chance and risks are those of the mirrored effect."""
    up, down = Bayesian(measured_effect(0.3, 0.2)), Bayesian(measured_effect(0.3, 0.2), Prior(), -1)
    assert_allclose(down.chance_to_win, 1 - up.chance_to_win, rtol=1e-15)
    assert_allclose(down.risk, up.risk[::-1], rtol=1e-15)
    assert_allclose(down.interval(0.05), up.interval(0.05), rtol=0)


def test_direction_per_comparison():
    measured = Effect(
        "absolute", np.array([0.3, 0.3]), np.array([0.04, 0.04]), np.array([9.0, 9.0]),
        np.array([20.0, 20.0]), np.array([1.0, 1.0]),
    )  # fmt: skip
    chance = Bayesian(measured, Prior(), [1.0, -1.0]).chance_to_win
    assert_allclose(chance, [special.ndtr(1.5), special.ndtr(-1.5)], rtol=1e-15)


@pytest.mark.parametrize(
    ("estimate", "chance", "risk"),
    [
        pytest.param(0.0, 0.5, (0, 0), id="same-constant"),
        pytest.param(2.0, 1, (2, 0), id="better-constant"),
        pytest.param(-2.0, 0, (0, 2), id="worse-constant"),
    ],
)
def test_no_uncertainty_is_certainty(estimate, chance, risk):
    """Two constant arms: the posterior is a point; chance 1, 0 or ½, risk what is given up.

    For the same constant in both arms liftlab says 0 (μ/σ = 0/0 is not "> 0"), not ½: a
    certain tie reads as a certain loss, and the flat-prior interval [0, 0] disagrees with it.
    """
    posterior = Bayesian(measured_effect(estimate, 0.0), Prior(0.0, 1.0))
    assert posterior.posterior_mean == estimate and posterior.posterior_sd == 0
    assert posterior.chance_to_win == chance
    assert tuple(posterior.risk) == risk
    assert posterior.interval(0.05) == (estimate, estimate)


def test_an_empty_arm_gives_nan():
    posterior = Bayesian(effect(SampleSummary.of(0, 0, 0), SampleSummary.of(5, 5, 7), "absolute"))
    values = [posterior.posterior_mean, posterior.chance_to_win, *posterior.risk]
    assert np.isnan(values).all()
    assert np.isnan(posterior.interval(0.05)).all()


@pytest.mark.parametrize(("mean", "sd"), [(0.0, 0.0), (0.0, -1.0), (0.0, np.inf), (np.nan, 1.0)])
def test_improper_priors_other_than_flat_are_refused(mean, sd):
    with pytest.raises(ValueError, match="prior"):
        Prior(mean, sd)
